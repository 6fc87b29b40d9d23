"""Spent form tokens in the shared database, for several backends behind Onionbalance.

Each web server remembers the tokens it accepted in shared memory (shared/token.py: SpentTokens),
which a replay over a circuit that reaches another backend never meets. With a PostgreSQL store,
the usual one behind Onionbalance, a token is therefore also spent here before its report is
sealed: the first backend to insert its digest wins, every other sees the row and refuses.

What a row says: a keyed digest (a token is not recognisable from it without the backends' token
secret) and the day, nothing finer; rows from before yesterday are deleted whenever a token is
spent, so none outlives its token by more than two days. The commit is not waited for on disk
(synchronous_commit off): a crash may forget a spent token, so at worst one report sent again
right then is stored twice, while every report's own commit stays synced (invariant 4).
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from onion_service.store.schema import spent_tokens

DIGEST_BYTES = 32


def spend(conn: sa.Connection, digest: bytes, day: datetime.date) -> bool:
    """Inside the caller's write transaction: True if no backend had spent this token."""
    conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    conn.execute(spent_tokens.delete().where(spent_tokens.c.day < day - datetime.timedelta(days=1)))
    inserted = conn.execute(postgresql.insert(spent_tokens).values(digest=digest, day=day)
                            .on_conflict_do_nothing(index_elements=["digest"]).returning(spent_tokens.c.digest))
    return inserted.first() is not None


def give_back(conn: sa.Connection, digest: bytes) -> None:
    """Unspends a token whose report was then refused (budget, store), so it can be sent again."""
    conn.execute(spent_tokens.delete().where(spent_tokens.c.digest == digest))
