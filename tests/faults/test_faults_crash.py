"""Crash consistency (slow): SIGKILL gunicorn's master and workers, the writer process, and on
PostgreSQL the database server too, at random moments under a load of concurrent reporters, again
and again.

After every restart: each report whose thank-you page reached its client is stored, exactly once,
and opens to what was sent; every stored row opens (nothing partial); the database passes its
integrity check. Reports that were stored but whose reply was cut off are allowed (the reporter
was not told), and counted.
"""

from __future__ import annotations

import os
import random
import sys
import time

import pytest

from tests.faults.faultkit import (
    Ledger,
    Reporters,
    post_report,
    receipt_of,
    serving,
    verify_store,
)
from tests.formkit import token
from tests.harness import Server, write_config

KILLS = 22  # SIGKILLs of gunicorn (master and workers, or one worker); PostgreSQL's come on top
LOAD_SECONDS = (0.1, 0.5)  # how long the reporters run before the kill: a random moment
REPORTERS = 4


def _wait_accepting(port: int, data_dir, ledger: Ledger, within: float = 30) -> float:
    """Seconds until a new report is acknowledged again (the recovery time)."""
    started = time.monotonic()
    last = None
    while time.monotonic() - started < within:
        description = f"recovery-probe-{os.urandom(4).hex()}"
        try:
            reply = post_report(port, "nl", description, token(data_dir, "nl"), timeout=10)
            ledger.record(description, reply)  # acknowledged like any other: checked like any other
            if receipt_of(reply):
                return time.monotonic() - started
            last = reply.status
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise AssertionError(f"no report accepted within {within} s of the restart (last: {last!r})")


def _crash_loop(tmp_path, staff, database_url: str, *, pg=None) -> dict:
    seed = int(os.environ.get("MELDPUNT_FAULT_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print(f"\ncrash loop seed {seed} (MELDPUNT_FAULT_SEED to repeat)", file=sys.stderr)
    data_dir = tmp_path / "data"
    config = write_config(
        tmp_path / "meldpunt.toml", data_dir, staff.recipient, database_url=database_url, workers=2, threads=8
    )
    server = Server(config, tmp_path / "logs")
    ledger = Ledger()
    kinds = {"all": 0, "worker": 0, "writer": 0, "database": 0}
    restarts, recoveries = [], []
    opened: dict = {}
    url = database_url or f"sqlite:///{data_dir / 'reports.sqlite3'}"
    with serving(server, url) as store:
        for i in range(KILLS):
            reporters = Reporters(lambda: server.port, data_dir, ledger, count=REPORTERS, tag=f"k{i}", max_seconds=20)
            try:
                time.sleep(rng.uniform(*LOAD_SECONDS))
                # Every fifth kill is the writer's, the one process that commits every report.
                kind = "writer" if i % 5 == 2 else rng.choice(["all", "all", "worker"])
                kinds[kind] += 1
                killed_at = time.monotonic()
                if pg is not None and (i % 3 == 1 or rng.random() < 0.2):  # the database crashes too
                    pg.kill()
                    kinds["database"] += 1
                    time.sleep(rng.uniform(0.0, 0.2))
                if kind == "all":
                    server.kill()
                elif kind == "writer":
                    assert server.kill_writer(), "the server has no writer process"
                else:
                    server.kill_worker()
                time.sleep(rng.uniform(0.0, 0.2))
            finally:
                reporters.stop()
            t0 = time.monotonic()
            if pg is not None and not pg.running:
                pg.start()
            if not server.running:
                server.start()
                restarts.append(time.monotonic() - t0)
            _wait_accepting(server.port, data_dir, ledger)
            recoveries.append(time.monotonic() - killed_at)  # kill -> a report acknowledged again
            verify_store(store, staff, ledger.acked, opened)
        counts = verify_store(store, staff, ledger.acked, opened)
    assert kinds["all"] + kinds["worker"] + kinds["writer"] >= 20
    assert kinds["all"] >= 5 and kinds["worker"] >= 1 and kinds["writer"] >= 4, kinds
    assert pg is None or kinds["database"] >= 7, kinds
    assert len(ledger.acked) >= KILLS, "too few reports were acknowledged for the test to mean much"
    summary = {
        "seed": seed,
        "kills": kinds,
        "acknowledged": len(ledger.acked),
        **counts,
        "refused_statuses": {s: n for s, n in ledger.statuses.items() if s != 200},
        "connection_errors": sum(ledger.errors.values()),
        "restart_mean_s": round(sum(restarts) / len(restarts), 2) if restarts else None,
        "restart_max_s": round(max(restarts), 2) if restarts else None,
        "recovery_mean_s": round(sum(recoveries) / len(recoveries), 2),
        "recovery_max_s": round(max(recoveries), 2),
        "reports_lost": 0,
    }
    print(f"crash loop: {summary}", file=sys.stderr)
    # Only 503 (store unavailable while the database restarts) may refuse a report; never 500.
    assert set(summary["refused_statuses"]) <= {503}, summary
    return summary


@pytest.mark.slow
def test_slow_crash_loop_sqlite_no_acknowledged_report_lost(tmp_path, staff):
    _crash_loop(tmp_path, staff, "")


@pytest.mark.slow
@pytest.mark.postgres
def test_slow_crash_loop_postgres_with_database_kills_no_acknowledged_report_lost(tmp_path, staff, postgres_server):
    schema = "faults_crash_" + os.urandom(4).hex()
    url = postgres_server.isolated_url(schema)
    try:
        _crash_loop(tmp_path, staff, url, pg=postgres_server)
    finally:
        if not postgres_server.running:
            postgres_server.start()
        postgres_server.drop_isolated(schema)
