"""One budget per route (onion_service/web/routes.py): the onion and the HTTPS route each count
their own reports (and look-ups) a minute, so that a flood on one route cannot refuse the
reporters of the other.

Why: with one budget for both, an HTTPS flood from a new address per fake report (which nginx's
per-address limits cannot see) spent the minute's reports and onion reporters were refused with
it, and a flood of new Tor circuits did the same to HTTPS reporters (bench/README.md, "system.py").
Each route's floods meet defences of their own before the budget (tor's introduction queue and
proof-of-work, the per-circuit limits; nginx's per-address limits), so each gets its own ceiling.
The disk reserve is one check whichever budget asks: both routes write to the same file system.

The route is the listening socket a connection came in on (the worker says so; no client can
choose it), so a flooder cannot spend the other route's budget by claiming to be on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from onion_service.shared.budget import Budget
from onion_service.web import routes

# The routes counted apart: a spent-token table is sized for this many budgets at once when the
# HTTPS route is configured ([web] https_bind), for one without it.
ROUTES = 2


def budgets_spending(https_bind: str | None) -> int:
    """How many route budgets can spend tokens in one table: both routes', or the onion's alone."""
    return ROUTES if https_bind is not None else 1


@dataclass(frozen=True)
class RouteBudgets:
    onion: Budget
    https: Budget

    @classmethod
    def one_for_both(cls, budget: Budget) -> RouteBudgets:
        """Both routes on one budget (tests that give a small one to see it refuse)."""
        return cls(onion=budget, https=budget)

    def of(self, route: str) -> Budget:
        return self.https if route == routes.HTTPS else self.onion
