"""Floods (slow): 50 times the configured budget, from many loopback connections at once.

Two floods against one gunicorn with the production [web] defaults and a budget of BUDGET reports
a minute:
1. a flood that never passes validation (no, forged or stale tokens, honeypot filled, junk bodies):
   it must not touch the budget, so real reports sent meanwhile are all accepted;
2. a flood of well-formed reports with a valid (replayed) token: the budget holds (never more
   than BUDGET per minute window, and the whole budget is still used), every refused report gets
   a clear 503 in its language with Retry-After and the answers kept, real reports sent meanwhile
   are either accepted or refused in the same clear way, nothing else.
Throughout: the form page stays fast (p99 printed and bounded), memory stays bounded, nothing
acknowledged is lost.
"""

from __future__ import annotations

import sys
import threading
import time
import urllib.parse
from collections import Counter

import pytest

from tests.faults.faultkit import (
    Ledger,
    assert_refused_page,
    percentile,
    post_report,
    receipt_of,
    request,
    rss_kib,
    serving,
    verify_store,
)
from tests.formkit import report_body, token
from tests.harness import Server, write_config

BUDGET = 20  # reports a minute
FLOOD = 50 * BUDGET  # requests in each flood
FLOOD_CONNECTIONS = 40  # concurrent flooding connections
REAL_REPORTS = 10
BUSY = (
    "Many reports are arriving right now. Please wait a minute and send your report again. "
    "Your answers are still below."
)
WINDOW = 60.0  # onion_service.budget counts in windows of CLOCK_MONOTONIC // 60


def window_now() -> int:
    return int(time.monotonic() // WINDOW)


def junk_bodies(data_dir) -> list[bytes]:
    good = token(data_dir, "nl")
    return [
        report_body("", description="junk"),
        report_body(good[:-4] + "AAAA", description="junk"),
        report_body(token(data_dir, "nl", age_seconds=-600), description="junk"),  # too fast, however long it waits
        report_body(token(data_dir, "nl", age_seconds=7 * 3600), description="junk"),  # expired
        report_body(good, homepage="http://spam.example", description="junk"),  # the honeypot
        urllib.parse.urlencode({"urls": "x" * 100, "token": good}).encode(),
        b"%%%&&&===",
    ]


class Flood:
    """`total` POSTs over `connections` threads as fast as they go; statuses are counted."""

    def __init__(self, port: int, bodies: list[bytes], total: int, connections: int, *, check=None) -> None:
        self.statuses: Counter = Counter()
        self.errors: Counter = Counter()
        self.bad: list[str] = []
        self._lock = threading.Lock()
        self._next = iter(range(total))
        self._threads = [
            threading.Thread(target=self._run, args=(port, bodies, check), daemon=True) for _ in range(connections)
        ]
        self.started = time.monotonic()
        for t in self._threads:
            t.start()

    def _run(self, port, bodies, check) -> None:
        while True:
            with self._lock:
                i = next(self._next, None)
            if i is None:
                return
            try:
                reply = request(port, "POST", "/nl/", bodies[i % len(bodies)], timeout=30)
            except OSError as exc:
                with self._lock:
                    self.errors[type(exc).__name__] += 1
                continue
            problem = check(reply) if check else None
            with self._lock:
                self.statuses[reply.status] += 1
                if problem:
                    self.bad.append(problem)

    def join(self, timeout: float = 120) -> float:
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "the flood did not finish in time"
        return time.monotonic() - self.started


class FormProbe:
    """GET /nl/ every 50 ms while running: the form page's latency as a reporter sees it."""

    def __init__(self, port: int) -> None:
        self.times: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(port,), daemon=True)
        self._thread.start()

    def _run(self, port: int) -> None:
        deadline = time.monotonic() + 180
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                reply = request(port, "GET", "/nl/", timeout=30)
                if reply.status == 200:
                    self.times.append(reply.seconds)
                else:
                    self.failures += 1
            except OSError:
                self.failures += 1
            self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


def real_reports(port: int, data_dir, ledger: Ledger, tag: str, count: int, spacing: float) -> list:
    """`count` real reports, one every `spacing` seconds, each with the form's own token."""
    replies = []
    for i in range(count):
        form = request(port, "GET", "/nl/", timeout=30)
        assert form.status == 200
        description = f"{tag}-{i}"
        reply = post_report(port, "nl", description, token(data_dir, "nl"), timeout=30)
        ledger.record(description, reply)
        replies.append((description, reply))
        time.sleep(spacing)
    return replies


