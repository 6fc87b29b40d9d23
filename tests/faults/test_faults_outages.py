"""Outages of what the store stands on: a full disk (SQLite on a small tmpfs this test mounts) and
a PostgreSQL server stopped in the middle of a run.

In both, a report that cannot be stored gets the translated 503 page with Retry-After and the
reporter's answers kept; nothing acknowledged is lost; and the running service takes reports again
as soon as the disk has room or the database is back, without a restart.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from onion_service.store import open_store
from tests.faults.faultkit import (
    Ledger,
    Reporters,
    assert_refused_page,
    post_report,
    receipt_of,
    request,
    serving,
    verify_store,
)
from tests.formkit import token
from tests.harness import Server, write_config

# The notice views.py shows when the store refuses a report (msgid in the catalogs).
NOT_SAVED = "Your report could not be saved just now. Please try again in a few minutes. Your answers are still below."
TMPFS_BYTES = 6 << 20  # room for the database and a few dozen reports; filled to the brim below


def assert_not_saved_page(reply, lang: str, description: str) -> None:
    assert_refused_page(reply, lang, NOT_SAVED, description)


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of TMPFS_BYTES mounted for this test only (and always unmounted)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs make test as root)")
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES},mode=0700", "tmpfs", str(mount_point)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True, capture_output=True, timeout=30)


def fill(path: Path, max_bytes: int) -> int:
    """Writes a filler file until the filesystem refuses (ENOSPC); returns the bytes written."""
    written = 0
    chunk = b"\0" * 4096
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        while written < max_bytes:
            try:
                written += os.write(fd, chunk)
            except OSError as exc:
                if exc.errno == 28:  # ENOSPC
                    return written
                raise
    finally:
        os.close(fd)
    raise AssertionError(f"the small disk took {max_bytes} bytes without filling up")


def test_disk_full_gives_translated_503_loses_nothing_and_recovers_without_restart(tmp_path, small_disk, staff):
    data_dir = small_disk / "data"
    # No free-space reserve: the disk is a few MiB; the budget refuses only when it is really full.
    config = write_config(
        tmp_path / "meldpunt.toml", data_dir, staff.recipient, workers=1, threads=4, limits={"min_free_mb": 0}
    )
    server = Server(config, tmp_path / "logs")
    ledger = Ledger()
    with serving(server, f"sqlite:///{data_dir / 'reports.sqlite3'}") as store:
        for i in range(5):  # a few reports before the disk fills
            reply = post_report(server.port, "fr", f"before-full-{i}", token(data_dir, "fr"))
            ledger.record(f"before-full-{i}", reply)
            assert receipt_of(reply), reply.status
        filler = small_disk / "filler"
        fill(filler, TMPFS_BYTES)

        # Past the full point: SQLite may still fit a report or two in space it already holds;
        # once it cannot, every report is refused with the translated 503 page.
        refused = 0
        for i in range(60):
            description = f"while-full-{i}"
            reply = post_report(server.port, "fr", description, token(data_dir, "fr"))
            ledger.record(description, reply)
            if reply.status == 503:
                assert_not_saved_page(reply, "fr", description)
                refused += 1
                if refused >= 5:
                    break
            else:
                assert receipt_of(reply), reply.status
        assert refused >= 5, f"the full disk never refused a report: {dict(ledger.statuses)}"
        assert server.running, "gunicorn died on the full disk"
        assert request(server.port, "GET", "/fr/").status == 200, "the form page broke on the full disk"

        # Space returns: the same running service takes reports again at once.
        filler.unlink()
        freed_at = time.monotonic()
        for attempt in range(50):
            description = f"after-full-{attempt}"
            reply = post_report(server.port, "fr", description, token(data_dir, "fr"))
            ledger.record(description, reply)
            if receipt_of(reply):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"no report accepted after space returned: {dict(ledger.statuses)}")
        recovery = time.monotonic() - freed_at
        for i in range(5):
            reply = post_report(server.port, "fr", f"after-full-more-{i}", token(data_dir, "fr"))
            ledger.record(f"after-full-more-{i}", reply)
            assert receipt_of(reply), reply.status
        counts = verify_store(store, staff, ledger.acked)
        print(
            f"\ndisk full: refused {refused} with 503, recovered {recovery:.2f} s after space returned, "
            f"{counts}, reports lost 0",
            file=sys.stderr,
        )


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_stopped_mid_run_gives_503_with_retry_after_and_recovers(tmp_path, staff, postgres_server):
    schema = "faults_down_" + os.urandom(4).hex()
    url = postgres_server.isolated_url(schema)
    data_dir = tmp_path / "data"
    config = write_config(tmp_path / "meldpunt.toml", data_dir, staff.recipient, database_url=url, workers=2, threads=4)
    server = Server(config, tmp_path / "logs")
    ledger = Ledger()
    try:
        with serving(server, url) as store:
            reporters = Reporters(
                lambda: server.port, data_dir, ledger, count=3, tag="bg", max_seconds=40, pause=0.05, lang="de"
            )
            try:
                time.sleep(0.5)
                postgres_server.stop("fast")
                stopped_at = time.monotonic()
                replies = [
                    post_report(server.port, "de", f"while-down-{i}", token(data_dir, "de"), timeout=30)
                    for i in range(5)
                ]
                slowest = max(r.seconds for r in replies)
                for i, reply in enumerate(replies):
                    assert_not_saved_page(reply, "de", f"while-down-{i}")
                assert request(server.port, "GET", "/de/").status == 200, "the form page needs no database"
                # A worker that crashes now is replaced by one that boots without the database: it
                # must serve (503 for reports), not fail to boot and take gunicorn down with it.
                old_workers = set(server.workers())
                assert server.kill_worker()
                deadline = time.monotonic() + 20
                while not (set(server.workers()) - old_workers) and time.monotonic() < deadline:
                    time.sleep(0.05)
                # A worker that cannot boot makes gunicorn halt: wait on the master's exit, bounded
                # by the new worker's boot time.
                server.exits_within(1.0)
                assert server.running, (
                    f"gunicorn stopped after a worker restarted without the database: {server.log_tail()}"
                )
                for i in range(4):
                    reply = post_report(
                        server.port, "de", f"after-worker-restart-{i}", token(data_dir, "de"), timeout=30
                    )
                    assert_not_saved_page(reply, "de", f"after-worker-restart-{i}")
                time.sleep(1.0)
                postgres_server.start()
                started_at = time.monotonic()
                for attempt in range(100):
                    reply = post_report(server.port, "de", f"after-{attempt}", token(data_dir, "de"))
                    ledger.record(f"after-{attempt}", reply)
                    if receipt_of(reply):
                        break
                    assert reply.status == 503, reply.status
                    time.sleep(0.1)
                else:
                    raise AssertionError("no report accepted after PostgreSQL came back")
                recovery = time.monotonic() - started_at
                time.sleep(0.5)
            finally:
                reporters.stop()
            assert set(ledger.statuses) <= {200, 503}, dict(ledger.statuses)
            assert ledger.statuses[503] >= 1
            counts = verify_store(store, staff, ledger.acked)
            print(
                f"\npostgres down {started_at - stopped_at:.1f} s: slowest 503 {slowest:.2f} s, recovered "
                f"{recovery:.2f} s after it returned, {counts}, statuses {dict(ledger.statuses)}, reports lost 0",
                file=sys.stderr,
            )
    finally:
        if not postgres_server.running:
            postgres_server.start()
        postgres_server.drop_isolated(schema)


@pytest.mark.postgres
def test_store_opened_while_postgres_is_down_tolerates_the_outage_only_when_asked(staff, postgres_server):
    from onion_service.store import StoreUnavailable

    schema = "faults_open_" + os.urandom(4).hex()
    url = postgres_server.isolated_url(schema)
    try:
        postgres_server.stop("fast")
        with pytest.raises(StoreUnavailable):
            open_store(url)  # the default: a start-up fails loudly
        store = open_store(url, tolerate_outage=True)
        try:
            with pytest.raises(StoreUnavailable):
                store.add(b"x" * 100, datetime.date(2026, 1, 2))
            postgres_server.start()
            store.add(b"x" * 100, datetime.date(2026, 1, 2))  # the table is made on first use
            assert store.count() == 1
            store.check_integrity()
        finally:
            store.close()
    finally:
        if not postgres_server.running:
            postgres_server.start()
        postgres_server.drop_isolated(schema)
