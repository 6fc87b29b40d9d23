"""Group commit: concurrent add() callers share commits, and each waits for the one holding its row."""

import datetime
import multiprocessing
import os
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

from onion_service.store import StoreUnavailable, open_store

DAY = datetime.date(2026, 11, 22)
THREADS = 32
PER_THREAD = 10


@pytest.fixture
def store(database_url):
    s = open_store(database_url)
    yield s
    s.close()


def count_commits(engine, *, delay: float = 0.0) -> list[int]:
    """Counts commits on `engine`; `delay` stands in for a slow disk flush (it runs just before
    each COMMIT), so rows queue up behind a commit the way they do on real hardware."""
    commits = [0]

    def on_commit(conn):
        commits[0] += 1
        if delay:
            time.sleep(delay)

    sa.event.listen(engine, "commit", on_commit)
    return commits


def run_threads(n: int, target) -> list[BaseException]:
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def body(i):
        barrier.wait()
        try:
            target(i)
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    return errors


def test_concurrent_adds_get_distinct_ids_and_every_row_is_stored(store):
    results: dict[int, list[tuple[bytes, bytes]]] = {}

    def work(i):
        results[i] = []
        for k in range(PER_THREAD):
            blob = os.urandom(200) + bytes([i, k])
            results[i].append((store.add(blob, DAY), blob))

    assert run_threads(THREADS, work) == []
    given = dict(pair for pairs in results.values() for pair in pairs)
    assert len(given) == THREADS * PER_THREAD  # distinct ids
    assert {r.id: r.sealed for r in store.pending()} == given


def test_concurrent_adds_share_commits(store):
    commits = count_commits(store.engine, delay=0.005)

    def work(i):
        for _ in range(PER_THREAD):
            store.add(os.urandom(100), DAY)

    assert run_threads(THREADS, work) == []
    rows = THREADS * PER_THREAD
    assert store.count() == rows
    # One commit per row would be 320; rows queued behind each commit go together in the next.
    assert commits[0] <= rows // 4, commits[0]


def test_a_lone_add_is_committed_at_once_in_its_own_commit(store):
    commits = count_commits(store.engine)
    for n in range(5):
        store.add(os.urandom(100), DAY)
        assert commits[0] == n + 1


def _visible_elsewhere(database_url: str, report_id: bytes) -> bool:
    """Looks for the row through a connection of its own, outside the store's engine: a row is
    visible there only once the transaction that wrote it has committed."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database)
        try:
            return conn.execute("SELECT 1 FROM reports WHERE id = ?", (report_id,)).fetchone() is not None
        finally:
            conn.close()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT 1 FROM reports WHERE id = :id"), {"id": report_id}).first() is not None
    finally:
        engine.dispose()


def test_add_returns_only_after_its_row_is_committed(store, database_url):
    count_commits(store.engine, delay=0.005)
    seen = []

    def work(i):
        for _ in range(3):
            report_id = store.add(os.urandom(100), DAY)
            seen.append(_visible_elsewhere(database_url, report_id))

    assert run_threads(8, work) == []
    assert seen == [True] * 24


def test_a_failed_commit_fails_every_caller_in_the_batch_and_leaves_no_row(store):
    failing = threading.Event()
    failing.set()

    def on_commit(conn):
        time.sleep(0.005)  # let a batch build up behind the first commit
        if failing.is_set():
            # The INSERT has run; the COMMIT now fails, as it would on a full disk.
            raise sa.exc.OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error"))

    sa.event.listen(store.engine, "commit", on_commit)
    errors = run_threads(16, lambda i: store.add(os.urandom(100), DAY))
    assert len(errors) == 16
    assert all(isinstance(e, StoreUnavailable) for e in errors)
    assert len({id(e) for e in errors}) == 16  # each caller raises its own exception object
    failing.clear()
    assert store.count() == 0  # the batches rolled back whole
    store.add(os.urandom(100), DAY)
    assert store.count() == 1


def test_the_committer_thread_starts_on_first_use_and_stops_on_close(database_url):
    def committers():
        return [t for t in threading.enumerate() if t.name == "meldpunt-group-commit"]

    before = len(committers())
    s = open_store(database_url)
    assert len(committers()) == before  # opening does no such work
    s.add(os.urandom(100), DAY)
    assert len(committers()) == before + 1
    s.add(os.urandom(100), DAY)
    assert len(committers()) == before + 1
    s.close()
    assert len(committers()) == before


def _child_adds(store, n_threads: int, per_thread: int, out) -> None:
    ids = []
    lock = threading.Lock()

    def work():
        for _ in range(per_thread):
            report_id = store.add(os.urandom(100), DAY)
            with lock:
                ids.append(report_id)

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.send(ids)
    out.close()


def test_a_store_opened_before_fork_works_in_every_worker(store):
    # gunicorn forks its workers: the parent's committer thread does not exist in a child.
    store.add(os.urandom(100), DAY)  # the parent's committer is running now
    ctx = multiprocessing.get_context("fork")
    pipes, workers = [], []
    for _ in range(2):
        receiver, sender = ctx.Pipe(duplex=False)
        worker = ctx.Process(target=_child_adds, args=(store, 4, 10, sender))
        worker.start()
        sender.close()
        pipes.append(receiver)
        workers.append(worker)
    parent_ids = [store.add(os.urandom(100), DAY) for _ in range(10)]  # while the children write
    child_ids = [report_id for receiver in pipes for report_id in receiver.recv()]
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    assert len(child_ids) == 80
    assert {r.id for r in store.pending()} >= set(child_ids) | set(parent_ids)
    assert store.count() == 1 + 80 + 10
