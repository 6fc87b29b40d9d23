"""How reports reach the table: a batch of rows in one synced transaction, one batch at a time.

The writer process sends every batch of the web server through here (Store.insert_rows), and a
store without a writer sends each of its reports as a batch of one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import sqlalchemy as sa

from onion_service.store import sqlite
from onion_service.store.errors import mapped_errors
from onion_service.store.rows import ReportRow
from onion_service.store.schema import reports


class BatchCommitter:
    """Commits batches on one connection, kept open from one batch to the next: taking a
    connection from the pool and resetting it on return cost about as much as the insert itself.

    One batch at a time, so the kept connection is never shared, and the threads of one process
    never compete for SQLite's write lock, whose busy handler would make them sleep and poll.
    Not carried across fork: a child makes its own (the parent's connection is not its own).
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._kept: sa.Connection | None = None
        self._lock = threading.Lock()

    def commit(self, rows: list[ReportRow]) -> None:
        """Inserts the rows and commits; either all of them are stored or, raising, none."""
        with self._lock, mapped_errors(), self._transaction() as conn:
            if self._engine.dialect.name == "sqlite":
                sqlite.insert(conn, rows)
            else:
                conn.execute(reports.insert(), rows)

    def close(self) -> None:
        with self._lock:  # a batch under way finishes first
            self._close_kept()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        # A write transaction (BEGIN IMMEDIATE on SQLite: the write lock taken up front). After
        # any failure the connection is closed, and the next batch opens another.
        conn = self._kept
        if conn is None:
            conn = self._kept = self._engine.connect().execution_options(meldpunt_write=True)
        try:
            with conn.begin():
                yield conn
        except BaseException:
            self._close_kept()
            raise

    def _close_kept(self) -> None:
        conn, self._kept = self._kept, None
        if conn is not None:
            # A connection that failed may fail to close too; it is dropped either way, and
            # the error that matters is the one already on its way to the caller.
            with contextlib.suppress(sa.exc.DBAPIError):
                conn.close()
