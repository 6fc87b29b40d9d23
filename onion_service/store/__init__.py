"""The reports table: sealed reports in, sealed reports out, nothing else.

One table, four columns: a random 128-bit id, the sealed (age-encrypted) report, the day it
arrived and whether staff have exported it. No autoincrement, no timestamps, no sizes: the table
must not tell anyone more than "a report arrived that day".

Durability (invariant 4): `Store.add` returns only after the transaction holding the row has
committed, and the commit is synced (SQLite: WAL with synchronous=FULL; PostgreSQL:
synchronous_commit=on on a server with fsync=on). A synced commit costs a disk flush, so
concurrent callers in one process hand their rows to a single committer thread that writes
whatever has queued up in one transaction: one flush for many reports, and each caller still
waits for the commit that holds its own row ("group commit"). The web server goes one step
further: its workers' stores are opened with `writer=`, and send their rows to one writer
process (onion_service/process/writer.py), which commits the rows of all workers together through
`insert_rows`.

Nothing happens at import time, and the committer thread starts on first use in each process:
gunicorn forks its workers, and a thread started before the fork would not exist in the child.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import functools
import hashlib
import os
import secrets
import sqlite3
import stat
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple, Protocol

import sqlalchemy as sa
from sqlalchemy import event

from crypto.errors import Error

ID_BYTES = 16  # 128 random bits: collisions are out of reach, and the id says nothing else.
DIGEST_BYTES = 32  # purge matches on sha256(sealed)
# A sealed report is one 16 KiB frame plus the age header (about 17 KB). The bound only stops a
# caller's bug from writing something absurd; it is far above any real report.
MAX_SEALED_BYTES = 1 << 20
# A batch is whatever has queued, up to this many rows and about this many bytes: enough to
# carry hundreds of concurrent reports in one flush, small enough to keep one statement modest.
MAX_BATCH = 512
MAX_BATCH_BYTES = 16 << 20
# Rows per round trip when streaming or matching ids; keeps memory flat for any table size
# (256 rows of ~17 KB is ~4 MB) and stays under every SQLite bound-parameter limit.
CHUNK = 256
# How long a writer waits for another process holding the SQLite write lock (or a PostgreSQL
# row lock) before giving up with StoreUnavailable.
DEFAULT_LOCK_TIMEOUT = 10.0
# Connections kept per process (and as many again on demand): all writes go through the one
# committer, so a few serve the committer, an export and the odd count.
POOL_SIZE = 4
# How long to wait for a PostgreSQL server to accept a connection.
CONNECT_TIMEOUT = 5

COLUMNS = ("id", "sealed", "day", "exported")

metadata = sa.MetaData()
reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", sa.LargeBinary(ID_BYTES), primary_key=True, autoincrement=False),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("exported", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    # Without a rowid SQLite has no hidden, ever-increasing row number that would record the
    # order in which reports arrived: rows live in a b-tree keyed by the random id.
    sqlite_with_rowid=False,
)


class Writes(Protocol):
    """Something that commits a sealed report elsewhere and returns its id once synced."""

    def add(self, sealed: bytes, day: datetime.date) -> bytes: ...


class StoreError(Error):
    """Base of the store's failures."""


class StoreUnavailable(StoreError):
    """The database cannot take or give reports now (down, disk full, locked too long)."""


class StoreCorrupt(StoreUnavailable):
    """The database failed its integrity check or its file is damaged."""


class StoreConfigError(StoreError):
    """The database URL or the database itself is unfit for durable, minimal storage."""


class StoredReport(NamedTuple):
    id: bytes
    sealed: bytes
    day: datetime.date

    def digest(self) -> bytes:
        """sha256 of the sealed report: what `Store.purge` matches on, with the id."""
        return hashlib.sha256(self.sealed).digest()


