"""The store's semantics, on SQLite and on the real PostgreSQL server (database_url fixture).

The stores here have no writer process: each add is a direct commit, one row in one synced
transaction (test_store_group_commit.py and test_store_writer_process.py take the server's path).
"""

import datetime
import hashlib
import os

import pytest
import sqlalchemy as sa

import onion_service.store.store  # noqa: F401  (the module whose CHUNK a test shrinks)
from crypto.errors import Error
from onion_service import store as store_module
from onion_service.store import StoreConfigError, StoredReport, StoreUnavailable, open_store

DAY = datetime.date(2026, 11, 22)


def sealed_blob(n: int = 0, size: int = 17_000) -> bytes:
    # Random bytes stand in for ciphertext; the store must give back exactly what it was given.
    return os.urandom(size - 4) + n.to_bytes(4, "big")


@pytest.fixture
def store(database_url):
    s = open_store(database_url)
    yield s
    s.close()


def test_add_returns_distinct_random_ids_and_stores_exactly_what_was_given(store):
    given = {}
    for n in range(5):
        blob = sealed_blob(n)
        report_id = store.add(blob, DAY - datetime.timedelta(days=n))
        assert isinstance(report_id, bytes) and len(report_id) == 16
        given[report_id] = (blob, DAY - datetime.timedelta(days=n))
    assert store.count() == 5
    got = {r.id: (r.sealed, r.day) for r in store.pending()}
    assert got == given
    # pending() yields StoredReport tuples in id order (random, so arrival order is not kept).
    reports = list(store.pending())
    assert all(isinstance(r, StoredReport) for r in reports)
    assert [r.id for r in reports] == sorted(given)


def test_the_table_has_exactly_the_five_columns_and_holds_only_what_was_given(store, database_url):
    blob = sealed_blob()
    proof = hashlib.sha256(b"secret").digest()
    report_id = store.add(blob, DAY, proof)
    engine = sa.create_engine(database_url)
    try:
        columns = {c["name"] for c in sa.inspect(engine).get_columns("reports")}
        assert columns == {"id", "sealed", "day", "exported", "purge_hash"}
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT * FROM reports").all()
            tables = sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    # The statuses: store/statuses.py; the tokens spent on any backend sharing PostgreSQL: store/spent.py.
    shared = ["spent_tokens"] if store.backend == "postgresql" else []
    assert sorted(tables) == sorted(["reports", "status_file", "statuses", *shared])
    assert len(rows) == 1
    row = dict(rows[0]._mapping)
    assert bytes(row["id"]) == report_id
    assert bytes(row["sealed"]) == blob
    assert str(row["day"]) == "2026-11-22"  # the day only: SQLite keeps it as text
    assert not row["exported"]
    assert bytes(row["purge_hash"]) == proof


def test_a_table_from_before_purge_secrets_gets_the_column_and_keeps_its_rows(database_url):
    engine = sa.create_engine(database_url)
    old = sa.MetaData()
    sa.Table(
        "reports",
        old,
        sa.Column("id", sa.LargeBinary(16), primary_key=True),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("exported", sa.Boolean, nullable=False),
        sqlite_with_rowid=False,
    )
    try:
        with engine.begin() as conn:
            old.create_all(conn)
            conn.execute(
                old.tables["reports"].insert(), [{"id": b"\1" * 16, "sealed": b"old", "day": DAY, "exported": False}]
            )
    finally:
        engine.dispose()
    with open_store(database_url) as s:
        [row] = list(s.pending())
        assert row.id == b"\1" * 16 and row.sealed == b"old"
        # Stored before purge secrets: id and hash of the sealed bytes still purge it.
        assert s.purge([(row.id, row.digest(), None)]) == 1


def test_purge_needs_the_secret_whose_hash_was_stored(store):
    blob, secret = sealed_blob(), os.urandom(32)
    report_id = store.add(blob, DAY, hashlib.sha256(secret).digest())
    digest = hashlib.sha256(blob).digest()
    assert store.purge([(report_id, digest)]) == 0  # id and hash alone: anyone with the bundle has them
    assert store.purge([(report_id, digest, os.urandom(32))]) == 0
    assert store.purge([(report_id, os.urandom(32), secret)]) == 0  # the secret with other bytes
    assert store.purge([(report_id, digest, secret)]) == 1


def test_sqlite_table_has_no_hidden_rowid(tmp_path):
    # A rowid would count reports in arrival order; the table is WITHOUT ROWID.
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    with open_store(url) as s:
        s.add(sealed_blob(), DAY)
        with s.engine.connect() as conn, pytest.raises(sa.exc.OperationalError, match="rowid"):
            conn.exec_driver_sql("SELECT rowid FROM reports").all()


def test_mark_exported_and_the_exported_filter(store):
    ids = [store.add(sealed_blob(n), DAY) for n in range(4)]
    assert store.mark_exported(ids[:2] + [b"\0" * 16]) == 2  # an unknown id changes nothing
    assert store.count() == 4
    assert store.count(exported=True) == 2
    assert store.count(exported=False) == 2
    assert {r.id for r in store.pending(exported=True)} == set(ids[:2])
    assert {r.id for r in store.pending(exported=False)} == set(ids[2:])
    assert {r.id for r in store.pending()} == set(ids)  # pending: everything not yet purged
    assert store.mark_exported([]) == 0


