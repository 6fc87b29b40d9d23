"""What every gunicorn worker must share, made once by the master before it forks: the form
token's secret, the spent form tokens (one table per page), the report and look-up budgets (one
of each per route: shared/route_budgets.py) and the per-circuit counts. Nothing of it but the
token secret (data_dir/form-token.key) is ever written anywhere; on SQLite that secret is new at
every start (shared/token.py says why).

`make_shared` is the one place these are made; `process/server.py` hands the result to every worker
and `web/app.py:create_app` receives it (tests that build an app alone get one made here too).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from crypto import files
from onion_service.config import Config
from onion_service.shared.budget import Budget
from onion_service.shared.circuits import CircuitLimits
from onion_service.shared.route_budgets import RouteBudgets, budgets_spending
from onion_service.shared.token import SpentTokens, load_or_create_secret, new_secret, spent_slots


@dataclass(frozen=True)
class Shared:
    token_secret: bytes
    spent: SpentTokens  # the report form's tokens
    lookup_spent: SpentTokens  # the status page's: a flood of look-ups never fills the reports' table
    budgets: RouteBudgets  # reports a minute per route, and the data directory's free-space reserve
    lookup_budgets: RouteBudgets  # the status page's own look-ups a minute per route
    circuits: CircuitLimits


def make_shared(config: Config, *, budget: Budget | None = None, lookup_budget: Budget | None = None) -> Shared:
    """The shared objects for `config`; `budget` and `lookup_budget` replace the configured ones
    (tests give small ones), each then one for both routes."""
    lim = config.limits
    files.private_dir(config.data_dir)

    def report_budget() -> Budget:
        return Budget(lim.reports_per_minute, data_dir=config.data_dir, reserve_bytes=lim.min_free_mb * 1024 * 1024)

    budgets = (
        RouteBudgets.one_for_both(budget)
        if budget is not None
        else RouteBudgets(onion=report_budget(), https=report_budget())
    )
    lookup_budgets = (
        RouteBudgets.one_for_both(lookup_budget)
        if lookup_budget is not None
        else RouteBudgets(onion=Budget(lim.lookups_per_minute), https=Budget(lim.lookups_per_minute))
    )
    lifetime = lim.form_max_hours * 3600
    # Each table is sized from the budgets a token is spent under (a spend follows a budget unit
    # taken, on either route), so that it cannot fill within a token's lifetime (SECURITY.md has
    # the arithmetic). Sized from the configuration, not from a budget a test replaces: that one
    # is smaller.
    routes = budgets_spending(config.web.https_bind)
    return Shared(
        token_secret=_secret(config),
        spent=SpentTokens(lifetime, slots=spent_slots(routes * lim.reports_per_minute, lifetime)),
        lookup_spent=SpentTokens(lifetime, slots=spent_slots(routes * lim.lookups_per_minute, lifetime)),
        budgets=budgets,
        lookup_budgets=lookup_budgets,
        circuits=CircuitLimits(
            reports=lim.reports_per_circuit, pages=lim.pages_per_circuit, window_seconds=lim.circuit_window_minutes * 60
        ),
    )


def _secret(config: Config) -> bytes:
    # PostgreSQL keeps spent tokens in the database the backends share (store/spent.py), across
    # restarts: the secret, which the backends share too, stays. SQLite's spent tokens die with
    # this start's memory, and so must the tokens they were spent from: a new secret each start.
    if sa.engine.make_url(config.database_url).get_backend_name() == "sqlite":
        return new_secret(config.data_dir)
    return load_or_create_secret(config.data_dir)