def open_store(
    database_url: str, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, pool_size: int = POOL_SIZE,
    tolerate_outage: bool = False, writer: Writes | None = None,
) -> Store:
    """Opens (creating if needed) the reports table at `database_url`.

    `sqlite:///<path>` or `postgresql+psycopg://…` (the host may be a unix-socket directory,
    e.g. `postgresql+psycopg:///meldpunt?host=/run/postgresql`).

    `tolerate_outage`: if the database cannot be reached now (StoreUnavailable), return a store
    that creates and checks the table on first use instead, each use raising StoreUnavailable
    until it can. For the web server's workers: one that starts while PostgreSQL is down (a
    worker replaced after a crash, say) must answer 503 and recover, not fail to boot, which
    makes gunicorn stop the whole service (found by tests/faults/test_faults_crash.py).

    `writer`: where `add` sends reports to be committed (the server's writer process, see
    onion_service/process/writer.py) instead of committing them from a thread of this process.
    """
    if not lock_timeout > 0:
        raise StoreConfigError("the lock timeout must be positive")
    if not 1 <= pool_size <= 64:
        raise StoreConfigError("the connection pool size must be 1 to 64")
    try:
        url = sa.engine.make_url(database_url)
    except sa.exc.ArgumentError:
        # The message would repeat the URL, which may hold a password.
        raise StoreConfigError("the database URL is not a valid URL") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        engine = _sqlite_engine(url, lock_timeout, pool_size)
    elif backend in ("postgresql", "postgres"):
        engine = _postgres_engine(url, lock_timeout, pool_size)
    else:
        raise StoreConfigError("unsupported database: use sqlite:///PATH or postgresql+psycopg://…")
    store = Store(engine, prepared=False, writer=writer)
    try:
        store._prepare()
    except StoreUnavailable as exc:
        if not tolerate_outage or isinstance(exc, StoreCorrupt):
            engine.dispose()
            raise
    except BaseException:
        engine.dispose()
        raise
    return store


