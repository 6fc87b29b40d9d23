"""The store's failures, and how the database drivers' errors map onto them.

Callers see four kinds: the database cannot serve now (StoreUnavailable), it is damaged
(StoreCorrupt, a kind of unavailable), it is unfit by configuration (StoreConfigError), and the
base of all three (StoreError). Anything else that comes out of the store is a bug, not an outage.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

import sqlalchemy as sa

from crypto.errors import Error


class StoreError(Error):
    """Base of the store's failures."""


class StoreUnavailable(StoreError):
    """The database cannot take or give reports now (down, disk full, locked too long)."""


class StoreCorrupt(StoreUnavailable):
    """The database failed its integrity check or its file is damaged."""


class StoreConfigError(StoreError):
    """The database URL or the database itself is unfit for durable, minimal storage."""


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
def mapped_errors() -> Iterator[None]:
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