def test_purge_deletes_only_exact_id_and_hash_matches(store):
    blobs = [sealed_blob(n) for n in range(5)]
    ids = [store.add(b, DAY) for b in blobs]
    digest = [hashlib.sha256(b).digest() for b in blobs]
    pairs = [
        (ids[0], digest[0]),  # exact: deleted
        (ids[1], digest[2]),  # right id, another report's hash: kept
        (ids[2], hashlib.sha256(blobs[2] + b"x").digest()),  # hash of different content: kept
        (os.urandom(16), digest[3]),  # unknown id with a real hash: nothing
        (ids[4], digest[4]),  # exact: deleted
        (ids[4], digest[4]),  # repeated: counted once
    ]
    assert store.purge(pairs) == 2
    assert {r.id for r in store.pending()} == {ids[1], ids[2], ids[3]}
    assert store.purge([(ids[0], digest[0])]) == 0  # already gone
    assert store.purge([]) == 0
    # StoredReport.digest() is the hash purge matches on.
    remaining = list(store.pending())
    assert store.purge((r.id, r.digest()) for r in remaining) == 3
    assert store.count() == 0


def test_purge_rejects_malformed_pairs_before_deleting_anything(store):
    blob = sealed_blob()
    report_id = store.add(blob, DAY)
    good = (report_id, hashlib.sha256(blob).digest())
    with pytest.raises(ValueError):
        store.purge([good, (report_id[:15], hashlib.sha256(blob).digest())])
    with pytest.raises(ValueError):
        store.purge([good, (report_id, b"short")])
    assert store.count() == 1


def test_pending_streams_in_chunks(store, monkeypatch):
    monkeypatch.setattr(store_module.store, "CHUNK", 7)
    ids = {store.add(sealed_blob(n, size=64), DAY) for n in range(20)}
    selects = []

    def count_selects(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT") and "reports" in statement:
            selects.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count_selects)
    iterator = store.pending()
    first = next(iterator)
    assert len(selects) == 1  # one chunk read, not the table
    rest = list(iterator)
    assert {first.id} | {r.id for r in rest} == ids
    assert len(rest) == 19
    assert len(selects) == 3  # 7 + 7 + 6 rows


def test_rows_of_the_real_size_survive_a_reopen(database_url):
    blobs = {}
    with open_store(database_url) as s:
        for n in range(3):
            blob = sealed_blob(n)
            blobs[s.add(blob, DAY)] = blob
    with open_store(database_url) as s:
        assert {r.id: r.sealed for r in s.pending()} == blobs
        s.check_integrity()


@pytest.mark.parametrize(
    ("sealed", "day", "error"),
    [
        ("text", DAY, TypeError),
        (b"", DAY, ValueError),
        (b"x" * (store_module.MAX_SEALED_BYTES + 1), DAY, ValueError),
        (b"x", datetime.datetime(2026, 11, 22, 13, 5), TypeError),  # an exact time: never stored
        (b"x", "2026-11-22", TypeError),
    ],
)
def test_add_refuses_malformed_input_and_stores_nothing(store, sealed, day, error):
    with pytest.raises(error):
        store.add(sealed, day)
    assert store.count() == 0


def test_check_integrity_passes_on_a_sound_database(store):
    store.add(sealed_blob(), DAY)
    store.check_integrity()


def test_check_integrity_detects_a_damaged_sqlite_file(tmp_path):
    path = tmp_path / "r.sqlite3"
    with open_store(f"sqlite:///{path}") as s:
        for n in range(20):
            s.add(sealed_blob(n), DAY)
        raw = s.engine.raw_connection()
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
    # Overwrite pages in the middle of the file (not the header) with garbage.
    with open(path, "r+b") as f:
        f.seek(4096 * 3)
        f.write(b"\xff" * 4096 * 4)
    with open_store(f"sqlite:///{path}") as s:
        with pytest.raises(store_module.StoreCorrupt) as info:
            s.check_integrity()
    assert isinstance(info.value, Error)


def test_unknown_columns_are_refused(tmp_path):
    # A table that grew a column (a timestamp, say) must not be used silently.
    path = tmp_path / "r.sqlite3"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE reports (id BLOB PRIMARY KEY, sealed BLOB, day DATE, exported BOOLEAN, created_at TEXT)"
        )
    engine.dispose()
    with pytest.raises(StoreConfigError, match="created_at"):
        open_store(f"sqlite:///{path}")


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "mysql://u@localhost/db", "not a url", "sqlite+aiosqlite:///x.db"],
)
def test_unfit_database_urls_are_refused(url):
    with pytest.raises(StoreConfigError):
        open_store(url)


def test_the_store_is_closed_after_close(database_url):
    s = open_store(database_url)
    s.add(sealed_blob(), DAY)
    s.close()
    with pytest.raises(StoreUnavailable):
        s.add(sealed_blob(), DAY)
