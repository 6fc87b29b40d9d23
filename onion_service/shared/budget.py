"""A budget of accepted reports: what the disk can hold, and a ceiling per minute. Each route
(onion, HTTPS) has one of its own (shared/route_budgets.py), never one per client.

It protects the disk and the writer, not the reporters: the per-circuit limits
(onion_service/shared/circuits.py), tor's introduction queue and nginx's per-client limits are
what bound a flood, so this budget is sized to be reached only when the data directory itself is
at risk or more gets through those than they let through by design (the default is above what
tor's queue lets through, SECURITY.md says why).

Two checks, in shared memory created by the gunicorn master before it forks
(onion_service.process.server.run), so every worker sees the same counts:
- the disk: a report is accepted only while the file system of the data directory keeps
  `reserve_bytes` free after it (statvfs, cheap, at every report). When it is reached, every
  reporter gets the "could not be saved, try again later" page with their answers kept, until
  staff export and purge (or the operator frees space). For PostgreSQL the database's own disk is
  the database's to guard (deploy/README.md).
- a ceiling per minute, as a bound on the writer's work, far above what real reporters send.

Why memory and not a file or a table: a counter on disk would record, minute by minute, when
reports arrived, which is exactly what invariant 2 forbids. It is never per client.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from pathlib import Path

from onion_service.shared.lock import SharedLock

_WINDOW = 60.0
# A sealed report is one 16 KiB frame sealed to a few recipients: under 20 KiB, plus the
# database's own overhead per row. Counted as 64 KiB so the reserve holds with room to spare.
REPORT_BYTES = 64 * 1024
# Retry-After is the same on every refusal: a value that counted down to the next window would
# show the phase of the server's clock.
RETRY_AFTER = "60"


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


class Budget:
    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        data_dir: Path | None = None,
        reserve_bytes: int = 0,
        free: Callable[[Path], int] = free_bytes,
    ) -> None:
        # CLOCK_MONOTONIC is system-wide, so forked workers agree on the current window.
        ctx = multiprocessing.get_context("fork")
        self._state = ctx.RawArray("q", 2)  # [window number, reports accepted in it]
        self._lock = SharedLock()
        self._per_minute = per_minute
        self._clock = clock
        self._data_dir, self._reserve, self._free = data_dir, reserve_bytes, free

    def disk_full(self) -> bool:
        """True when one more report would leave less than the reserve free."""
        if self._data_dir is None:
            return False
        try:
            return self._free(self._data_dir) - REPORT_BYTES < self._reserve
        except OSError:
            return True  # the data directory is gone or unreadable: the store will fail anyway

    def take(self) -> bool:
        """Counts one report; False if the minute's ceiling is reached."""
        window = int(self._clock() // _WINDOW)
        with self._lock:
            if self._state[0] != window:
                self._state[0], self._state[1] = window, 0
            if self._state[1] >= self._per_minute:
                return False
            self._state[1] += 1
            return True

    def give_back(self) -> None:
        """Returns a unit taken for a report that could not be stored after all."""
        with self._lock:
            if self._state[1] > 0:
                self._state[1] -= 1
