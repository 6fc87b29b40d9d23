"""Stopping `meldpunt serve`: Ctrl-C (SIGINT to the whole process group) and SIGTERM (systemd's
stop, to every process, or to the master alone) end every process within 3 s, print no error, and
lose no report that a reporter was told was received."""

from __future__ import annotations

import http.client
import os
import re
import signal
import sqlite3
import threading
import time
import types

import pytest

from tests.formkit import report_fields
from tests.harness import Server, live_processes, write_config
from tests.kit import RECEIPT, TOKEN

STOP_SECONDS = 3.0


def _group_alive(pgid: int) -> list[int]:
    return [pid for pid, _, group in live_processes() if group == pgid]


@pytest.mark.parametrize(
    "signum, whom", [(signal.SIGINT, "group"), (signal.SIGTERM, "group"), (signal.SIGTERM, "master")]
)
def test_serve_stops_within_3_s_without_error_and_keeps_every_acknowledged_report(tmp_path, staff, signum, whom):
    write_config(
        tmp_path / "meldpunt.toml",
        tmp_path / "data",
        staff.recipient,
        form_min_seconds=0,
        database_url=f"sqlite:///{tmp_path / 'reports.sqlite3'}",
    )
    server = Server(tmp_path / "meldpunt.toml", tmp_path / "logs").start()
    receipts: list[str] = []
    sending = threading.Event()
    stop_sending = threading.Event()

    def reporter() -> None:
        while not stop_sending.is_set():
            try:
                form = server.request("GET", "/en/")[2]
                fields = report_fields(TOKEN.search(form).group(1), urls="http://example.org/a")
                status, _, page = server.post_form("en", fields)
            except (OSError, http.client.HTTPException):
                # The server has gone, before answering or in the middle of the page (a quick stop
                # cuts a reply short): the reporter saw no receipt, so nothing was promised.
                return
            if status == 200:
                receipts.append(RECEIPT.search(page).group(1))
                sending.set()

    threads = [threading.Thread(target=reporter) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        assert sending.wait(30), "no report was accepted before the stop"
        group = server.proc.pid
        started = time.monotonic()
        if whom == "group":
            os.killpg(group, signum)
        else:
            server.proc.send_signal(signum)
        server.proc.wait(timeout=10 * STOP_SECONDS)
        while _group_alive(group) and time.monotonic() - started < 10 * STOP_SECONDS:
            time.sleep(0.05)
        took = time.monotonic() - started
    finally:
        stop_sending.set()
        for t in threads:
            t.join(timeout=30)
        server.stop()
    assert not _group_alive(group)
    assert took < STOP_SECONDS, f"stopping took {took:.1f} s"
    assert server.proc.returncode == 0
    output = server.stdout.read_text() + server.stderr.read_text()
    assert not re.search(r"ERROR|Traceback|SIGKILL", output), output
    with sqlite3.connect(tmp_path / "reports.sqlite3") as db:
        stored = [staff.open(row[0]).receipt for row in db.execute("SELECT sealed FROM reports")]
    assert receipts and set(receipts) <= set(stored)


def test_a_second_quit_signal_arriving_inside_the_first_does_not_enter_it_again(monkeypatch):
    # Ctrl-C reaches a worker, and the master's SIGQUIT follows while the worker is still inside
    # the first handler. gthread's handler takes its thread pool's lock, which this thread may
    # already hold: it must not run at all, and the second signal must not enter again.
    from gunicorn.workers.gthread import ThreadWorker

    from onion_service.process.worker import BufferingWorker

    entered: list[int] = []

    def gthread_quit(self, sig, frame):
        entered.append(sig)  # gthread's own handler: takes the thread pool's lock

    monkeypatch.setattr(ThreadWorker, "handle_quit", gthread_quit)
    worker = BufferingWorker.__new__(BufferingWorker)
    worker._quitting = False
    worker.cfg = types.SimpleNamespace(worker_int=lambda w: entered.append(signal.SIGINT))
    second = []
    worker.cfg.worker_int = lambda w: (second.append(1), worker.handle_quit(signal.SIGQUIT, None))
    with pytest.raises(SystemExit):
        worker.handle_quit(signal.SIGINT, None)
    assert entered == [] and second == [1]  # gthread's pool shutdown never ran, and the quit ran once
    assert worker.alive is False
