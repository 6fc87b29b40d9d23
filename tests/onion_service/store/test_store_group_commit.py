"""Group commit through the writer process: the reports of concurrent add() callers share commits,
and each caller waits for the one holding its row.

Each test forks a real writer (onion_service/process/writer.py) and adds through a Store opened
with `writer=`, as a gunicorn worker does. The writer's commits are watched from here with
listeners on every Engine, registered before the fork so that they run in the writer too; what
they count, and the switches that slow or fail its commits, live in memory shared with it.
"""

import datetime
import mmap
import multiprocessing
import os
import sqlite3
import struct
import threading
import time

import pytest
import sqlalchemy as sa

from onion_service.process.writer import Writer
from onion_service.store import StoreUnavailable, open_store

DAY = datetime.date(2026, 11, 22)
THREADS = 32
PER_THREAD = 10


class WriterCommits:
    """The writer process's commits that stored reports: counted, and optionally slowed down
    (`delay` stands in for a slow disk flush: it runs just before each COMMIT, so rows queue up
    behind a commit the way they do on real hardware) or failed (`failing`: the INSERT has run,
    the COMMIT then fails, as it would on a full disk)."""

    _LAYOUT = struct.Struct("qdq")  # commits, delay in seconds, failing

    def __init__(self) -> None:
        self._shared = mmap.mmap(-1, self._LAYOUT.size)  # MAP_SHARED: the forked writer sees it
        self._test_process = os.getpid()

    def __getitem__(self, index: int) -> int:
        if index != 0:
            raise IndexError(index)
        return self._LAYOUT.unpack_from(self._shared)[0]

    def set(self, *, delay: float | None = None, failing: bool | None = None) -> None:
        commits, old_delay, old_failing = self._LAYOUT.unpack_from(self._shared)
        self._LAYOUT.pack_into(
            self._shared,
            0,
            commits,
            old_delay if delay is None else delay,
            old_failing if failing is None else int(failing),
        )

    def listen(self) -> None:
        sa.event.listen(sa.Engine, "before_cursor_execute", self._on_execute)
        sa.event.listen(sa.Engine, "commit", self._on_commit)

    def remove(self) -> None:
        sa.event.remove(sa.Engine, "before_cursor_execute", self._on_execute)
        sa.event.remove(sa.Engine, "commit", self._on_commit)

    def _on_execute(self, conn, cursor, statement, *args) -> None:
        # "INSERT INTO reports (" is a batch of new reports; the compaction's "INSERT INTO reports
        # SELECT" (PostgreSQL, when the writer starts) rewrites old ones and is not counted.
        if os.getpid() != self._test_process and statement.startswith("INSERT INTO reports ("):
            conn.info["meldpunt_test_inserted"] = True

    def _on_commit(self, conn) -> None:
        # Only the writer's commits of reports: not the test's own, the writer's CREATE TABLE or its compaction.
        if not conn.info.pop("meldpunt_test_inserted", False):
            return
        commits, delay, failing = self._LAYOUT.unpack_from(self._shared)
        self._LAYOUT.pack_into(self._shared, 0, commits + 1, delay, failing)
        if delay:
            time.sleep(delay)
        if failing:
            raise sa.exc.OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error"))


@pytest.fixture
def commits():
    watched = WriterCommits()
    watched.listen()
    yield watched
    watched.remove()


@pytest.fixture
def store(database_url, commits):
    open_store(database_url).close()  # as server.run does: the table exists before the fork
    writer = Writer(database_url, answer_timeout=30)
    writer.start()
    s = open_store(database_url, writer=writer.client())
    yield s
    s.close()
    writer.stop()


def count_commits(commits: WriterCommits, *, delay: float = 0.0) -> WriterCommits:
    """The writer's commits from now on (commits[0]); `delay` before each, as WriterCommits says."""
    commits.set(delay=delay)
    return commits


def run_threads(n: int, target) -> list[BaseException]:
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def body(i):
        barrier.wait()
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001  (collected and asserted on by the test)
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


def test_concurrent_adds_share_commits(store, commits):
    commits = count_commits(commits, delay=0.005)

    def work(i):
        for _ in range(PER_THREAD):
            store.add(os.urandom(100), DAY)

    assert run_threads(THREADS, work) == []
    rows = THREADS * PER_THREAD
    assert store.count() == rows
    # One commit per row would be 320; rows queued behind each commit go together in the next.
    assert commits[0] <= rows // 4, commits[0]


def test_a_lone_add_is_committed_at_once_in_its_own_commit(store, commits):
    commits = count_commits(commits)
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


def test_add_returns_only_after_its_row_is_committed(store, commits, database_url):
    count_commits(commits, delay=0.005)
    seen = []

    def work(i):
        for _ in range(3):
            report_id = store.add(os.urandom(100), DAY)
            seen.append(_visible_elsewhere(database_url, report_id))

    assert run_threads(8, work) == []
    assert seen == [True] * 24


def test_a_failed_commit_fails_every_caller_in_the_batch_and_leaves_no_row(store, commits):
    # Each commit waits a little, so a batch builds up behind the first; the COMMIT then fails.
    commits.set(delay=0.005, failing=True)
    errors = run_threads(16, lambda i: store.add(os.urandom(100), DAY))
    assert len(errors) == 16
    assert all(isinstance(e, StoreUnavailable) for e in errors)
    assert len({id(e) for e in errors}) == 16  # each caller raises its own exception object
    commits.set(failing=False)
    assert store.count() == 0  # the batches rolled back whole
    store.add(os.urandom(100), DAY)
    assert store.count() == 1


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
    # gunicorn forks its workers: the parent's connection to the writer is not the child's.
    store.add(os.urandom(100), DAY)  # the parent's connection to the writer is open now
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
