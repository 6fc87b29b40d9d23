"""The examiner's toolkit: every signal that could order stored reports by arrival, and the
statistic that says whether a signal still does.

A signal is one function `(Evidence) -> dict[key, sort value] | None` (None: the backend has no
such thing); adding a signal is adding a function to SIGNALS. Keys are report ids (or spent-token
digests); values are whatever an examiner would sort by (a file offset, a transaction id, a TOAST
value id). The harness ranks keys by value and compares that rank with the true arrival order.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

# The slice of a sealed report searched for in raw files: 48 bytes from its middle are random
# (age ciphertext), so a match anywhere is that report and nothing else.
_PROBE_AT, _PROBE_LEN = 4096, 48


@dataclass
class Evidence:
    """What was seized: the database (through SQL, as a superuser would read it) and its files."""

    backend: str  # "sqlite" or "postgresql"
    engine: sa.Engine
    files: list[Path]  # every file of the database (SQLite: the file and its -wal; PG: the cluster's)
    sealed: dict[bytes, bytes]  # report id -> sealed bytes, as stored
    spent: list[bytes] = field(default_factory=list)  # spent-token digests (PostgreSQL)


Signal = Callable[[Evidence], "dict[bytes, object] | None"]


def file_offsets(evidence: Evidence, *, wal: bool) -> dict[bytes, object] | None:
    """Where each report's ciphertext first appears in the raw files (file order, then offset):
    heap and overflow pages, or, with `wal`, the write-ahead log only."""
    found: dict[bytes, object] = {}
    chosen = [f for f in evidence.files if _is_wal(f) == wal]
    for n, path in enumerate(sorted(chosen)):
        try:
            data = path.read_bytes()
        except OSError:
            continue  # a file the server removed while we read (a finished temp file)
        for rid, sealed in evidence.sealed.items():
            if rid in found:
                continue
            at = data.find(sealed[_PROBE_AT : _PROBE_AT + _PROBE_LEN])
            if at >= 0:
                found[rid] = (n, at)
    return found or None


def _is_wal(path: Path) -> bool:
    return path.name.endswith("-wal") or "pg_wal" in path.parts


def postgres_ctid(evidence: Evidence) -> dict[bytes, object] | None:
    if evidence.backend != "postgresql":
        return None
    return _rows(evidence, "SELECT id, (ctid::text::point)[0] * 100000 + (ctid::text::point)[1] FROM reports")


def postgres_xmin(evidence: Evidence) -> dict[bytes, object] | None:
    if evidence.backend != "postgresql":
        return None
    return _rows(evidence, "SELECT id, xmin::text::bigint FROM reports")


def postgres_spent_xmin(evidence: Evidence) -> dict[bytes, object] | None:
    if evidence.backend != "postgresql" or not evidence.spent:
        return None
    return _rows(evidence, "SELECT digest, xmin::text::bigint FROM spent_tokens")


def postgres_spent_ctid(evidence: Evidence) -> dict[bytes, object] | None:
    if evidence.backend != "postgresql" or not evidence.spent:
        return None
    return _rows(evidence, "SELECT digest, (ctid::text::point)[0] * 100000 + (ctid::text::point)[1] FROM spent_tokens")


def postgres_toast_ids(evidence: Evidence) -> dict[bytes, object] | None:
    """The TOAST value id of each report's sealed bytes (a cluster-wide counter), found by matching
    the first chunk of each value with the start of a report's ciphertext."""
    if evidence.backend != "postgresql":
        return None
    with evidence.engine.connect() as conn:
        toast = conn.exec_driver_sql(
            "SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = 'reports'::regclass"
        ).scalar_one()
        chunks = conn.exec_driver_sql(
            f"SELECT chunk_id::bigint, substring(chunk_data from 1 for 64) FROM {toast} WHERE chunk_seq = 0"
        ).all()
    by_start = {bytes(start): chunk_id for chunk_id, start in chunks}
    found = {rid: by_start[sealed[:64]] for rid, sealed in evidence.sealed.items() if sealed[:64] in by_start}
    return found or None


def _rows(evidence: Evidence, query: str) -> dict[bytes, object]:
    with evidence.engine.connect() as conn:
        return {bytes(key): value for key, value in conn.exec_driver_sql(query).all()}


def sqlite_heap_offsets(evidence: Evidence) -> dict[bytes, object] | None:
    return file_offsets(evidence, wal=False) if evidence.backend == "sqlite" else None


def sqlite_wal_offsets(evidence: Evidence) -> dict[bytes, object] | None:
    return file_offsets(evidence, wal=True) if evidence.backend == "sqlite" else None


def postgres_heap_offsets(evidence: Evidence) -> dict[bytes, object] | None:
    return file_offsets(evidence, wal=False) if evidence.backend == "postgresql" else None


# name -> (signal, what its keys order: "reports" or "spent", and whether compaction can erase it)
SIGNALS: dict[str, tuple[Signal, str, bool]] = {
    "sqlite file offset": (sqlite_heap_offsets, "reports", True),
    "sqlite WAL offset": (sqlite_wal_offsets, "reports", True),
    "postgres ctid": (postgres_ctid, "reports", True),
    "postgres xmin": (postgres_xmin, "reports", True),
    "postgres TOAST value id": (postgres_toast_ids, "reports", True),
    "postgres heap/TOAST file offset": (postgres_heap_offsets, "reports", True),
    "postgres spent_tokens xmin": (postgres_spent_xmin, "spent", True),
    "postgres spent_tokens ctid": (postgres_spent_ctid, "spent", True),
}


def kendall_tau(arrival: list[bytes], values: dict[bytes, object]) -> float:
    """Kendall's tau-b between arrival order and the signal's order, over the keys the signal
    sees; ties count as no information (a signal with one value for every row gives 0)."""
    keys = [k for k in arrival if k in values]
    concordant = discordant = ties_signal = 0
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            a, b = values[keys[i]], values[keys[j]]
            if a == b:
                ties_signal += 1
            elif a < b:  # type: ignore[operator]  # values of one signal share a type
                concordant += 1
            else:
                discordant += 1
    pairs = len(keys) * (len(keys) - 1) // 2
    denominator = math.sqrt((pairs - ties_signal) * pairs) if pairs else 0.0
    return (concordant - discordant) / denominator if denominator else 0.0


def random_bound(n: int, sigmas: float = 4.0) -> float:
    """|tau| a random permutation of n items stays under with overwhelming probability: tau's
    standard deviation under independence is sqrt(2(2n+5) / (9n(n-1))); 4 sigmas is exceeded by
    chance about once in 16,000 runs."""
    return sigmas * math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1)))


def database_files(root: Path) -> list[Path]:
    return [Path(d) / f for d, _, names in os.walk(root) for f in names]
