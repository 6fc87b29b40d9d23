"""`Store`: sealed reports in, sealed reports out, nothing else. How durability is kept (the
direct commit and the writer process's batches) is told in store/__init__.py."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import threading
import weakref
from collections.abc import Iterable, Iterator

import sqlalchemy as sa

from crypto.envelope.purge_secret import SECRET_BYTES
from crypto.envelope.purge_secret import purge_hash as hash_secret
from crypto.status.file import StatusFile
from onion_service.store import postgres, spent, sqlite, statuses
from onion_service.store.commit import BatchCommitter
from onion_service.store.errors import StoreUnavailable, mapped_errors
from onion_service.store.rows import NewRow, ReportRow, StoredReport, Writes, check_report, new_id
from onion_service.store.schema import (
    DIGEST_BYTES,
    ID_BYTES,
    check_bytes,
    check_columns,
    check_ids,
    create_table,
    reports,
)

# Rows per round trip when streaming or matching ids; keeps memory flat for any table size
# (256 rows of ~17 KB is ~4 MB) and stays under every SQLite bound-parameter limit.
CHUNK = 256
# How long a commit waits for another process holding the SQLite write lock (or a PostgreSQL
# row lock) before giving up with StoreUnavailable.
DEFAULT_LOCK_TIMEOUT = 10.0
# Connections kept per process (and as many again on demand): the writer's commits, an export
# and the odd count need a few at most.
POOL_SIZE = 4


class Store:
    """The reports table. Thread-safe; safe to carry across fork (state is rebuilt per process)."""

    def __init__(self, engine: sa.Engine, *, prepared: bool = True, writer: Writes | None = None):
        self._engine = engine
        self._writer = writer
        self._lock = threading.Lock()  # guards _prepared and _closed
        self._prepared = prepared  # the table exists and has the expected columns
        self._closed = False
        self._batches = BatchCommitter(engine)
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _after_fork(ref))

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    @property
    def backend(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self._engine.dialect.name

    def add(self, sealed: bytes, day: datetime.date, purge_hash: bytes | None = None) -> bytes:
        """Stores one sealed report; returns its new id once the commit holding it is synced.

        `purge_hash`: SHA-256 of the purge secret sealed inside the report; a purge then needs the
        secret (proof that the report was decrypted). Without one (tools and tests), id and
        SHA-256 of the sealed bytes are enough to purge it.
        """
        sealed, day, purge_hash = check_report(sealed, day, purge_hash)
        if self._closed:
            raise StoreUnavailable("the report store is closed")
        if self._writer is not None:
            return self._writer.add(sealed, day, purge_hash)
        return self._commit_now(sealed, day, purge_hash)

    def insert_reports(self, reports_: list[tuple[bytes, datetime.date, bytes | None]]) -> list[bytes]:
        """Commits (sealed, day, purge_hash) reports in one synced transaction (the writer's
        batch) and returns their new ids, in order. Each report is checked here (`check_report`).
        Either every report is committed or, with the error raised, none."""
        rows: list[NewRow] = [(new_id(), *check_report(*report)) for report in reports_]
        self.insert_rows(rows)
        return [row[0] for row in rows]

    def insert_rows(self, rows: list[NewRow]) -> None:
        """Commits (id, sealed, day, purge_hash) rows as given, in one synced transaction: for
        `insert_reports` and the benches, which bring their own ids."""
        self._prepare()
        batch: list[ReportRow] = [
            {
                "id": check_bytes(i, ID_BYTES, "id"),
                "sealed": sealed,
                "day": day,
                "exported": False,
                "purge_hash": purge_hash,
            }
            for i, sealed, day, purge_hash in rows
        ]
        self._batches.commit(batch)

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
            with mapped_errors(), self._engine.connect() as conn:
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
        with mapped_errors(), self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def mark_exported(self, ids: Iterable[bytes]) -> int:
        """Flags the given reports as exported, in one transaction; returns how many exist."""
        self._prepare()
        wanted = sorted({check_bytes(i, ID_BYTES, "id") for i in ids})
        updated = 0
        with mapped_errors(), self._write() as conn:
            for chunk in _chunks(wanted):
                result = conn.execute(reports.update().where(reports.c.id.in_(chunk)).values(exported=True))
                updated += result.rowcount
        return updated

    def purge(self, entries: Iterable[tuple[bytes, bytes, bytes | None] | tuple[bytes, bytes]]) -> int:
        """Deletes each report that an (id, sha256(sealed), purge secret) entry proves was opened;
        returns how many.

        A report stored with a purge hash is deleted only if the entry's id and SHA-256 match and
        its secret hashes to the stored purge hash: only someone who decrypted the report knows
        the secret. A report stored without one (before reports carried a secret) is deleted on
        id and SHA-256 alone; an (id, sha256) pair is an entry without a secret, which can delete
        only such a report. An entry that matches nothing deletes nothing. All deletions are one
        transaction. Then the store is rewritten (`compact`): on SQLite, secure_delete has
        overwritten the deleted content, and the write-ahead log is truncated so the old pages do
        not linger there either.
        """
        self._prepare()
        wanted: dict[bytes, set[tuple[bytes, bytes | None]]] = {}
        for entry in entries:
            report_id, digest, secret = entry if len(entry) == 3 else (*entry, None)
            proof = None if secret is None else hash_secret(check_bytes(secret, SECRET_BYTES, "purge secret"))
            wanted.setdefault(check_bytes(report_id, ID_BYTES, "id"), set()).add(
                (check_bytes(digest, DIGEST_BYTES, "digest"), proof)
            )
        deleted = 0
        with mapped_errors(), self._write() as conn:
            for chunk in _chunks(sorted(wanted)):
                rows = conn.execute(
                    sa.select(reports.c.id, reports.c.sealed, reports.c.purge_hash)
                    .where(reports.c.id.in_(chunk))
                    .with_for_update()
                ).all()
                matched = [bytes(row.id) for row in rows if _proven(row, wanted[bytes(row.id)])]
                if matched:
                    deleted += conn.execute(reports.delete().where(reports.c.id.in_(matched))).rowcount
        if wanted:
            # Also when nothing matched: a purge repeated after a busy checkpoint clears the log.
            self.compact()
        return deleted

    def compact(self) -> None:
        """Rewrites the stored reports in the order of their random ids, erasing arrival order.

        Where a row's bytes sit in the database's files follows the order in which rows arrived;
        this rewrite (SQLite: VACUUM, then the write-ahead log checkpointed and truncated;
        PostgreSQL: the spent tokens of past days pruned, then the rows copied, the table
        truncated and the rows written again in id order, in one transaction, see
        postgres.rewrite) leaves the order of the ids instead. The writer process runs it when the
        UTC day changes, and every purge runs it, so the files keep the order of arrival only among
        the reports of the current day.
        """
        self._prepare()
        if self.backend == "sqlite":
            sqlite.rewrite(self._engine)
        else:
            with mapped_errors(), self._engine.connect() as conn:
                # The spent tokens' daily pruning (store/spent.py), in a transaction of its own
                # before the rewrite's.
                with conn.begin():
                    spent.prune(conn, datetime.datetime.now(datetime.UTC).date())
                postgres.rewrite(conn)

    def check_integrity(self) -> None:
        """Raises StoreCorrupt unless the database and the table look sound."""
        self._prepare()
        with mapped_errors(), self._engine.connect() as conn:
            if self.backend == "sqlite":
                sqlite.check_integrity(conn)
            else:
                postgres.check_integrity(conn)
            check_columns(conn)
            check_ids(conn)

    def replace_statuses(self, parsed: StatusFile, sha256: bytes) -> statuses.Replaced:
        """The status table replaced by a verified status file in one transaction, unless its
        version is not newer (RollbackError); the previous rows stay in use on any failure."""
        self._prepare()
        with mapped_errors(), self._write() as conn:
            result = statuses.replace(conn, parsed, sha256)
        if self.backend == "sqlite":
            # The old keys leave the log too; also when unchanged, so that importing the same
            # file again finishes a clearing that a busy database held up.
            try:
                sqlite.truncate_wal(self._engine)
            except StoreUnavailable:
                raise StoreUnavailable(
                    "the statuses were imported, but the database stayed busy and its "
                    "write-ahead log still holds the old ones; import the file again"
                ) from None
        return result

    def status_of(self, receipt: str) -> statuses.Found | None:
        """The status listed for a valid receipt code; salt and row read in one snapshot."""
        self._prepare()
        with mapped_errors(), self._engine.connect() as conn:
            if self.backend == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                return statuses.find(conn, receipt)

    @property
    def shares_spent_tokens(self) -> bool:
        """Whether form tokens are spent here too: on PostgreSQL, the store several backends share."""
        return self.backend == "postgresql"

    def spend_token(self, digest: bytes, day: datetime.date) -> bool:
        """True the first time any backend spends the token with this digest (store/spent.py)."""
        if not self.shares_spent_tokens:
            raise TypeError("only a PostgreSQL store keeps spent tokens")
        digest = check_bytes(digest, spent.DIGEST_BYTES, "digest")
        if type(day) is not datetime.date:
            raise TypeError("day must be a datetime.date (not a datetime)")
        self._prepare()
        with mapped_errors(), self._write() as conn:
            return spent.spend(conn, digest, day)

    def give_back_token(self, digest: bytes) -> None:
        self._prepare()
        with mapped_errors(), self._write() as conn:
            spent.give_back(conn, check_bytes(digest, spent.DIGEST_BYTES, "digest"))

    def status_version(self) -> int | None:
        self._prepare()
        with mapped_errors(), self._engine.connect() as conn:
            return statuses.version(conn)

    def close(self) -> None:
        """Closes every connection; an add after this raises StoreUnavailable."""
        with self._lock:
            self._closed = True
        self._batches.close()
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _prepare(self) -> None:
        if self._prepared or self._closed:  # a closed store refuses the operation itself
            return
        with self._lock:
            if self._prepared:
                return
            with mapped_errors(), self._write() as conn:
                if self.backend == "postgresql":
                    postgres.before_create(conn)
                # On SQLite, BEGIN IMMEDIATE already makes processes create the table in turn.
                create_table(conn)
            self._prepared = True

    def _commit_now(self, sealed: bytes, day: datetime.date, purge_hash: bytes | None) -> bytes:
        """The direct commit, for a store without a writer: one row, one synced transaction
        (commits of this process's threads take turns, see BatchCommitter)."""
        return self.insert_reports([(sealed, day, purge_hash)])[0]

    @contextlib.contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite: take the write lock up front)."""
        with self._engine.connect() as conn:
            conn.execution_options(meldpunt_write=True)
            with conn.begin():
                yield conn

    def _after_fork_in_child(self) -> None:
        # Runs in the child's only thread: nothing can hold these, so replace rather than reuse.
        self._lock = threading.Lock()
        self._batches = BatchCommitter(self._engine)  # the parent's connection: never used here
        self._engine.dispose(close=False)


def _after_fork(ref: weakref.ref[Store]) -> None:
    store = ref()
    if store is not None:
        store._after_fork_in_child()


def _proven(row: sa.Row, proofs: set[tuple[bytes, bytes | None]]) -> bool:
    digest = hashlib.sha256(row.sealed).digest()
    if row.purge_hash is None:  # stored before purge secrets: the sealed bytes' hash suffices
        return any(d == digest for d, _ in proofs)
    return (digest, bytes(row.purge_hash)) in proofs


def _chunks(items: list[bytes]) -> Iterator[list[bytes]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
