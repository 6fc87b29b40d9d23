"""Arrival order: where rows sit in the database's files must not keep the order reports came in.

Each report is sealed bytes of full size with a marker of its own; the test reads the database
file (SQLite) or the heap's tuple ids (PostgreSQL) in physical order and compares with the order
of insertion, before and after the rewrite that `Store.compact` does (daily in the writer, and
after every purge).
"""

import datetime
import hashlib
import os
import sqlite3

import pytest

from onion_service.process.writer import Writer
from onion_service.store import open_store

DAY = datetime.date(2026, 11, 22)
ROWS = 40
SEALED_BYTES = 17_000  # a real sealed report's size: it fills overflow (or TOAST) pages


def report(i: int) -> bytes:
    # Random, so nothing compresses, and a tail that is this report's alone.
    return os.urandom(SEALED_BYTES - 32) + hashlib.sha256(b"marker %d" % i).digest()


def add_in_order(store) -> list[bytes]:
    return [store.add(report(i), DAY) for i in range(ROWS)]  # one commit each: arrival order


def physical_order_sqlite(path) -> list[int]:
    """Report numbers in the order their sealed tails appear in the main file (WAL checkpointed)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = path.read_bytes()
    where = {i: data.find(hashlib.sha256(b"marker %d" % i).digest()) for i in range(ROWS)}
    return sorted((i for i in where if where[i] >= 0), key=where.get)  # a purged one is gone


def test_sqlite_rewrite_erases_the_arrival_order(tmp_path):
    path = tmp_path / "reports.sqlite3"
    with open_store(f"sqlite:///{path}") as store:
        ids = add_in_order(store)
        # As they arrived: the test can see the order it claims to erase.
        assert physical_order_sqlite(path) == list(range(ROWS))
        store.compact()
        after = physical_order_sqlite(path)
        assert after != list(range(ROWS))
        assert [ids[i] for i in after] == sorted(ids)  # the random ids' order, nothing else
        assert not os.path.getsize(str(path) + "-wal")  # the log kept no frames of the rewrite
        assert store.count() == ROWS


def test_a_purge_rewrites_the_file(tmp_path):
    path = tmp_path / "reports.sqlite3"
    with open_store(f"sqlite:///{path}") as store:
        ids = add_in_order(store)
        first = next(store.pending())
        assert store.purge([(first.id, first.digest())]) == 1
        after = physical_order_sqlite(path)
        kept = [i for i in range(ROWS) if ids[i] != first.id]
        assert after == sorted(kept, key=lambda i: ids[i])


def test_the_writer_process_rewrites_the_file_when_it_starts(tmp_path):
    # And once a UTC day after that, between batches (writer._compact_daily).
    path = tmp_path / "reports.sqlite3"
    url = f"sqlite:///{path}"
    with open_store(url) as store:
        ids = add_in_order(store)
    assert physical_order_sqlite(path) == list(range(ROWS))
    writer = Writer(url, answer_timeout=10)
    writer.start()
    try:
        writer.client().add(b"x" * 100, DAY)  # answered after the writer's first turn
    finally:
        writer.stop()
    assert [ids[i] for i in physical_order_sqlite(path)] == sorted(ids)


@pytest.mark.postgres
def test_postgres_rewrite_puts_the_heap_in_id_order(postgres_schema_url):
    with open_store(postgres_schema_url) as store:
        ids = add_in_order(store)
        assert _heap(store, "SELECT id FROM reports ORDER BY ctid") == ids
        store.compact()
        assert _heap(store, "SELECT id FROM reports ORDER BY ctid") == sorted(ids)


@pytest.mark.postgres
def test_postgres_rewrite_puts_the_spent_tokens_in_digest_order(postgres_schema_url):
    import datetime

    with open_store(postgres_schema_url) as store:
        digests = [os.urandom(32) for _ in range(50)]
        for digest in digests:
            assert store.spend_token(digest, datetime.date.today())
        query = "SELECT digest FROM spent_tokens ORDER BY ctid"
        assert _heap(store, query) == digests
        store.compact()
        assert _heap(store, query) == sorted(digests)


def _heap(store, query: str) -> list[bytes]:
    """The keys of a PostgreSQL table in the order its rows sit in the heap (ORDER BY ctid)."""
    with store.engine.connect() as conn:
        return [bytes(r[0]) for r in conn.exec_driver_sql(query)]
