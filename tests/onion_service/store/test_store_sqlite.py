"""SQLite specifics: file modes, the pragmas on every connection, secure deletion, locking, full disks.

The stores here have no writer process: each add is a direct commit, one row in one synced transaction.
"""

import datetime
import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading

import pytest

from onion_service.store import StoreConfigError, StoreUnavailable, open_store

DAY = datetime.date(2026, 11, 22)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def lax_umask():
    # The serving process may well run with a permissive umask; the files must be 0600 anyway.
    old = os.umask(0o000)
    yield
    os.umask(old)


def test_database_wal_and_shm_files_are_0600(tmp_path, lax_umask):
    path = tmp_path / "reports.sqlite3"
    with open_store(f"sqlite:///{path}") as s:
        s.add(os.urandom(100), DAY)
        for name in ("reports.sqlite3", "reports.sqlite3-wal", "reports.sqlite3-shm"):
            assert (tmp_path / name).exists(), name
            assert mode(tmp_path / name) == 0o600, name


def test_an_existing_lax_database_file_is_tightened(tmp_path, lax_umask):
    path = tmp_path / "reports.sqlite3"
    with open_store(f"sqlite:///{path}") as s:
        s.add(os.urandom(100), DAY)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.chmod(f"{path}{suffix}", 0o644)
    with open_store(f"sqlite:///{path}") as s:
        assert s.count() == 1
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{path}{suffix}"):
                assert mode(f"{path}{suffix}") == 0o600, suffix


def test_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(StoreConfigError, match="directory"):
        open_store(f"sqlite:///{tmp_path / 'nope' / 'reports.sqlite3'}")


def test_every_pooled_connection_has_the_durability_pragmas(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'r.sqlite3'}", lock_timeout=3.5) as s:
        # Several connections at once, so the pool has to open new ones, then fresh ones again.
        for _ in range(2):
            conns = [s.engine.connect() for _ in range(3)]
            try:
                for conn in conns:
                    pragmas = {
                        name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                        for name in ("journal_mode", "synchronous", "secure_delete", "busy_timeout", "temp_store")
                    }
                    assert pragmas == {
                        "journal_mode": "wal",
                        "synchronous": 2,  # FULL
                        "secure_delete": 1,
                        "busy_timeout": 3500,
                        "temp_store": 2,  # MEMORY
                    }
            finally:
                for conn in conns:
                    conn.close()
            s.engine.dispose()


def _file_bytes(tmp_path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("reports.sqlite3"))


@pytest.mark.parametrize("purge", [False, True])
def test_purged_content_is_gone_from_the_database_and_the_wal(tmp_path, purge):
    path = tmp_path / "reports.sqlite3"
    kept, doomed = os.urandom(17_000), os.urandom(17_000)
    with open_store(f"sqlite:///{path}") as s:
        s.add(kept, DAY)
        doomed_id = s.add(doomed, DAY)
        # Move the report's pages from the WAL into the database file, where secure_delete
        # has to overwrite them (a purge before any checkpoint would only test the WAL).
        raw = s.engine.raw_connection()
        assert raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
        raw.close()
        assert doomed[:64] in path.read_bytes()
        if purge:
            assert s.purge([(doomed_id, hashlib.sha256(doomed).digest())]) == 1
            # TRUNCATE checkpoint: the log that held the report's pages is empty again.
            assert os.path.getsize(f"{path}-wal") == 0
        data = _file_bytes(tmp_path)
    # Probe several slices of the report; secure_delete zeroes the freed pages.
    probes = [doomed[i : i + 64] for i in range(0, 17_000 - 64, 2000)]
    found = [p in data for p in probes]
    assert found == [not purge] * len(probes)
    assert kept[5000:5064] in data  # the report that stayed is still there


def test_a_write_lock_held_too_long_is_store_unavailable_and_leaves_nothing(tmp_path):
    path = tmp_path / "reports.sqlite3"
    with open_store(f"sqlite:///{path}", lock_timeout=0.3) as s:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        errors = []

        def add():
            try:
                s.add(os.urandom(100), DAY)
            except StoreUnavailable as exc:
                errors.append(exc)

        threads = [threading.Thread(target=add) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(errors) == 8
        assert all("locked" in str(e) for e in errors)
        other.execute("ROLLBACK")
        other.close()
        assert s.count() == 0
        s.add(os.urandom(100), DAY)  # and it recovers once the lock is gone
        assert s.count() == 1


DISK_FULL_CHILD = textwrap.dedent(
    """
    import datetime, os, resource, signal, sys
    from onion_service.store import StoreUnavailable, open_store

    store = open_store("sqlite:///" + sys.argv[1])
    store.add(os.urandom(17_000), datetime.date(2026, 11, 22))  # creates the WAL and -shm files
    # From here on no file may grow past its current size plus ~200 KB: a disk filling up.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = os.path.getsize(sys.argv[1] + "-wal") + 200_000
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        for _ in range(1000):
            print(store.add(os.urandom(17_000), datetime.date(2026, 11, 22)).hex(), flush=True)
    except StoreUnavailable as exc:
        print("UNAVAILABLE", exc, flush=True)
    """
)


def test_a_full_disk_is_store_unavailable_and_every_acknowledged_report_stays(tmp_path):
    path = tmp_path / "reports.sqlite3"
    child = subprocess.run(
        [sys.executable, "-c", DISK_FULL_CHILD, str(path)], capture_output=True, text=True, timeout=60
    )
    assert child.returncode == 0, child.stderr
    lines = child.stdout.split("\n")
    last = [line for line in lines if line][-1]
    assert last.startswith("UNAVAILABLE"), last
    acknowledged = {bytes.fromhex(line) for line in lines if line and not line.startswith("UNAVAILABLE")}
    assert 3 <= len(acknowledged) < 1000
    with open_store(f"sqlite:///{path}") as s:
        s.check_integrity()
        stored = {r.id for r in s.pending()}
    assert acknowledged <= stored
    assert len(stored) == len(acknowledged) + 1


def test_a_purge_whose_log_cannot_be_cleared_says_so_and_a_repeat_clears_it(tmp_path):
    path = tmp_path / "reports.sqlite3"
    blob = os.urandom(17_000)
    with open_store(f"sqlite:///{path}", lock_timeout=0.3) as s:
        report_id = s.add(blob, DAY)
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM reports").fetchone()  # holds a snapshot: blocks TRUNCATE
        with pytest.raises(StoreUnavailable, match="purge again"):
            s.purge([(report_id, hashlib.sha256(blob).digest())])
        assert s.count() == 0  # the deletion itself was committed
        reader.execute("COMMIT")
        reader.close()
        assert s.purge([(report_id, hashlib.sha256(blob).digest())]) == 0
        assert os.path.getsize(f"{path}-wal") == 0


def test_a_symlinked_database_path_is_refused(tmp_path):
    (tmp_path / "elsewhere.sqlite3").write_bytes(b"")
    (tmp_path / "reports.sqlite3").symlink_to(tmp_path / "elsewhere.sqlite3")
    with pytest.raises(StoreConfigError, match="cannot open"):
        open_store(f"sqlite:///{tmp_path / 'reports.sqlite3'}")