class Store:
    """The reports table. Thread-safe; safe to carry across fork (state is rebuilt per process)."""

    def __init__(self, engine: sa.Engine, *, prepared: bool = True, writer: Writes | None = None):
        self._engine = engine
        self._writer = writer
        self._kept: sa.Connection | None = None  # insert_rows' connection (see _write)
        self._lock = threading.Lock()
        self._prepared = prepared  # the table exists and has the expected columns
        self._committer: _GroupCommitter | None = None
        self._closed = False
        # The directory descriptor that _writer_turn flocks, and the process it was opened in.
        self._turn_fd: int | None = None
        self._turn_pid = 0
        self._pid = os.getpid()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _after_fork(ref))

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    def _prepare(self) -> None:
        if self._prepared or self._closed:  # a closed store refuses the operation itself
            return
        with self._lock:
            if not self._prepared:
                _create_table(self._engine)
                self._prepared = True

    @property
    def backend(self) -> str:
        """"sqlite" or "postgresql"."""
        return self._engine.dialect.name

    def add(self, sealed: bytes, day: datetime.date) -> bytes:
        """Stores one sealed report; returns its new id once the commit holding it is synced."""
        if not isinstance(sealed, (bytes, bytearray, memoryview)):
            raise TypeError("sealed must be bytes")
        sealed = bytes(sealed)
        if not 0 < len(sealed) <= MAX_SEALED_BYTES:
            raise ValueError(f"sealed must be 1 to {MAX_SEALED_BYTES} bytes")
        # A datetime is a date too, and would carry the exact time into the table.
        if type(day) is not datetime.date:
            raise TypeError("day must be a datetime.date (not a datetime)")
        if self._writer is not None:
            return self._writer.add(sealed, day)
        self._prepare()
        # Every row the committer sees is checked here and has the same shape, so a batch can
        # only fail as a whole, for a reason that concerns every row in it.
        report_id = secrets.token_bytes(ID_BYTES)
        self._group_committer().submit({"id": report_id, "sealed": sealed, "day": day, "exported": False})
        return report_id

    def insert_rows(self, rows: list[tuple[bytes, bytes, datetime.date]]) -> None:
        """Commits (id, sealed, day) rows in one synced transaction: the writer process's batch.

        The writer has checked each row's size and day on the way in; ids are its random ones.
        """
        self._prepare()
        self._insert_batch([
            {"id": _check_bytes(i, ID_BYTES, "id"), "sealed": sealed, "day": day, "exported": False}
            for i, sealed, day in rows
        ], kept=True)

    def pending(self, *, exported: bool | None = None) -> Iterator[StoredReport]:
        """Every stored (not yet purged) report, in id order, streamed a chunk at a time.

        `exported=False` gives only those not yet exported, `exported=True` only those exported.
        Each chunk is read in its own short transaction, so a long export never holds the
        database; rows added meanwhile may or may not be included.
        """
        self._prepare()
        after = b""
        while True:
            query = (
                sa.select(reports.c.id, reports.c.sealed, reports.c.day)
                .where(reports.c.id > after)
                .order_by(reports.c.id)
                .limit(CHUNK)
            )
            if exported is not None:
                query = query.where(reports.c.exported == exported)
            with _mapped_errors(), self._engine.connect() as conn:
                rows = conn.execute(query).all()
            for row in rows:
                yield StoredReport(bytes(row.id), bytes(row.sealed), row.day)
            if len(rows) < CHUNK:
                return
            after = bytes(rows[-1].id)

    def count(self, *, exported: bool | None = None) -> int:
        self._prepare()
        query = sa.select(sa.func.count()).select_from(reports)
        if exported is not None:
            query = query.where(reports.c.exported == exported)
        with _mapped_errors(), self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def mark_exported(self, ids: Iterable[bytes]) -> int:
        """Flags the given reports as exported, in one transaction; returns how many exist."""
        self._prepare()
        wanted = sorted({_check_bytes(i, ID_BYTES, "id") for i in ids})
        updated = 0
        with _mapped_errors(), self._write() as conn:
            for chunk in _chunks(wanted):
                result = conn.execute(
                    reports.update().where(reports.c.id.in_(chunk)).values(exported=True)
                )
                updated += result.rowcount
        return updated

    def purge(self, pairs: Iterable[tuple[bytes, bytes]]) -> int:
        """Deletes each report whose id and sha256(sealed) both match a pair; returns how many.

        A pair that matches nothing (unknown id, or a sealed report that differs) deletes
        nothing. All deletions are one transaction. On SQLite, secure_delete overwrites the
        deleted content, and the write-ahead log is then checkpointed and truncated so the old
        pages do not linger there either.
        """
        self._prepare()
        wanted: dict[bytes, set[bytes]] = {}
        for pair in pairs:
            report_id, digest = pair
            wanted.setdefault(_check_bytes(report_id, ID_BYTES, "id"), set()).add(
                _check_bytes(digest, DIGEST_BYTES, "digest")
            )
        deleted = 0
        with _mapped_errors(), self._write() as conn:
            for chunk in _chunks(sorted(wanted)):
                rows = conn.execute(
                    sa.select(reports.c.id, reports.c.sealed)
                    .where(reports.c.id.in_(chunk))
                    .with_for_update()
                ).all()
                matched = [
                    bytes(row.id)
                    for row in rows
                    if hashlib.sha256(row.sealed).digest() in wanted[bytes(row.id)]
                ]
                if matched:
                    deleted += conn.execute(
                        reports.delete().where(reports.c.id.in_(matched))
                    ).rowcount
        if wanted and self.backend == "sqlite":
            # Also when nothing matched: a purge repeated after a busy checkpoint clears the log.
            self._truncate_wal()
        return deleted

    def check_integrity(self) -> None:
        """Raises StoreCorrupt unless the database and the table look sound."""
        self._prepare()
        with _mapped_errors(), self._engine.connect() as conn:
            if self.backend == "sqlite":
                problems = [row[0] for row in conn.exec_driver_sql("PRAGMA integrity_check")]
                if problems != ["ok"]:
                    raise StoreCorrupt("the database failed its integrity check: " + "; ".join(problems[:5]))
            else:
                _postgres_amcheck(conn)
            _check_columns(conn)
            bad = conn.execute(
                sa.select(sa.func.count())
                .select_from(reports)
                .where(sa.func.length(reports.c.id) != ID_BYTES)
            ).scalar_one()
            if bad:
                raise StoreCorrupt(f"{bad} stored reports have a malformed id")

    def close(self) -> None:
        """Waits for queued reports to be committed, then closes every connection."""
        with self._lock:
            self._closed = True
            committer, self._committer = self._committer, None
        if committer is not None and committer.pid == os.getpid():
            committer.close()
        self._close_kept()
        self._close_turn_fd()
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _group_committer(self) -> _GroupCommitter:
        committer = self._committer
        if committer is not None and committer.pid == os.getpid():
            return committer
        with self._lock:
            if self._closed:
                raise StoreUnavailable("the report store is closed")
            if self._pid != os.getpid():
                # Forked without the at-fork hook (e.g. a raw fork): never reuse the parent's
                # connections, whose SQLite locks or server sessions belong to the parent.
                self._engine.dispose(close=False)
                self._pid = os.getpid()
            if self._committer is None or self._committer.pid != os.getpid():
                self._committer = _GroupCommitter(self._insert_batch)
            return self._committer

    def _insert_batch(self, rows: list[dict[str, object]], *, kept: bool = False) -> None:
        if self.backend != "sqlite":
            with _mapped_errors(), self._write(kept=kept) as conn:
                conn.execute(reports.insert(), rows)
            return
        # One multi-row INSERT rather than executemany: in a gunicorn worker the committer
        # shares the GIL with every request thread, and the sqlite3 module releases the GIL
        # around each statement step and reset, so executemany had to win it back twice per
        # row, each time behind busy request threads. Values are stored exactly as SQLAlchemy's
        # Date and Boolean store them on SQLite (ISO day, 0/1).
        values: list[object] = []
        for row in rows:
            values += (row["id"], row["sealed"], row["day"].isoformat(), 1 if row["exported"] else 0)  # type: ignore[union-attr]
        with _mapped_errors(), self._writer_turn(), self._write(kept=kept) as conn:
            conn.exec_driver_sql(_sqlite_insert_sql(len(rows)), tuple(values))

    @contextlib.contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """On SQLite, waits (blocking, without polling) until no other process's committer writes.

        Each gunicorn worker has its own committer. Left to SQLite, a committer that finds the
        write lock taken sleeps in its busy handler in growing steps (1, 2, 5, ... up to 100 ms)
        and polls again, so two workers' commits, each a few milliseconds, made each other wait
        tens of milliseconds, and throughput fell as workers were added (bench/submit.py:
        296 reports/s with 2 workers, 257 with 4, against 369 with 1). An exclusive flock on the
        database's directory hands the turn over the moment the holder releases it; rows queue
        meanwhile and go in the next, larger batch. The kernel drops the lock if a process
        dies. Each holder keeps it only while its BEGIN IMMEDIATE waits (bounded by the lock
        timeout, for a writer outside the committers: export, purge) and commits.
        """
        if self.backend != "sqlite":
            yield  # PostgreSQL queues concurrent commits itself, without polling
            return
        fd = self._turn_fd
        if fd is None or self._turn_pid != os.getpid():
            # Our own open file description per process: a flock is held by the description,
            # so one inherited across fork would let parent and child hold it at once.
            directory = os.path.dirname(os.path.abspath(self._engine.url.database or ""))
            try:
                fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError as exc:
                raise StoreUnavailable(f"the report database's directory cannot be opened: {exc.strerror}") from exc
            self._turn_fd, self._turn_pid = fd, os.getpid()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise StoreUnavailable(f"the report database cannot be locked for writing: {exc.strerror}") from exc
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _write(self, *, kept: bool = False) -> Iterator[sa.Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite: take the write lock up front).

        kept: on the one connection that the writer process keeps open from batch to batch:
        taking a connection from the pool and resetting it on return cost about as much as
        the insert itself. After any failure it is closed, and the next batch opens another.
        """
        if not kept:
            with self._engine.connect() as conn:
                conn.execution_options(meldpunt_write=True)
                with conn.begin():
                    yield conn
            return
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

    def _truncate_wal(self) -> None:
        raw = self._engine.raw_connection()
        try:
            cursor = raw.cursor()
            # Waits (busy_timeout) for readers; returns (busy, wal frames, checkpointed frames).
            with _mapped_errors():
                busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            cursor.close()
        finally:
            raw.close()
        if busy:
            raise StoreUnavailable(
                "the reports were purged, but the write-ahead log could not be cleared because "
                "the database stayed busy; run the purge again"
            )

    def _close_turn_fd(self) -> None:
        # In a child the inherited descriptor is closed too (the parent keeps its own).
        fd, self._turn_fd = self._turn_fd, None
        if fd is not None:
            os.close(fd)

    def _after_fork_in_child(self) -> None:
        # Runs in the child's only thread: nothing can hold these, so replace rather than reuse.
        self._close_turn_fd()
        self._kept = None  # the parent's connection: never used, never closed, here
        self._lock = threading.Lock()
        self._committer = None
        self._pid = os.getpid()
        self._engine.dispose(close=False)


def _after_fork(ref: weakref.ref[Store]) -> None:
    store = ref()
    if store is not None:
        store._after_fork_in_child()


class _Waiter:
    __slots__ = ("row", "done", "error")

    def __init__(self, row: dict[str, object]):
        self.row = row
        self.done = threading.Event()
        self.error: BaseException | None = None


class _GroupCommitter:
    """One thread that commits, in one transaction, every row queued while it was busy.

    No timer: a lone report is committed at once; under load the rows that queue during one
    commit's flush go together in the next.
    """

    def __init__(self, write_batch: Callable[[list[dict[str, object]]], None]):
        self.pid = os.getpid()
        self._write_batch = write_batch
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[_Waiter] = []
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="meldpunt-group-commit", daemon=True)
        self._thread.start()

    def submit(self, row: dict[str, object]) -> None:
        waiter = _Waiter(row)
        with self._cond:
            if self._closing:
                raise StoreUnavailable("the report store is closed")
            self._queue.append(waiter)
            self._cond.notify()
        waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return  # closing, and everything queued has been committed
                taken, size = 0, 0
                for waiter in self._queue[:MAX_BATCH]:
                    size += len(waiter.row["sealed"])  # type: ignore[arg-type]
                    if taken and size > MAX_BATCH_BYTES:
                        break
                    taken += 1
                batch = self._queue[:taken]
                del self._queue[:taken]
            try:
                self._write_batch([waiter.row for waiter in batch])
            except BaseException as exc:  # handed to every caller in the batch, who raise it
                for waiter in batch:
                    waiter.error = _copy_for_caller(exc)
            finally:
                for waiter in batch:
                    waiter.done.set()


def _copy_for_caller(exc: BaseException) -> BaseException:
    # Each waiting thread raises its own exception object, so tracebacks do not pile up on a
    # shared one; the original stays attached as the cause.
    if isinstance(exc, StoreError):
        copy = type(exc)(*exc.args)
        copy.__cause__ = exc.__cause__
        return copy
    return exc


@functools.lru_cache(maxsize=64)
def _sqlite_insert_sql(n: int) -> str:
    # The same text for the same n, so the sqlite3 module's statement cache prepares it once.
    return "INSERT INTO reports (id, sealed, day, exported) VALUES " + ", ".join(["(?, ?, ?, ?)"] * n)


# -- errors ------------------------------------------------------------------------------------

_SQLITE_REASONS = {
    "SQLITE_BUSY": "locked by another process for too long",
    "SQLITE_LOCKED": "locked for too long",
    "SQLITE_FULL": "the disk is full",
    "SQLITE_READONLY": "the database is read-only",
    "SQLITE_CANTOPEN": "the database file cannot be opened",
    "SQLITE_PERM": "permission denied",
    "SQLITE_IOERR": "input/output error",
}


@contextlib.contextmanager
def _mapped_errors() -> Iterator[None]:
    """Turns "the database cannot do it now" into StoreUnavailable; lets bugs through.

    The messages are fixed sentences plus an error code: the driver's own text may repeat the
    host, the user or the SQL, none of which belongs in a user-facing message.
    """
    try:
        yield
    except sa.exc.TimeoutError as exc:
        raise StoreUnavailable("the report database is unavailable: no free connection in time") from exc
    except sa.exc.DBAPIError as exc:
        if isinstance(exc.orig, sqlite3.Error):
            _raise_for_sqlite(exc.orig, exc, invalidated=exc.connection_invalidated)
        if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)) or exc.connection_invalidated:
            sqlstate = getattr(exc.orig, "sqlstate", None)
            detail = f"SQLSTATE {sqlstate}" if sqlstate else "no connection to the server"
            raise StoreUnavailable(f"the report database is unavailable ({detail})") from exc
        raise
    except sqlite3.Error as exc:  # from a raw connection (the pragmas SQLAlchemy does not wrap)
        _raise_for_sqlite(exc, exc, invalidated=False)


def _raise_for_sqlite(orig: sqlite3.Error, exc: BaseException, *, invalidated: bool) -> None:
    name = getattr(orig, "sqlite_errorname", "") or "SQLITE_ERROR"
    family = "_".join(name.split("_", 2)[:2])  # SQLITE_IOERR_WRITE -> SQLITE_IOERR
    if family in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
        raise StoreCorrupt(f"the report database is damaged ({name})") from exc
    if isinstance(orig, sqlite3.OperationalError) or invalidated:
        reason = _SQLITE_REASONS.get(family, "error")
        raise StoreUnavailable(f"the report database is unavailable: {reason} ({name})") from exc
    raise exc


# -- engines -----------------------------------------------------------------------------------

def _sqlite_engine(url: sa.URL, lock_timeout: float, pool_size: int) -> sa.Engine:
    if url.drivername not in ("sqlite", "sqlite+pysqlite"):
        raise StoreConfigError("use the standard SQLite driver: sqlite:///PATH")
    path = url.database
    if not path or path == ":memory:" or url.query:
        raise StoreConfigError("SQLite needs a plain file path (sqlite:///PATH), with no options")
    _create_private_file(path)
    engine = sa.create_engine(
        url,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"timeout": lock_timeout, "check_same_thread": False},
    )
    busy_ms = int(lock_timeout * 1000)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # We emit BEGIN ourselves (below): the sqlite3 module's implicit transactions would
        # start writes as deferred transactions, which can fail without waiting for the lock.
        dbapi_conn.isolation_level = None
        _apply_sqlite_pragmas(dbapi_conn, busy_ms)

    @event.listens_for(engine, "begin")
    def on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("meldpunt_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


# Every connection, checked after setting: a pragma SQLite silently ignores (WAL on a filesystem
# without shared memory, say) must stop us rather than weaken durability.
def _apply_sqlite_pragmas(dbapi_conn: sqlite3.Connection, busy_ms: int) -> None:
    wanted = [
        ("busy_timeout", busy_ms, busy_ms),
        # Every commit flushes the WAL: a report acknowledged survives a crash or power cut.
        ("journal_mode", "WAL", "wal"),
        ("synchronous", "FULL", 2),
        # Deleted (purged) content is overwritten with zeros, not left in free pages.
        ("secure_delete", "ON", 1),
        # Sorts and temporary tables stay in memory, never in temporary files.
        ("temp_store", "MEMORY", 2),
    ]
    cursor = dbapi_conn.cursor()
    try:
        for name, value, expected in wanted:
            cursor.execute(f"PRAGMA {name} = {value}")
            got = cursor.execute(f"PRAGMA {name}").fetchone()[0]
            if got != expected:
                raise StoreConfigError(f"SQLite refused PRAGMA {name} = {value} (it reports {got!r})")
    finally:
        cursor.close()


def _create_private_file(path: str) -> None:
    """Creates the database file with mode 0600 before SQLite opens it (and tightens it if not).

    SQLite gives its -wal and -shm files the database file's permissions, so they follow.
    """
    created = True
    try:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            created = False
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise StoreConfigError("the directory for the SQLite database does not exist") from None
    except OSError as exc:  # a symlink (ELOOP), no permission, ...: strerror names no path
        raise StoreConfigError(f"cannot open the SQLite database file: {exc.strerror}") from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise StoreConfigError("the SQLite database path is not a regular file")
        if stat.S_IMODE(mode) != 0o600:
            os.fchmod(fd, 0o600)
        if created:
            os.fsync(fd)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm", "-journal"):
        try:
            mode = os.lstat(path + suffix).st_mode
        except FileNotFoundError:
            continue  # SQLite creates them when it needs them
        if not stat.S_ISREG(mode):
            raise StoreConfigError(f"the SQLite {suffix[1:]} file is not a regular file")
        if stat.S_IMODE(mode) != 0o600:
            os.chmod(path + suffix, 0o600)
    if created:
        # The new directory entry must be durable too, or a crash could lose the whole file.
        dir_fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _postgres_engine(url: sa.URL, lock_timeout: float, pool_size: int) -> sa.Engine:
    if url.drivername not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise StoreConfigError("use the psycopg driver: postgresql+psycopg://…")
    url = url.set(drivername="postgresql+psycopg")
    connect_args: dict[str, object] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    engine = sa.create_engine(
        url,
        hide_parameters=True,
        # A server restart leaves dead pooled connections: test each before use, so the first
        # report after a restart is stored rather than refused.
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args=connect_args,
    )
    lock_ms = int(lock_timeout * 1000)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: object, _record: object) -> None:
        cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
        try:
            # The default, set anyway: a server configured otherwise would acknowledge
            # reports it has not yet flushed.
            cursor.execute("SET synchronous_commit = on")
            cursor.execute(f"SET lock_timeout = {lock_ms}")
        finally:
            cursor.close()
        dbapi_conn.commit()  # type: ignore[attr-defined]

    return engine


def _check_postgres_durability(conn: sa.Connection) -> None:
    fsync = conn.exec_driver_sql("SHOW fsync").scalar_one()
    sync_commit = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
    if fsync != "on":
        raise StoreConfigError("the PostgreSQL server runs with fsync off: reports would not survive a crash")
    if sync_commit != "on":
        raise StoreConfigError(f"PostgreSQL synchronous_commit is {sync_commit}, not on")


def _postgres_amcheck(conn: sa.Connection) -> None:
    """With the amcheck extension installed (and ours to use), verifies the primary-key index
    against the table; otherwise reads the whole table once, which at least touches every page."""
    schema = conn.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'amcheck'"
    ).scalar()
    if schema is not None:
        index = conn.exec_driver_sql(
            "SELECT indexrelid::regclass::text FROM pg_index "
            "WHERE indrelid = 'reports'::regclass AND indisprimary"
        ).scalar_one()
        function = conn.dialect.identifier_preparer.quote(schema) + ".bt_index_check"
        try:
            with conn.begin_nested():
                conn.execute(sa.text(f"SELECT {function}(CAST(:index AS regclass), true)"), {"index": index})
            return
        except sa.exc.DBAPIError as exc:
            sqlstate = getattr(exc.orig, "sqlstate", None)
            if sqlstate == "XX002":  # index_corrupted
                raise StoreCorrupt("the reports index failed its integrity check") from exc
            if sqlstate != "42501":  # insufficient_privilege: use the fallback below
                raise
    conn.execute(sa.select(sa.func.sum(sa.func.length(reports.c.sealed))).select_from(reports)).scalar()


# -- schema ------------------------------------------------------------------------------------

def _create_table(engine: sa.Engine) -> None:
    with _mapped_errors(), engine.connect() as conn:
        conn.execution_options(meldpunt_write=True)
        with conn.begin():
            if engine.dialect.name == "postgresql":
                _check_postgres_durability(conn)
                # Workers start together: serialise CREATE TABLE, which races in PostgreSQL
                # even with IF NOT EXISTS. (SQLite's BEGIN IMMEDIATE already serialises.)
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x6D656C64})
            metadata.create_all(conn, checkfirst=True)
            _check_columns(conn)


def _check_columns(conn: sa.Connection) -> None:
    names = sorted(column["name"] for column in sa.inspect(conn).get_columns("reports"))
    if names != sorted(COLUMNS):
        raise StoreConfigError(
            "the reports table has columns " + ", ".join(names) + "; expected exactly " + ", ".join(COLUMNS)
        )


# -- helpers -----------------------------------------------------------------------------------

def _check_bytes(value: object, length: int, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)) or len(value) != length:
        raise ValueError(f"{what} must be {length} bytes")
    return bytes(value)


def _chunks(items: list[bytes]) -> Iterator[list[bytes]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
