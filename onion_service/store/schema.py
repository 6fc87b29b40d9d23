"""The reports table: five columns, and the checks that it has no more.

A random 128-bit id, the sealed (age-encrypted) report, the day it arrived, whether staff have
exported it, and the SHA-256 of the purge secret sealed inside it (crypto/envelope/purge_secret.py;
NULL for a report stored before reports carried one). No autoincrement, no timestamps, no sizes:
the table must not tell anyone more than "a report arrived that day".
"""

from __future__ import annotations

import sqlalchemy as sa

from crypto.envelope.sealing import MAX_SEALED_BYTES  # noqa: F401 (the store's bound too)
from onion_service.store.errors import StoreConfigError, StoreCorrupt

ID_BYTES = 16  # 128 random bits: collisions are out of reach, and the id says nothing else.
DIGEST_BYTES = 32  # purge matches on sha256(sealed)
PURGE_HASH_BYTES = 32  # and on sha256(purge secret)

COLUMNS = ("id", "sealed", "day", "exported", "purge_hash")
# The table as it was before purge secrets; create_table adds the column to such a table.
_COLUMNS_BEFORE_PURGE_HASH = ("id", "sealed", "day", "exported")

metadata = sa.MetaData()
reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", sa.LargeBinary(ID_BYTES), primary_key=True, autoincrement=False),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("exported", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column("purge_hash", sa.LargeBinary(PURGE_HASH_BYTES), nullable=True),
    # Without a rowid SQLite has no hidden, ever-increasing row number that would record the
    # order in which reports arrived: rows live in a b-tree keyed by the random id.
    sqlite_with_rowid=False,
)


def create_table(conn: sa.Connection) -> None:
    """Creates the table unless it exists, then refuses one with other columns."""
    # SQLite is one server's store, whose spent tokens stay in its memory: no table for them.
    wanted = [t for t in metadata.sorted_tables if t is not spent_tokens or conn.dialect.name != "sqlite"]
    metadata.create_all(conn, tables=wanted, checkfirst=True)
    names = sorted(column["name"] for column in sa.inspect(conn).get_columns("reports"))
    if names == sorted(_COLUMNS_BEFORE_PURGE_HASH):
        # Rows stored before keep NULL: purge deletes them on id and SHA-256 alone, as before.
        blob = "BLOB" if conn.dialect.name == "sqlite" else "BYTEA"
        conn.exec_driver_sql(f"ALTER TABLE reports ADD COLUMN purge_hash {blob}")
    check_columns(conn)


def check_columns(conn: sa.Connection) -> None:
    # A table that grew a column (a timestamp, say) must not be used silently.
    names = sorted(column["name"] for column in sa.inspect(conn).get_columns("reports"))
    if names != sorted(COLUMNS):
        raise StoreConfigError(
            "the reports table has columns " + ", ".join(names) + "; expected exactly " + ", ".join(COLUMNS)
        )


def check_ids(conn: sa.Connection) -> None:
    bad = conn.execute(
        sa.select(sa.func.count()).select_from(reports).where(sa.func.length(reports.c.id) != ID_BYTES)
    ).scalar_one()
    if bad:
        raise StoreCorrupt(f"{bad} stored reports have a malformed id")


def check_bytes(value: object, length: int, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)) or len(value) != length:
        raise ValueError(f"{what} must be {length} bytes")
    return bytes(value)


# -- the reporters' statuses (onion_service/store/statuses.py) -------------------------------------
# The last imported status file, row for row: a lookup key (never a receipt code), the state and
# message ids, the day staff set them. Without a rowid, rows are kept in the order of their random
# keys. `status_file` holds one row: the version in use, its hash and its salt.
statuses = sa.Table(
    "statuses",
    metadata,
    sa.Column("lookup", sa.LargeBinary(32), primary_key=True, autoincrement=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("message", sa.String(32), nullable=True),
    sa.Column("day", sa.Date, nullable=False),
    sqlite_with_rowid=False,
)
status_file = sa.Table(
    "status_file",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.LargeBinary(32), nullable=False),
    sa.Column("salt", sa.LargeBinary(32), nullable=False),
)

# -- spent form tokens, shared by the backends behind Onionbalance (onion_service/store/spent.py) ---
# A keyed digest of each token spent on a PostgreSQL store, and the day it was spent: one
# backend's replay is caught by another. Rows are pruned once a day, 4 days old (store/spent.py).
spent_tokens = sa.Table(
    "spent_tokens",
    metadata,
    sa.Column("digest", sa.LargeBinary(32), primary_key=True, autoincrement=False),
    sa.Column("day", sa.Date, nullable=False),
    sqlite_with_rowid=False,
)
