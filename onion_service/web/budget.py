"""The global budget of accepted reports per minute, shared by every worker, kept in memory only.

Why memory and not a file or a table: a counter on disk would record, minute by minute, when
reports arrived, which is exactly what invariant 2 forbids. Why not a per-worker share
(total / workers): a burst landing on one worker would be refused while others sat idle.

So the counter lives in a few bytes of shared memory with a lock, created by the gunicorn master
before it forks (onion_service.process.server.run); every worker inherits the same memory. Built outside
the server (tests, previews) it is simply this process's counter. It is never per client: no IP
or other identity exists here.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Callable

_WINDOW = 60.0


class Budget:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        # CLOCK_MONOTONIC is system-wide, so forked workers agree on the current window.
        ctx = multiprocessing.get_context("fork")
        self._state = ctx.RawArray("q", 2)  # [window number, reports accepted in it]
        self._lock = ctx.Lock()
        self._per_minute = per_minute
        self._clock = clock

    def take(self) -> int | None:
        """Counts one report; returns None if it fits, else the seconds to wait (for Retry-After)."""
        now = self._clock()
        window = int(now // _WINDOW)
        with self._lock:
            if self._state[0] != window:
                self._state[0], self._state[1] = window, 0
            if self._state[1] >= self._per_minute:
                return max(1, math.ceil(_WINDOW - now % _WINDOW))
            self._state[1] += 1
            return None

    def give_back(self) -> None:
        """Returns a unit taken for a report that could not be stored after all."""
        with self._lock:
            if self._state[1] > 0:
                self._state[1] -= 1
