"""Invariant 4: every report whose id add() returned is still there after a crash.

crash_writer.py adds through a writer process of its own, as the server's workers do: the crash
kills both (the process that commits, and the one that holds the acknowledgements) at once.
"""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from onion_service.store import open_store
from tests.harness import live_processes

WRITER = Path(__file__).with_name("crash_writer.py")


class Writer:
    """crash_writer.py in a process group of its own (with the writer process it forks), its
    acknowledged ids collected as they are printed."""

    def __init__(self, database_url: str, threads: int = 8):
        self.process = subprocess.Popen(
            [sys.executable, str(WRITER), database_url, str(threads)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.lines: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            if line.endswith(b"\n"):  # a line cut short by the kill was never fully printed
                self.lines.append(line.strip())

    def wait_for(self, n: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged()) < n:
            assert self.process.poll() is None, self.process.stderr.read().decode()
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.01)

    def kill(self) -> None:
        """SIGKILL to crash_writer.py and its writer process at once; returns once both are gone."""
        os.killpg(self.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(pgid == self.process.pid for _, _, pgid in live_processes()):
            assert time.monotonic() < deadline, "the killed processes did not go"
            time.sleep(0.01)

    def acknowledged(self) -> set[bytes]:
        return {bytes.fromhex(line.decode()) for line in list(self.lines) if line != b"UNAVAILABLE"}

    def finish(self, timeout: float = 30) -> int:
        try:
            code = self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.kill()
                self.process.wait()
        self._reader.join(10)
        self.process.stderr.close()
        return code


@pytest.mark.parametrize("round_", range(2))
def test_reports_acknowledged_before_the_writer_is_killed_are_all_stored(database_url, round_):
    writer = Writer(database_url)
    try:
        writer.wait_for(20)
        time.sleep(random.uniform(0, 0.3))  # a random moment, mid-commit as likely as not
        writer.kill()
    finally:
        code = writer.finish()
    assert code == -signal.SIGKILL
    acknowledged = writer.acknowledged()
    assert len(acknowledged) >= 20
    with open_store(database_url) as store:
        store.check_integrity()
        stored = {r.id for r in store.pending()}
    assert acknowledged <= stored
    # Rows committed but not yet printed when the kill came may be there too; no more than that.
    assert len(stored - acknowledged) <= 8 * 2


@pytest.mark.postgres
def test_reports_acknowledged_before_the_postgres_server_crashes_are_all_stored(postgres_server):
    url = postgres_server.isolated_url("crash_server")
    try:
        writer = Writer(url)
        try:
            writer.wait_for(20)
            time.sleep(random.uniform(0, 0.3))
            postgres_server.kill()  # SIGKILL to the postmaster and every backend
            code = writer.finish()  # each thread gets StoreUnavailable and stops
        finally:
            if writer.process.poll() is None:
                writer.kill()
                writer.finish()
        assert code == 0
        assert writer.lines.count(b"UNAVAILABLE") == 8
        acknowledged = writer.acknowledged()
        postgres_server.start()  # crash recovery replays the WAL
        with open_store(url) as store:
            store.check_integrity()
            stored = {r.id for r in store.pending()}
        assert len(acknowledged) >= 20
        assert acknowledged <= stored
    finally:
        if not postgres_server.running:
            postgres_server.start()
        postgres_server.drop_isolated("crash_server")
