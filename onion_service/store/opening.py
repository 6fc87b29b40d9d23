"""`open_store`: a database URL checked, its engine made, the tables created or checked."""

from __future__ import annotations

import sqlalchemy as sa

from onion_service.store import postgres, sqlite
from onion_service.store.errors import StoreConfigError, StoreCorrupt, StoreUnavailable
from onion_service.store.rows import Writes
from onion_service.store.store import DEFAULT_LOCK_TIMEOUT, POOL_SIZE, Store


def open_store(
    database_url: str,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    pool_size: int = POOL_SIZE,
    tolerate_outage: bool = False,
    writer: Writes | None = None,
) -> Store:
    """Opens (creating if needed) the reports table at `database_url`.

    `sqlite:///<path>` or `postgresql+psycopg://…` (the host may be a unix-socket directory,
    e.g. `postgresql+psycopg:///meldpunt?host=/run/postgresql`).

    `tolerate_outage`: if the database cannot be reached now (StoreUnavailable), return a store
    that creates and checks the table on first use instead, each use raising StoreUnavailable
    until it can. For the web server's workers and its writer: one that starts while PostgreSQL
    is down (a worker replaced after a crash, say) must answer 503 and recover, not fail to boot,
    which makes gunicorn stop the whole service.

    `writer`: where `add` sends reports to be committed (the server's writer process); without
    one, `add` commits each report itself.
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
        engine = sqlite.engine(url, lock_timeout, pool_size)
    elif backend in ("postgresql", "postgres"):
        engine = postgres.engine(url, lock_timeout, pool_size)
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
