"""Spent form tokens in the shared database, for several backends behind Onionbalance.

Each web server remembers the tokens it accepted in shared memory (shared/token.py: SpentTokens),
which a replay over a circuit that reaches another backend never meets. With a PostgreSQL store,
the usual one behind Onionbalance, a token is therefore also spent here before its report is
sealed: the first backend to insert its digest wins, every other sees the row and refuses.

What a row says: a keyed digest (a token is not recognisable from it without the backends' token
secret) and the day, nothing finer. Rows are pruned once a day, when the writer compacts the store
(Store.compact), not at every spend: a delete by day at every report would scan the table per
report. A row stays KEEP_DAYS days, until no token it could match is still valid. The commit is not waited for on disk
(synchronous_commit off): a crash may forget a spent token, so at worst one report sent again
right then is stored twice, while every report's own commit stays synced (invariant 4).
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from onion_service.store.schema import spent_tokens

DIGEST_BYTES = 32
# Tokens live at most 72 hours (config.py: form_max_hours). One spent on day D was issued before
# D ended, so it is dead by the start of D + 4: from then on its row can go.
KEEP_DAYS = 4


def spend(conn: sa.Connection, digest: bytes, day: datetime.date) -> bool:
    """Inside the caller's write transaction: True if no backend had spent this token."""
    conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    inserted = conn.execute(
        postgresql.insert(spent_tokens)
        .values(digest=digest, day=day)
        .on_conflict_do_nothing(index_elements=["digest"])
        .returning(spent_tokens.c.digest)
    )
    return inserted.first() is not None


def give_back(conn: sa.Connection, digest: bytes) -> None:
    """Unspends a token whose report was then refused (budget, store), so it can be sent again."""
    conn.execute(spent_tokens.delete().where(spent_tokens.c.digest == digest))


def prune(conn: sa.Connection, today: datetime.date) -> int:
    """Deletes the rows of tokens that can no longer be valid; once a day (one scan of the table)."""
    old = spent_tokens.delete().where(spent_tokens.c.day <= today - datetime.timedelta(days=KEEP_DAYS))
    return conn.execute(old).rowcount
