"""PostgreSQL: synced commits only, on a server that flushes, with bounded waits.

A commit returns once the server has flushed it (synchronous_commit=on with fsync=on); a server
configured to acknowledge before flushing is refused when the table is prepared.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection

from onion_service.store.errors import StoreConfigError, StoreCorrupt
from onion_service.store.schema import reports

# How long to wait for a PostgreSQL server to accept a connection.
CONNECT_TIMEOUT = 5
# Serialises CREATE TABLE across processes (the bytes "meld"): see before_create.
_CREATE_LOCK_KEY = 0x6D656C64


def engine(url: sa.URL, lock_timeout: float, pool_size: int) -> sa.Engine:
    if url.drivername not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise StoreConfigError("use the psycopg driver: postgresql+psycopg://…")
    url = url.set(drivername="postgresql+psycopg")
    connect_args: dict[str, object] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    made = sa.create_engine(
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

    @event.listens_for(made, "connect")
    def on_connect(dbapi_conn: DBAPIConnection, _record: object) -> None:
        cursor = dbapi_conn.cursor()
        try:
            # The default, set anyway: a server configured otherwise would acknowledge
            # reports it has not yet flushed.
            cursor.execute("SET synchronous_commit = on")
            cursor.execute(f"SET lock_timeout = {lock_ms}")
        finally:
            cursor.close()
        dbapi_conn.commit()

    return made


def before_create(conn: sa.Connection) -> None:
    """In the transaction that creates the table: refuse a server that would lose commits, and
    take the lock that makes processes starting together create the table one at a time (CREATE
    TABLE races in PostgreSQL even with IF NOT EXISTS)."""
    _check_durability(conn)
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CREATE_LOCK_KEY})


def _check_durability(conn: sa.Connection) -> None:
    fsync = conn.exec_driver_sql("SHOW fsync").scalar_one()
    sync_commit = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
    if fsync != "on":
        raise StoreConfigError("the PostgreSQL server runs with fsync off: reports would not survive a crash")
    if sync_commit != "on":
        raise StoreConfigError(f"PostgreSQL synchronous_commit is {sync_commit}, not on")


def check_integrity(conn: sa.Connection) -> None:
    """With the amcheck extension installed (and ours to use), verifies the primary-key index
    against the table; otherwise reads the whole table once, which at least touches every page."""
    schema = conn.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'"
    ).scalar()
    if schema is not None:
        index = conn.exec_driver_sql(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'reports'::regclass AND indisprimary"
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


# The tables rewritten, each with the key whose (random) order its rows take.
_REWRITTEN = (("reports", "id"), ("spent_tokens", "digest"))


def rewrite(conn: sa.Connection) -> None:
    """Rewrites the reports and the spent tokens in one transaction so that nothing in the
    cluster's files orders them by arrival any more.

    CLUSTER was not enough: it moves rows into key order, but keeps each row's `xmin` (the
    inserting transaction, one counter for the whole cluster) and the sealed bytes' TOAST value
    ids (another global counter), and both still ordered every report by arrival. Here each table's
    rows are copied aside, the table is truncated (a new, empty file for the heap, its TOAST and
    its indexes; the old files are unlinked at commit) and the rows inserted again in key order:
    every row then carries this transaction's `xmin`, its TOAST values get new ids in key order,
    and its place in the heap follows the key. TRUNCATE locks each table for the length of the
    rewrite; writers on other backends wait for it (the lock timeout bounds the wait) and then
    write into the new file. The copy is a temporary table, gone at commit.
    """
    with conn.begin():
        for table, key in _REWRITTEN:
            if conn.exec_driver_sql(f"SELECT to_regclass('{table}')").scalar() is None:
                continue  # spent_tokens exists only once a PostgreSQL store made it
            conn.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            conn.exec_driver_sql(
                f"CREATE TEMPORARY TABLE rewrite_{table} ON COMMIT DROP AS SELECT * FROM {table} ORDER BY {key}"
            )
            conn.exec_driver_sql(f"TRUNCATE {table}")
            conn.exec_driver_sql(f"INSERT INTO {table} SELECT * FROM rewrite_{table} ORDER BY {key}")
