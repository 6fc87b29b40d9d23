"""Per Tor circuit limits: how many pages and accepted reports one circuit gets in a window.

Why per circuit: one Tor circuit can carry any number of requests, and an abuser who sends valid
reports as fast as one circuit allows would otherwise take every report the server can store.
A new circuit costs the abuser a rendezvous and, under load, tor's proof-of-work at the
introduction point; a real reporter needs one circuit for one report.

What a circuit id is: tor's global id of the rendezvous circuit (onion_service/process/proxyline.py
reads it from the PROXY line tor puts before each connection). It says nothing about the person;
it is still an identifier, so it lives here only: in shared memory, under a keyed hash, and is
forgotten (overwritten) within a sweep of its window passing. Never in a log, a file or a reply.

A full table (more live circuits than slots) lets the request through: the disk budget still
bounds what is stored, and refusing would turn real reporters away exactly when the table is
being flooded.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from onion_service.shared.table import SharedTable

# The WSGI environ key the worker puts the circuit id under (onion_service/process/worker.py).
ENVIRON_KEY = "meldpunt.circuit"
# 65536 live circuits per window: rows of 4 integers, 2 MiB. A flood of more new circuits than
# that within one window has paid for each with a rendezvous and proof-of-work.
SLOTS = 65536
_PAGES, _REPORTS = 0, 1


class CircuitLimits:
    def __init__(
        self,
        *,
        reports: int,
        pages: int,
        window_seconds: float,
        slots: int = SLOTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = SharedTable(slots, 2, clock=clock)
        self._reports, self._pages = reports, pages
        self._window = window_seconds

    def page(self, circuit: int | None) -> bool:
        """Counts one page for `circuit`; False once it is past its page limit."""
        return self._count(circuit, _PAGES, self._pages)

    def take_report(self, circuit: int | None) -> bool:
        """Counts one report for `circuit`; False (and nothing counted) once it has its limit."""
        return self._count(circuit, _REPORTS, self._reports)

    def give_back_report(self, circuit: int | None) -> None:
        """Returns a report counted for one that could not be stored after all."""
        if circuit is None:
            return

        def decide(counts: list[int]) -> list[int] | None:
            if counts[_REPORTS] == 0:
                return None
            counts[_REPORTS] -= 1
            return counts

        self._table.update(self._table.key_of(circuit), self._window, decide)

    def sweep(self, rows: int) -> None:
        self._table.sweep(rows)

    def remembers(self, circuit: int) -> bool:
        """Whether anything about `circuit` is still in memory (tests)."""
        return self._table.holds(self._table.key_of(circuit))

    def _count(self, circuit: int | None, which: int, limit: int) -> bool:
        if circuit is None:
            return True  # served without Tor's circuit ids (--local-only): nothing to count by
        allowed = [True]

        def decide(counts: list[int]) -> list[int] | None:
            if counts[which] >= limit:
                allowed[0] = False
                return None
            counts[which] += 1
            return counts

        if self._table.update(self._table.key_of(circuit), self._window, decide) is None:
            return True  # the table is full: see the module's docstring
        return allowed[0]
