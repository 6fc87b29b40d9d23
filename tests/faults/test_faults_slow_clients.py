"""Slow clients (slow): 200 loopback connections send their requests one byte at a time, some
trickling the request head, some a form body after a complete head. Real reporters must still be
served promptly meanwhile. Bounded: 200 connections, SLOW_SECONDS of trickling, then all closed.

The server runs with the production defaults of [web] (workers = 2, threads = 16): 200 slow
connections are six times as many as there are threads.
"""

from __future__ import annotations

import socket
import sys
import time

import pytest

from onion_service.process import worker
from tests.faults.faultkit import percentile, post_report, receipt_of, request
from tests.formkit import token
from tests.harness import Server, write_config

SLOW_CONNECTIONS = 200
# How long the slow clients trickle before the test closes what is left: past the server's read
# deadline, by which time the server must have closed every one of them itself.
SLOW_SECONDS = worker.READ_SECONDS + 3
BYTE_INTERVAL = 0.25  # one byte per connection this often: a request head takes a minute or more
REAL_REPORTS = 12


def slow_requests(port: int) -> tuple[list[bytes], bytes]:
    head = (
        b"POST /nl/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 4000\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
    )
    body = b"description=" + b"x" * 3988
    # Half trickle the head; half send the head at once and trickle the body.
    return [head + body if i % 2 == 0 else body for i in range(SLOW_CONNECTIONS)], head


class SlowClients:
    """All slow connections in one thread-free loop: one byte each per BYTE_INTERVAL."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.socks: list[tuple[socket.socket, memoryview]] = []
        payloads, head = slow_requests(port)
        for i, payload in enumerate(payloads):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.setblocking(False)
            if i % 2 == 1:
                s.setblocking(True)
                s.sendall(head)
                s.setblocking(False)
            self.socks.append((s, memoryview(payload)))
        self.answered_early = 0  # connections the server closed or answered before we finished
        self.bytes_sent = 0

    def tick(self) -> None:
        alive = []
        for s, rest in self.socks:
            try:
                self.bytes_sent += s.send(rest[:1])
                alive.append((s, rest[1:]))
            except (BlockingIOError, InterruptedError):
                alive.append((s, rest))
            except OSError:
                self.answered_early += 1
                s.close()
        self.socks = alive

    def close(self) -> None:
        for s, _ in self.socks:
            s.close()
        self.socks = []


@pytest.mark.slow
def test_slow_clients_200_byte_at_a_time_real_reporters_still_served(tmp_path, staff):
    data_dir = tmp_path / "data"
    config = write_config(tmp_path / "meldpunt.toml", data_dir, staff.recipient, workers=2, threads=16)
    server = Server(config, tmp_path / "logs")
    slow = None
    try:
        server.start()
        baseline = [request(server.port, "GET", "/en/").seconds for _ in range(10)]
        slow = SlowClients(server.port)
        started = time.monotonic()
        form_times, report_times, failures = [], [], []
        next_real = started + 1.0  # let the slow clients take hold first
        done = 0
        while time.monotonic() - started < SLOW_SECONDS:
            slow.tick()
            if done < REAL_REPORTS and time.monotonic() >= next_real:
                try:
                    form = request(server.port, "GET", "/en/", timeout=10)
                    form_times.append(form.seconds)
                    reply = post_report(server.port, "en", f"real-{done}", token(data_dir, "en"), timeout=10)
                    report_times.append(reply.seconds)
                    if not receipt_of(reply):
                        failures.append(reply.status)
                except OSError as exc:
                    failures.append(type(exc).__name__)
                done += 1
                next_real = time.monotonic() + 1.0
                slow.tick()
            time.sleep(BYTE_INTERVAL)
        still_open = len(slow.socks)
        summary = {
            "slow_connections": SLOW_CONNECTIONS,
            "still_trickling_at_end": still_open,
            "closed_by_server": slow.answered_early,
            "real_reports": done,
            "failures": failures,
            "form_p50_baseline_ms": round(percentile(baseline, 50) * 1000, 1),
            "form_max_ms": round(max(form_times) * 1000, 1) if form_times else None,
            "report_max_ms": round(max(report_times) * 1000, 1) if report_times else None,
        }
        print(f"\nslow clients: {summary}", file=sys.stderr)
        assert done == REAL_REPORTS
        assert not failures, summary
        # Served promptly: each real request answered in well under the 10 s client timeout.
        assert max(form_times) < 3 and max(report_times) < 3, summary
        # And the slow connections themselves did not stay: the server closed each of them.
        assert still_open == 0 and slow.answered_early == SLOW_CONNECTIONS, summary
    except BaseException:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        if slow is not None:
            slow.close()
        server.stop()


def test_worker_buffers_until_the_request_is_complete_and_no_further():
    from onion_service.web.form import MAX_BODY_BYTES

    complete = worker._complete
    head = b"POST /nl/ HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
    assert not complete(head[:-2])
    assert not complete(head + b"123456789")
    assert complete(head + b"1234567890")
    assert complete(b"GET /nl/ HTTP/1.1\r\nHost: x\r\n\r\n")
    # Handed over after the head: bodies the app refuses unread, and clients waiting for 100.
    assert complete(b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n")
    assert complete(b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n")
    assert complete(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n")
    chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    assert not complete(chunked) and complete(chunked + b"0\r\n\r\n")
    # Bounded: a head that never ends is handed to gunicorn's own limits, not buffered forever.
    assert complete(b"GET / HTTP/1.1\r\nX: " + b"a" * worker.MAX_HEAD_BYTES)
    # Every body the app accepts is read whole before a thread takes the request.
    largest = b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % MAX_BODY_BYTES
    assert not complete(largest + b"x" * (MAX_BODY_BYTES - 1))
    assert complete(largest + b"x" * MAX_BODY_BYTES)
