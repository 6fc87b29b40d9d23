"""What every gunicorn worker must share, made in memory by the master before it forks: the
budget, the per-circuit counts and the spent form tokens. Nothing of it is ever written anywhere."""

from __future__ import annotations

from onion_service.config import Config
from onion_service.web.budget import Budget
from onion_service.web.circuits import CircuitLimits
from onion_service.web.token import SpentTokens


def shared_state(config: Config, *, budget: Budget | None = None, circuits: CircuitLimits | None = None,
                 spent: SpentTokens | None = None) -> tuple[Budget, CircuitLimits, SpentTokens]:
    """The three shared objects, each made here unless given."""
    lim = config.limits
    if budget is None:
        budget = Budget(lim.reports_per_minute, data_dir=config.data_dir,
                        reserve_bytes=lim.min_free_mb * 1024 * 1024)
    if circuits is None:
        circuits = CircuitLimits(reports=lim.reports_per_circuit, pages=lim.pages_per_circuit,
                                 window_seconds=lim.circuit_window_minutes * 60)
    if spent is None:
        spent = SpentTokens(lim.form_max_hours * 3600)
    return budget, circuits, spent
