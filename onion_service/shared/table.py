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

The rows are an anonymous shared mapping (never a file, not even in /dev/shm), whose pages the
kernel gives only when first touched: a table sized for a worst case (the spent tokens, see
shared/token.py: spent_slots) costs memory only as entries arrive. Rows are grouped in blocks of
about a page; a block no entry was ever written to is known to be empty without being read, so
neither a lookup that misses nor the sweep touches its page.
"""

from __future__ import annotations

import ctypes
import hashlib
import mmap
import multiprocessing
import os
import time
from collections.abc import Callable

from onion_service.shared.lock import SharedLock

# 32 rows a lookup at most: with the table at most half full, a run that long is vanishingly rare,
# and 32 rows of 4 integers are a few cache lines, read under the lock.
PROBES = 32
# Seconds as fixed point. The clock is the owner's: CLOCK_MONOTONIC (circuits) or the wall clock
# (spent tokens, whose tokens' ages are read on it); either is shared by every process on the machine.
_SCALE = 1000
_FORGOTTEN = -1


class SharedTable:
    def __init__(self, slots: int, counters: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if slots < PROBES or counters < 1:
            raise ValueError("a shared table needs at least PROBES slots and one counter")
        ctx = multiprocessing.get_context("fork")
        self._width = 2 + counters
        # MAP_SHARED | MAP_ANONYMOUS: zero pages, given by the kernel on first touch, inherited
        # by forked workers.
        self._map = mmap.mmap(-1, slots * self._width * 8)
        self._rows = (ctypes.c_int64 * (slots * self._width)).from_buffer(self._map)
        self._block = max(1, mmap.PAGESIZE // (self._width * 8))  # rows a block
        self._touched = ctx.RawArray("b", -(-slots // self._block))  # blocks ever written to
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

    def update(self, key: int, lifetime: float, decide: Callable[[list[int]], list[int] | None]) -> list[int] | None:
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
                slot = (start + i) % self._slots
                base = slot * width
                if not self._touched[slot // self._block]:
                    if free is None:
                        free = base
                    break  # a block never written to: the key is not here nor further along
                row_key, deadline = rows[base], rows[base + 1]
                if row_key > 0 and deadline <= now:
                    rows[base : base + width] = [_FORGOTTEN, *[0] * (width - 1)]
                    row_key = _FORGOTTEN
                if row_key == key:
                    seen = list(rows[base + 2 : base + width])
                    new = decide(list(seen))
                    if new is not None:
                        rows[base + 2 : base + width] = [
                            *new
                        ]  # a list display: ctypes' slice takes list[c_int64 | int]
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
                self._touched[free // width // self._block] = 1
                rows[free] = key
                rows[free + 1] = now + int(lifetime * _SCALE)
                rows[free + 2 : free + width] = [*new]
            return seen

    def forget(self, key: int) -> None:
        """Removes `key` by expiring it (its row is reused; chains stay intact)."""
        rows, width = self._rows, self._width
        start = key % self._slots
        with self._lock:
            for i in range(PROBES):
                slot = (start + i) % self._slots
                base = slot * width
                if not self._touched[slot // self._block]:
                    return
                if rows[base] == key:
                    rows[base : base + width] = [_FORGOTTEN, *[0] * (width - 1)]
                    return
                if rows[base] == 0:
                    return

    def sweep(self, count: int) -> None:
        """Forgets the expired entries among the next `count` rows (round robin over the table).
        A block never written to is passed over without being read, and counts as one row: the
        work of a call stays `count` steps, however large and empty the table."""
        now = int(self._clock() * _SCALE)
        rows, width, block = self._rows, self._width, self._block
        with self._lock:
            slot = self._cursor[0]
            for _ in range(min(count, self._slots)):
                if not self._touched[slot // block]:
                    slot = min(slot - slot % block + block, self._slots) % self._slots  # the next block
                    continue
                base = slot * width
                if rows[base] > 0 and rows[base + 1] <= now:
                    rows[base : base + width] = [_FORGOTTEN, *[0] * (width - 1)]
                slot = (slot + 1) % self._slots
            self._cursor[0] = slot

    def _written_slots(self) -> list[int]:
        # The slots of blocks ever written to (the others hold nothing and are not read).
        block = self._block
        return [
            s
            for b in range(len(self._touched))
            if self._touched[b]
            for s in range(b * block, min((b + 1) * block, self._slots))
        ]

    def holds(self, key: int) -> bool:
        """Whether `key` is anywhere in the table, live or expired but not yet forgotten (tests)."""
        with self._lock:
            return any(self._rows[s * self._width] == key for s in self._written_slots())

    def live(self) -> int:
        """How many entries have not expired (for tests and the bench)."""
        now = int(self._clock() * _SCALE)
        with self._lock:
            return sum(
                1
                for s in self._written_slots()
                if self._rows[s * self._width] > 0 and self._rows[s * self._width + 1] > now
            )
