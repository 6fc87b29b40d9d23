"""A fixed-size hash table of counters in shared memory, each entry forgotten when its time passes.

Made by the gunicorn master before it forks (like the budget), so every worker sees the same
entries; built anywhere else it is simply this process's table. Nothing here is ever written to
disk: the table holds Tor circuit ids and spent form tokens, both of which exist in memory only.

Layout: `slots` rows of `1 + 1 + counters` signed 64-bit integers: key (0 = never used, -1 = used
and forgotten), the monotonic deadline after which the row is free again, then the counters. Open
addressing with linear probing over at most PROBES rows: a row is never emptied, only forgotten
(its key overwritten by -1), so a chain is never broken and a lookup can stop at the first
never-used row. An expired row is forgotten whenever a lookup passes it and by `sweep`, which the
workers call every second, so a key does not outlive its time by more than a sweep's round.
With a bounded probe a full table costs the same as an empty one; the caller decides what a full
table means (`None` from `update`).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from collections.abc import Callable

from onion_service.shared.lock import SharedLock

# 32 rows a lookup at most: with the table at most half full, a run that long is vanishingly rare,
# and 32 rows of 4 integers are a few cache lines, read under the lock.
PROBES = 32
# Seconds as fixed point: CLOCK_MONOTONIC is shared by every process on the machine.
_SCALE = 1000
_FORGOTTEN = -1


class SharedTable:
    def __init__(self, slots: int, counters: int, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if slots < PROBES or counters < 1:
            raise ValueError("a shared table needs at least PROBES slots and one counter")
        ctx = multiprocessing.get_context("fork")
        self._width = 2 + counters
        self._rows = ctx.RawArray("q", slots * self._width)
        self._cursor = ctx.RawArray("q", 1)  # where the next sweep starts
        self._lock = SharedLock()
        self._slots = slots
        self._counters = counters
        self._clock = clock
        self._salt = os.urandom(16)

    def key_of(self, value: bytes | int) -> int:
        """The row key for `value`: a keyed hash, so that the table holds no circuit id or token
        as such, and nobody outside can aim values at one chain. The key is made with the table
        (by the master, before it forks) and lives only in memory."""
        if isinstance(value, int):
            value = value.to_bytes(8, "big", signed=False)
        digest = hashlib.blake2b(value, digest_size=8, key=self._salt).digest()
        return (int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF) or 1

    def update(self, key: int, lifetime: float,
               decide: Callable[[list[int]], list[int] | None]) -> list[int] | None:
        """Under the lock: `decide(counters)` for `key` (zeros for a new or expired entry) returns
        the new counters, or None to leave the entry as it was. A new entry lives `lifetime`
        seconds; a live one keeps its deadline. Returns the counters `decide` saw, or None if the
        table had no room for a new entry."""
        now = int(self._clock() * _SCALE)
        rows, width = self._rows, self._width
        start = key % self._slots
        with self._lock:
            free = None
            for i in range(PROBES):
                base = ((start + i) % self._slots) * width
                row_key, deadline = rows[base], rows[base + 1]
                if row_key > 0 and deadline <= now:
                    rows[base:base + width] = [_FORGOTTEN] + [0] * (width - 1)
                    row_key = _FORGOTTEN
                if row_key == key:
                    seen = list(rows[base + 2:base + width])
                    new = decide(list(seen))
                    if new is not None:
                        rows[base + 2:base + width] = new
                    return seen
                if free is None and row_key <= 0:
                    free = base
                if row_key == 0:
                    break  # never used: the key is not further along
            if free is None:
                return None
            seen = [0] * self._counters
            new = decide(list(seen))
            if new is not None:
                rows[free] = key
                rows[free + 1] = now + int(lifetime * _SCALE)
                rows[free + 2:free + width] = new
            return seen

    def forget(self, key: int) -> None:
        """Removes `key` by expiring it (its row is reused; chains stay intact)."""
        rows, width = self._rows, self._width
        start = key % self._slots
        with self._lock:
            for i in range(PROBES):
                base = ((start + i) % self._slots) * width
                if rows[base] == key:
                    rows[base:base + width] = [_FORGOTTEN] + [0] * (width - 1)
                    return
                if rows[base] == 0:
                    return

    def sweep(self, count: int) -> None:
        """Forgets the expired entries among the next `count` rows (round robin over the table)."""
        now = int(self._clock() * _SCALE)
        rows, width = self._rows, self._width
        with self._lock:
            start = self._cursor[0]
            for i in range(min(count, self._slots)):
                base = ((start + i) % self._slots) * width
                if rows[base] > 0 and rows[base + 1] <= now:
                    rows[base:base + width] = [_FORGOTTEN] + [0] * (width - 1)
            self._cursor[0] = (start + count) % self._slots

    def holds(self, key: int) -> bool:
        """Whether `key` is anywhere in the table, live or expired but not yet forgotten (tests)."""
        with self._lock:
            return any(self._rows[s * self._width] == key for s in range(self._slots))

    def live(self) -> int:
        """How many entries have not expired (for tests and the bench)."""
        now = int(self._clock() * _SCALE)
        with self._lock:
            return sum(1 for s in range(self._slots)
                       if self._rows[s * self._width] > 0 and self._rows[s * self._width + 1] > now)
