"""The report store: sealed reports in, sealed reports out, nothing else.

Durability (invariant 4): `Store.add` returns only after the transaction holding the row has
committed, and the commit is synced (SQLite: WAL with synchronous=FULL; PostgreSQL:
synchronous_commit=on on a server with fsync=on). A synced commit costs a disk flush, so the web
server shares it: its workers' stores are opened with `writer=` and send each report to the one
writer process (onion_service/process/writer.py), which commits whatever reports arrived together
in one transaction through `insert_reports`, and answers each only once that commit has returned.

A store opened without a writer (the command line, tests and tools: wherever no writer process
runs) commits each report directly (`_commit_now`): one row, one synced transaction, in the
calling thread.

The parts: store.py the `Store`, opening.py `open_store`, rows.py a row and the one check and id
of a new report, schema.py the table and its checks, commit.py the one way rows are committed,
sqlite.py and postgres.py the two engines, errors.py the failures callers can catch. Nothing
happens at import time.
"""

from __future__ import annotations

from onion_service.store.errors import StoreConfigError, StoreCorrupt, StoreError, StoreUnavailable
from onion_service.store.opening import open_store
from onion_service.store.rows import StoredReport, Writes
from onion_service.store.schema import ID_BYTES, MAX_SEALED_BYTES, PURGE_HASH_BYTES, reports
from onion_service.store.store import DEFAULT_LOCK_TIMEOUT, Store

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "ID_BYTES",
    "MAX_SEALED_BYTES",
    "PURGE_HASH_BYTES",
    "Store",
    "StoreConfigError",
    "StoreCorrupt",
    "StoreError",
    "StoreUnavailable",
    "StoredReport",
    "Writes",
    "open_store",
    "reports",
]
