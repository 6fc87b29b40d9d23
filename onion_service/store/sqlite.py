"""SQLite: a private file, durability pragmas on every connection, write locks taken up front.

A commit returns once the write-ahead log holding it is flushed (WAL with synchronous=FULL), so a
report acknowledged survives a crash or a power cut.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import stat

import sqlalchemy as sa
from sqlalchemy import event

from crypto import files
from onion_service.store.errors import StoreConfigError, StoreCorrupt, StoreUnavailable, mapped_errors
from onion_service.store.rows import ReportRow


def engine(url: sa.URL, lock_timeout: float, pool_size: int) -> sa.Engine:
    if url.drivername not in ("sqlite", "sqlite+pysqlite"):
        raise StoreConfigError("use the standard SQLite driver: sqlite:///PATH")
    path = url.database
    if not path or path == ":memory:" or url.query:
        raise StoreConfigError("SQLite needs a plain file path (sqlite:///PATH), with no options")
    _create_private_file(path)
    made = sa.create_engine(
        url,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"timeout": lock_timeout, "check_same_thread": False},
    )
    busy_ms = int(lock_timeout * 1000)

    @event.listens_for(made, "connect")
    def on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # We emit BEGIN ourselves (below): the sqlite3 module's implicit transactions would
        # start writes as deferred transactions, which can fail without waiting for the lock.
        dbapi_conn.isolation_level = None
        _apply_pragmas(dbapi_conn, busy_ms)

    @event.listens_for(made, "begin")
    def on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("meldpunt_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return made


# Every connection, checked after setting: a pragma SQLite silently ignores (WAL on a filesystem
# without shared memory, say) must stop us rather than weaken durability.
def _apply_pragmas(dbapi_conn: sqlite3.Connection, busy_ms: int) -> None:
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
        files.fsync_dir(os.path.dirname(os.path.abspath(path)))


def insert(conn: sa.Connection, rows: list[ReportRow]) -> None:
    """Inserts the rows with one multi-row INSERT.

    Rather than executemany, which steps and resets the statement once per row (the sqlite3
    module releasing and retaking the interpreter lock around each): one statement, one step.
    The values are stored exactly as SQLAlchemy's Date and Boolean store them on SQLite (ISO
    day, 0/1), so reads through the table definition see the same rows either way.
    """
    values: list[object] = []
    for row in rows:
        values += (row["id"], row["sealed"], row["day"].isoformat(), 1 if row["exported"] else 0, row["purge_hash"])
    conn.exec_driver_sql(_insert_sql(len(rows)), tuple(values))


@functools.lru_cache(maxsize=64)
def _insert_sql(n: int) -> str:
    # The same text for the same n, so the sqlite3 module's statement cache prepares it once.
    return "INSERT INTO reports (id, sealed, day, exported, purge_hash) VALUES " + ", ".join(["(?, ?, ?, ?, ?)"] * n)


def check_integrity(conn: sa.Connection) -> None:
    problems = [row[0] for row in conn.exec_driver_sql("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise StoreCorrupt("the database failed its integrity check: " + "; ".join(problems[:5]))


def rewrite(engine: sa.Engine) -> None:
    """Rewrites the whole file in primary-key (random id) order, then clears the write-ahead log.

    Rows have random ids, but the pages a row's sealed bytes take are allocated as it arrives, and
    the log's frames show which rows were committed together: the file would keep the order of
    arrival. VACUUM copies a WITHOUT ROWID table in key order into a new file, so afterwards a
    row's place says nothing of when it came.
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with mapped_errors():  # waits (busy_timeout) for the write lock like any writer
            cursor.execute("VACUUM")
        cursor.close()
    finally:
        raw.close()
    truncate_wal(engine)


def truncate_wal(engine: sa.Engine) -> None:
    """Checkpoints the write-ahead log and truncates it, so purged pages do not linger there."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # Waits (busy_timeout) for readers; returns (busy, wal frames, checkpointed frames).
        with mapped_errors():
            busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        raw.close()
    if busy:
        raise StoreUnavailable(
            "the reports were purged, but the write-ahead log could not be cleared because "
            "the database stayed busy; run the purge again"
        )
