"""The status table: replaced whole by an imported status file, read by the status page.

`replace` runs in one write transaction: it refuses a version that is not newer than the one in
use (or the same version with other bytes), deletes every row and inserts the file's; a failure
anywhere rolls all of it back, so the previous statuses keep answering. `find` reads the salt
and the row in one snapshot, so an import committing in between cannot mix two files' salts and
rows. Nothing here writes on a lookup.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import sqlalchemy as sa

from crypto.status.errors import RollbackError
from crypto.status.file import StatusFile
from crypto.status.lookup import lookup_key
from onion_service.store.schema import status_file, statuses

_CHUNK = 500  # rows per INSERT: well under every bound-parameter limit (4 per row)


@dataclass(frozen=True)
class Replaced:
    previous: int | None  # the version that was in use
    version: int
    entries: int
    unchanged: bool  # the same file was in use already


@dataclass(frozen=True)
class Found:
    state: str
    message: str | None
    day: datetime.date


def replace(conn: sa.Connection, parsed: StatusFile, sha256: bytes) -> Replaced:
    """Inside the caller's write transaction (Store.replace_statuses)."""
    current = conn.execute(
        sa.select(status_file.c.version, status_file.c.sha256).where(status_file.c.id == 1).with_for_update()
    ).first()
    previous: int | None = None
    if current is not None:
        previous = int(current.version)
        if parsed.version == previous and bytes(current.sha256) == sha256:
            return Replaced(previous, parsed.version, len(parsed.entries), unchanged=True)
        if parsed.version <= previous:
            what = "older than" if parsed.version < previous else "another file with the same version as"
            raise RollbackError(
                f"the status file (version {parsed.version}) is {what} the one in use "
                f"(version {previous}); nothing was changed"
            )
    conn.execute(statuses.delete())
    rows = [{"lookup": e.key, "state": e.state, "message": e.message, "day": e.day} for e in parsed.entries]
    for start in range(0, len(rows), _CHUNK):
        conn.execute(statuses.insert(), rows[start : start + _CHUNK])
    conn.execute(status_file.delete())
    conn.execute(status_file.insert().values(id=1, version=parsed.version, sha256=sha256, salt=parsed.salt))
    return Replaced(previous, parsed.version, len(parsed.entries), unchanged=False)


def find(conn: sa.Connection, receipt: str) -> Found | None:
    """Inside one read transaction (Store.status_of): the status of this valid receipt code, or
    None; a code never listed and one not yet listed look alike."""
    salt = conn.execute(sa.select(status_file.c.salt).where(status_file.c.id == 1)).scalar()
    if salt is None:
        return None
    row = conn.execute(
        sa.select(statuses.c.state, statuses.c.message, statuses.c.day).where(
            statuses.c.lookup == lookup_key(bytes(salt), receipt)
        )
    ).first()
    return None if row is None else Found(row.state, row.message, row.day)


def version(conn: sa.Connection) -> int | None:
    value = conn.execute(sa.select(status_file.c.version).where(status_file.c.id == 1)).scalar()
    return None if value is None else int(value)
