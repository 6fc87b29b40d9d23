"""The writer process (onion_service/process/writer.py): workers' reports in, synced commits out.

Each test forks a real writer on a real database (SQLite and PostgreSQL) and talks to it as a
worker does, through WriterClient and through a Store opened with `writer=`.
"""

import datetime
import os
import signal
import socket
import struct
import threading
import time

import pytest

from onion_service.process.writer import PROCESS_NAME, Writer
from onion_service.store import StoreUnavailable, open_store

DAY = datetime.date(2026, 11, 22)


@pytest.fixture
def writer(database_url):
    open_store(database_url).close()  # as server.run does: the table exists before the fork
    w = Writer(database_url, answer_timeout=10)
    w.start()
    yield w
    w.stop()


def sealed(i: int) -> bytes:
    return f"sealed-{i}-".encode() + bytes(1000)


def stored(database_url) -> dict[bytes, tuple[bytes, datetime.date]]:
    with open_store(database_url) as s:
        return {r.id: (r.sealed, r.day) for r in s.pending()}


def test_reports_from_many_threads_are_committed_with_the_ids_returned(writer, database_url):
    client = writer.client()
    ids: dict[int, bytes] = {}

    def send(start: int) -> None:
        for i in range(start, start + 10):
            ids[i] = client.add(sealed(i), DAY)

    threads = [threading.Thread(target=send, args=(t * 10,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = stored(database_url)
    assert len(ids) == 160 and len(rows) == 160
    assert all(rows[report_id] == (sealed(i), DAY) for i, report_id in ids.items())


def test_a_store_opened_with_the_writer_sends_its_reports_there(writer, database_url):
    with open_store(database_url, writer=writer.client()) as store:
        report_id = store.add(sealed(1), DAY)
        # Reads still go straight to the database.
        assert [r.id for r in store.pending()] == [report_id]
    os.kill(writer.pid, signal.SIGSTOP)  # from here on, only the writer could have stored it
    try:
        with open_store(database_url, writer=writer.client()) as store:
            assert store.count() == 1
    finally:
        os.kill(writer.pid, signal.SIGCONT)


def test_a_report_sent_while_the_writer_restarts_waits_for_the_new_one(writer, database_url):
    client = writer.client()
    first = client.add(sealed(1), DAY)
    os.kill(writer.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while writer.alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not writer.alive()
    result: list[object] = []
    sender = threading.Thread(target=lambda: result.append(client.add(sealed(2), DAY)))
    sender.start()  # its old connection is dead: it reconnects, and its report waits in line
    time.sleep(0.3)
    assert not result
    assert writer.restart_if_gone() is True
    assert writer.restart_if_gone() is False
    sender.join(10)
    assert len(result) == 1
    assert set(stored(database_url)) == {first, result[0]}
    assert stored(database_url)[result[0]][0] == sealed(2)


def test_a_writer_that_stays_gone_makes_reports_unavailable(database_url):
    open_store(database_url).close()
    w = Writer(database_url, answer_timeout=0.5)
    w.start()
    client = w.client()
    client.add(sealed(0), DAY)
    os.kill(w.pid, signal.SIGKILL)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        client.add(sealed(1), DAY)
    assert time.monotonic() - started < 3
    w.stop()


def test_a_writer_that_does_not_answer_in_time_is_unavailable(database_url):
    open_store(database_url).close()
    w = Writer(database_url, answer_timeout=0.5)
    w.start()
    try:
        client = w.client()
        client.add(sealed(0), DAY)
        os.kill(w.pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            client.add(sealed(1), DAY)
        assert 0.4 < time.monotonic() - started < 3
    finally:
        os.kill(w.pid, signal.SIGCONT)
        w.stop()


def test_malformed_framing_closes_that_connection_only(writer, database_url):
    mine, theirs = socket.socketpair()
    socket.send_fds(writer._to_writer, [b"c"], [theirs.fileno()])
    theirs.close()
    mine.sendall(struct.pack("!IIB32s", 0, DAY.toordinal(), 0, b""))  # a zero-length report: never sent
    mine.settimeout(5)
    assert mine.recv(64) == b""  # closed, without an answer
    mine.close()
    assert writer.client().add(sealed(1), DAY)  # everyone else carries on
    assert len(stored(database_url)) == 1


def test_stop_ends_the_process_and_it_is_named_for_the_sysadmin(writer):
    deadline = time.monotonic() + 5
    while True:  # the new process names itself as it starts
        with open(f"/proc/{writer.pid}/comm", "rb") as f:
            if f.read().strip() == PROCESS_NAME:
                break
        assert time.monotonic() < deadline, "the writer did not name itself"
        time.sleep(0.01)
    pid = writer.pid
    writer.stop()
    assert not writer.alive()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_writer_leaves_when_its_master_is_gone(database_url):
    # A master killed with SIGKILL cannot stop its writer: the writer notices and exits.
    open_store(database_url).close()
    read_pid, write_pid = os.pipe()
    master = os.fork()
    if master == 0:
        try:
            w = Writer(database_url, answer_timeout=5)
            w.start()
            os.write(write_pid, str(w.pid).encode())
            time.sleep(60)
        finally:
            os._exit(0)
    os.close(write_pid)
    writer_pid = int(os.read(read_pid, 32))
    os.close(read_pid)
    os.kill(master, signal.SIGKILL)
    os.waitpid(master, 0)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(writer_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(writer_pid, signal.SIGKILL)
    pytest.fail("the writer outlived its master by more than 5 s")


def test_a_sigterm_to_the_whole_service_does_not_stop_the_writer_before_its_workers(writer, database_url):
    # systemd's default stop sends SIGTERM to every process of the service at once; workers
    # finishing their last reports still need the writer, so only the master's stop ends it.
    client = writer.client()
    os.kill(writer.pid, signal.SIGTERM)
    os.kill(writer.pid, signal.SIGINT)
    time.sleep(0.2)
    assert writer.alive()
    assert client.add(sealed(1), DAY)
    assert len(stored(database_url)) == 1
