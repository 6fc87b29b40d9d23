"""Two meldpunt backends behind Onionbalance on the private Tor network, one PostgreSQL.

The arrangement of deploy/onionbalance/ (devnet/onionbalance.py): each backend is its own tor with a
HiddenServiceDir service that is an Onionbalance instance, and meldpunt serving the web only
(`[tor] control = "torrc"`), answering for the frontend's address; both write to one PostgreSQL
database. Each backend has its own hotline name, so the page tells which one served a reporter.

Reporters over fresh circuits to the frontend reach both backends, and each report lands once.
Then backend 1's meldpunt and tor are SIGKILLed while reporters keep sending: new visitors get
the form again within FAILOVER_BOUND seconds, and every report whose thank-you page arrived is
stored once and opens. An export from backend 0 and a purge from backend 1 see and remove the same
reports once. Bounded: at most about 30 reports, 4 client threads, loopback only.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from torkit import Serve, socks, write_config

from kit import RECEIPT, TOKEN
from onion_service.store import open_store

pytestmark = [pytest.mark.tor, pytest.mark.slow]

BACKENDS = 2
FIRST_FETCH_BOUND = 90.0  # measured 20-40 s: onionbalance's first fetch round, then its upload
FAILOVER_BOUND = 30.0  # measured: see bench/README.md


class Backend:
    def __init__(self, index: int, base: Path, port: int, frontend: str, staff, database_url: str) -> None:
        self.index = index
        self.name = f"Scaleout backend {index}"
        self.data_dir = base / f"backend{index}"
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        # What the unit does in production: the address the web server answers for.
        (self.data_dir / "onion-address").write_text(frontend + "\n")
        self.port = port
        self.config = write_config(base / f"backend{index}.toml", self.data_dir, staff.recipient, "torrc",
                                   bind=f"127.0.0.1:{port}", database_url=database_url, hotline_name=self.name,
                                   workers=1, threads=8)
        self.log = base / f"backend{index}.log"
        self.serve: Serve | None = None

    def start(self) -> None:
        self.serve = Serve(self.config, self.log)
        deadline = time.monotonic() + 60
        while not _accepts(self.port):
            assert time.monotonic() < deadline, f"backend {self.index} never listened"
            time.sleep(0.1)

    def kill(self) -> None:
        for pid in self.serve.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.serve.process.wait()

    def stop(self) -> None:
        if self.serve is not None:
            self.serve.stop()


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def scaleout(tor_network, _postgres_session, staff, tmp_path_factory):
    from devnet.onionbalance import Onionbalanced, check_installed

    check_installed()
    if not _postgres_session.running:
        _postgres_session.start()
    schema = "t_scaleout_" + secrets.token_hex(4)
    url = _postgres_session.isolated_url(schema)
    base = tmp_path_factory.mktemp("scaleout")
    started = time.monotonic()
    ob = Onionbalanced(tor_network, base / "tor", BACKENDS)
    backends = [Backend(i, base, ob.backend_ports[i], ob.hostname, staff, url) for i in range(BACKENDS)]
    try:
        ob.start()
        backends[0].start()
        # One form-token key for all (deploy/onionbalance/README.md).
        for b in backends[1:]:
            shutil.copy2(backends[0].data_dir / "form-token.key", b.data_dir / "form-token.key")
            b.start()
        base_url = f"http://{ob.hostname}"
        first = _first_fetch(base_url, tor_network.socks_port, FIRST_FETCH_BOUND)
        print(f"\nscale-out: first fetch through the frontend {time.monotonic() - started:.1f} s after start "
              f"(attempts {first})", file=sys.stderr)
        yield ob, backends, base_url, url
    finally:
        for b in backends:
            b.stop()
        ob.stop()
        _postgres_session.drop_isolated(schema)


def _first_fetch(base: str, socks_port: int, within: float) -> int:
    deadline, attempts = time.monotonic() + within, 0
    while time.monotonic() < deadline:
        attempts += 1
        try:
            if requests.get(f"{base}/en/", proxies=socks(socks_port), timeout=15).status_code == 200:
                return attempts
        except requests.RequestException:
            pass
        time.sleep(1)
    raise AssertionError(f"the frontend address did not answer within {within} s")


def report(base: str, socks_port: int, description: str, names: list[str]) -> tuple[int, str]:
    """One reporter on a fresh circuit: GET the form, POST a report; (backend index, receipt)."""
    s = requests.Session()
    s.proxies = socks(socks_port)
    page = s.get(f"{base}/en/", timeout=20)
    assert page.status_code == 200
    served_by = [i for i, n in enumerate(names) if n in page.text]
    assert len(served_by) == 1
    token = TOKEN.search(page.text).group(1)
    time.sleep(1.1)  # form_min_seconds = 1
    reply = s.post(f"{base}/en/", timeout=20, data={
        "token": token, "urls": "http://example.org/scaleout", "found_on": "website", "kinds": ["images"],
        "access": "", "seen_on": "", "description": description, "danger": "no", "contact": "", "homepage": ""})
    assert reply.status_code == 200, reply.status_code
    assert names[served_by[0]] in reply.text  # the same circuit, the same backend
    return served_by[0], RECEIPT.search(reply.text).group(1)


def stored(url: str, staff) -> Counter:
    store = open_store(url)
    try:
        return Counter(staff.open(row.sealed).description for row in store.pending())
    finally:
        store.close()


def test_reporters_reach_both_backends_and_each_report_is_stored_once(scaleout, tor_network, staff):
    ob, backends, base, url = scaleout
    names = [b.name for b in backends]
    served = Counter()
    descriptions = []
    for n in range(16):
        description = f"scaleout-{n}-{secrets.token_hex(4)}"
        index, _ = report(base, tor_network.socks_port, description, names)
        served[index] += 1
        descriptions.append(description)
        if n >= 5 and len(served) == BACKENDS:
            break
    assert set(served) == set(range(BACKENDS)), served
    counts = stored(url, staff)
    assert all(counts[d] == 1 for d in descriptions), counts
