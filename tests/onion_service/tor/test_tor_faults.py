"""Tor faults (slow; issue 7, owned by the faults tests): the onion service's tor is killed with
SIGKILL and started again five times while meldpunt serve keeps running. Each time the same onion
address answers again (the times are printed), and every report acknowledged over the onion,
before, between and after the crashes, is stored and opens.

It lives beside the other Tor tests to share their session's private Tor network (tests/tor/
conftest.py), which a test in tests/faults/ cannot see; its helpers are tests/faults/faultkit.py.
"""

from __future__ import annotations

import sys
import time

import pytest

from onion_service.store import open_store
from tests.faults.faultkit import verify_store
from tests.onion_service.tor.torkit import (
    Serve,
    fetch_after_republish,
    fetch_until,
    submit_report,
    wait_for_log,
    write_config,
)

pytestmark = pytest.mark.tor

RESTARTS = 5


@pytest.mark.slow
def test_slow_service_tor_killed_five_times_onion_answers_again_no_report_lost(tmp_path, tor_network, staff):
    data_dir = tmp_path / "data"
    config_path = write_config(
        tmp_path / "meldpunt.toml", data_dir, staff.recipient, f"127.0.0.1:{tor_network.hs_control_port}"
    )
    serve_log = tmp_path / "serve.log"
    serve = Serve(config_path, serve_log)
    acked: dict[str, str] = {}
    times: list[float] = []
    republished: list[float] = []
    store = None
    try:
        base = f"http://{serve.hostname}"
        fetch_until(f"{base}/", tor_network.socks_port, within=90, timeout=15)
        pid = serve.process.pid
        for i in range(RESTARTS):
            description = f"before-kill-{i}"
            receipt, _ = submit_report(base, tor_network.socks_port, description)
            acked[receipt] = description
            log_before = serve_log.read_text()
            killed_at = time.monotonic()
            tor_network.kill_node("hs")
            tor_network.start_node("hs")
            republished.append(wait_for_log(serve_log, log_before, "published again", within=90))
            # The client fetches the new descriptor, as a visitor who never saw the old one does
            # (see torkit.refetch_descriptor for why an earlier visitor may wait longer).
            fetch_after_republish(tor_network, serve.hostname, f"{base}/", within=120)
            times.append(time.monotonic() - killed_at)
            assert serve.process.poll() is None and serve.process.pid == pid, "meldpunt serve did not survive"
        receipt, _ = submit_report(base, tor_network.socks_port, "after-the-last-kill")
        acked[receipt] = "after-the-last-kill"
        store = open_store(f"sqlite:///{data_dir / 'reports.sqlite3'}")
        counts = verify_store(store, staff, acked)
        print(
            f"\nservice tor SIGKILLed {RESTARTS} times: descriptor published again after "
            f"{', '.join(f'{t:.1f}' for t in republished)} s, the onion answered again after "
            f"{', '.join(f'{t:.1f}' for t in times)} s; {counts}, reports lost 0",
            file=sys.stderr,
        )
        assert counts["rows"] == RESTARTS + 1
    finally:
        if store is not None:
            store.close()
        serve.stop()
        if "hs" not in tor_network.pids():
            tor_network.start_node("hs")  # the session's network goes on for the other Tor tests