@pytest.mark.slow
def test_slow_flood_50x_budget_budget_holds_real_reports_served_form_fast_memory_bounded(tmp_path, staff):
    data_dir = tmp_path / "data"
    config = write_config(
        tmp_path / "meldpunt.toml", data_dir, staff.recipient, reports_per_minute=BUDGET, workers=2, threads=16
    )
    server = Server(config, tmp_path / "logs")
    ledger = Ledger()
    with serving(server, f"sqlite:///{data_dir / 'reports.sqlite3'}") as store:
        for _ in range(20):  # warm up both workers before measuring memory
            request(server.port, "GET", "/nl/")
        baseline = [request(server.port, "GET", "/nl/").seconds for _ in range(40)]
        rss_before = rss_kib(server.pids())

        # 1. A flood that never validates: real reports meanwhile are all accepted.
        first_window = window_now()  # the budget's windows from here on hold every report accepted
        count_before = store.count()
        probe = FormProbe(server.port)
        bodies = junk_bodies(data_dir)
        junk = Flood(server.port, bodies, FLOOD, FLOOD_CONNECTIONS)
        real_1 = real_reports(server.port, data_dir, ledger, "real-junk", REAL_REPORTS, 0.1)
        junk_seconds = junk.join()
        probe.stop()
        junk_p99 = percentile(probe.times, 99)
        assert set(junk.statuses) <= {400}, dict(junk.statuses)
        assert sum(junk.statuses.values()) == FLOOD and not junk.errors
        accepted_1 = [d for d, r in real_1 if receipt_of(r)]
        assert len(accepted_1) == REAL_REPORTS, [r.status for _, r in real_1]

        # 2. A flood of valid reports, past the budget 50 times over.
        # Each token once.
        valid_bodies = [report_body(token(data_dir, "nl"), description=f"flood-{i}") for i in range(FLOOD)]

        def check(reply) -> str | None:
            if reply.status == 503:
                try:
                    assert_refused_page(reply, "nl", BUSY, "flood-")
                except AssertionError as exc:
                    return f"unclear 503: {exc}"
            elif not receipt_of(reply):
                return f"status {reply.status}"
            return None

        probe = FormProbe(server.port)
        flood = Flood(server.port, valid_bodies, FLOOD, FLOOD_CONNECTIONS, check=check)
        real_2 = real_reports(server.port, data_dir, ledger, "real-flood", REAL_REPORTS, 0.1)
        flood_seconds = flood.join()
        probe.stop()
        last_window = window_now()
        flood_p99 = percentile(probe.times, 99)
        rss_after = rss_kib(server.pids())

        windows = last_window - first_window + 1
        accepted = store.count() - count_before
        assert not flood.bad, flood.bad[:5]
        assert set(flood.statuses) <= {200, 503} and not flood.errors, (dict(flood.statuses), dict(flood.errors))
        # The budget holds, and is used: the service keeps taking reports at the budgeted rate
        # (the real reports of part 1 count against the same windows).
        assert BUDGET <= accepted <= BUDGET * windows, (accepted, windows)
        assert flood.statuses[503] >= FLOOD - BUDGET * windows
        for description, reply in real_2:
            if not receipt_of(reply):
                assert_refused_page(reply, "nl", BUSY, description)
        real_accepted_2 = sum(1 for _, r in real_2 if receipt_of(r))

        assert probe.failures == 0
        # The form page stays fast: loopback, 2 cores shared with the flooding threads.
        assert max(junk_p99, flood_p99) < 2.0, (junk_p99, flood_p99)
        growth_mib = (rss_after - rss_before) / 1024
        assert growth_mib < 64, f"memory grew by {growth_mib:.0f} MiB during the floods"
        counts = verify_store(store, staff, ledger.acked)
        summary = {
            "budget_per_min": BUDGET,
            "flood_requests": FLOOD,
            "connections": FLOOD_CONNECTIONS,
            "junk_flood_s": round(junk_seconds, 1),
            "junk_statuses": dict(junk.statuses),
            "real_accepted_during_junk": f"{len(accepted_1)}/{REAL_REPORTS}",
            "valid_flood_s": round(flood_seconds, 1),
            "valid_statuses": dict(flood.statuses),
            "accepted_in_windows": f"{accepted} in {windows}",
            "real_accepted_during_valid_flood": f"{real_accepted_2}/{REAL_REPORTS}",
            "form_p99_ms": {
                "baseline": round(percentile(baseline, 99) * 1000, 1),
                "junk_flood": round(junk_p99 * 1000, 1),
                "valid_flood": round(flood_p99 * 1000, 1),
            },
            "rss_mib": {"before": round(rss_before / 1024), "after": round(rss_after / 1024)},
            **counts,
            "reports_lost": 0,
        }
        print(f"\nflood: {summary}", file=sys.stderr)
