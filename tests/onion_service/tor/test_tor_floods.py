"""Floods over the private Tor network cannot lock real reporters out.

Attacker A sends valid reports as fast as it can over one circuit, attacker B over 20 (a fresh
SOCKS username each); meanwhile 10 real reporters, each on a fresh circuit, fill the whole form and
send one report. The per-circuit limits (3 reports per circuit per window) bound both attacks, so
at least 9 of 10 real reports must be accepted within 90 s. Then: a replayed token is refused with
the answers kept, a connection to the web server without tor's PROXY line is refused, and the
circuit ids tor gave (read from the service tor's control port) are nowhere outside memory.

Bounded in time (one 90 s phase) and in count (31 client threads), loopback only.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import Counter

import pytest
import requests
from stem.control import EventType

from onion_service.store import open_store
from tests.formkit import report_fields
from tests.harness import files_containing
from tests.kit import RECEIPT, TOKEN
from tests.onion_service.tor.torkit import Serve, fetch_until, run_reporters, tor_session, write_config

pytestmark = pytest.mark.tor

LIMIT = 3
ATTACK_B_CIRCUITS = 20
REPORTERS = 10
PHASE_SECONDS = 90


# Every answer given, fakes and real reports alike.
FULL = dict(urls="http://example.org/flood-test\nhttps://example.net/b", found_on="forum", kinds=("images", "text"))


def full_form(token: str, description: str) -> dict[str, object]:
    return report_fields(
        token, description=description, access="invite link in a chat group", seen_on="2026-11-30", **FULL
    )


class Flood:
    def __init__(self, tmp_path, network, staff) -> None:
        self.network = network
        self.data_dir = tmp_path / "data"
        self.tmpdir = tmp_path / "tmp"
        self.tmpdir.mkdir()
        config = write_config(
            tmp_path / "m.toml",
            self.data_dir,
            staff.recipient,
            f"127.0.0.1:{network.hs_control_port}",
            workers=2,
            threads=8,
            limits={"reports_per_circuit": LIMIT, "circuit_window_minutes": 10},
        )
        self.log_path = tmp_path / "serve.log"
        # The rendezvous circuits of the service tor: their ids are the ids in the PROXY lines.
        self.circuit_ids: set[int] = set()
        self.controller = network.nodes["hs"].controller
        self.controller.add_event_listener(self._on_circ, EventType.CIRC)
        self.serve = Serve(config, self.log_path, tmpdir=self.tmpdir)
        self.base = f"http://{self.serve.hostname}"

    def _on_circ(self, event) -> None:
        if event.purpose == "HS_SERVICE_REND":
            self.circuit_ids.add(int(event.id))

    def close(self) -> None:
        self.controller.remove_event_listener(self._on_circ)
        self.serve.stop()


@pytest.fixture(scope="module")
def flood(tmp_path_factory, tor_network, staff):
    f = Flood(tmp_path_factory.mktemp("flood"), tor_network, staff)
    try:
        fetch_until(f"{f.base}/", tor_network.socks_port, within=60)
        yield f
    finally:
        f.close()


def attacker(base: str, socks_port: int, user: str, stop: threading.Event, accepted: Counter, sent: Counter) -> None:
    """Valid reports as fast as the form allows over one SOCKS username (one circuit): forms
    fetched in batches, the minimum form time waited once per batch, then all posted."""
    s = tor_session(socks_port, user)
    while not stop.is_set():
        tokens = []
        try:
            for _ in range(4):
                page = s.get(f"{base}/en/", timeout=20)
                m = TOKEN.search(page.text)
                if m:
                    tokens.append(m.group(1))
            stop.wait(1.05)  # form_min_seconds = 1
            for t in tokens:
                reply = s.post(f"{base}/en/", data=full_form(t, "fake report"), timeout=20)
                sent[user] += 1
                if reply.status_code == 200 and RECEIPT.search(reply.text):
                    accepted[user] += 1
        except requests.RequestException:
            stop.wait(0.2)


def reporter(base: str, socks_port: int, results: list, index: int) -> None:
    started = time.monotonic()
    s = tor_session(socks_port)
    try:
        s.get(f"{base}/", timeout=30)
        page = s.get(f"{base}/en/", timeout=30)
        token = TOKEN.search(page.text).group(1)
        time.sleep(4)  # a person filling the whole form (the server only asks for 1 s)
        reply = s.post(f"{base}/en/", data=full_form(token, f"real report {index}"), timeout=30)
        m = RECEIPT.search(reply.text) if reply.status_code == 200 else None
        results[index] = (bool(m), time.monotonic() - started, reply.status_code)
    except (requests.RequestException, AttributeError) as exc:
        results[index] = (False, time.monotonic() - started, type(exc).__name__)


def test_real_reporters_get_through_attacks_a_and_b(flood, tor_network, staff):
    stop = threading.Event()
    accepted: Counter = Counter()
    sent: Counter = Counter()
    users = ["attacker-a"] + [f"attacker-b-{i}" for i in range(ATTACK_B_CIRCUITS)]
    attackers = [
        threading.Thread(target=attacker, args=(flood.base, tor_network.socks_port, u, stop, accepted, sent))
        for u in users
    ]
    for t in attackers:
        t.start()
    time.sleep(5)  # the flood is on before the first reporter arrives
    results = run_reporters(reporter, flood.base, tor_network.socks_port, REPORTERS, PHASE_SECONDS)
    stop.set()
    for t in attackers:
        t.join(30)

    ok = [r for r in results if r and r[0] and r[1] <= PHASE_SECONDS]
    print(
        f"\nreal reporters: {len(ok)}/{REPORTERS} accepted; attackers sent {sum(sent.values())}, "
        f"{sum(accepted.values())} accepted; {len(flood.circuit_ids)} rendezvous circuits"
    )
    assert len(ok) >= 9, results
    assert sum(sent.values()) > len(users) * LIMIT, "the attack did not press on the limits"
    assert max(accepted.values()) <= LIMIT, accepted
    assert accepted["attacker-a"] <= LIMIT

    # What the store holds: every real report accepted, and fake ones only up to the limits.
    store = open_store(f"sqlite:///{flood.data_dir}/reports.sqlite3")
    try:
        opened = [staff.open(row.sealed) for row in store.pending()]
    finally:
        store.close()
    fake = [r for r in opened if r.description == "fake report"]
    assert len(fake) == sum(accepted.values()) <= len(users) * LIMIT
    real = {r.description for r in opened} - {"fake report"}
    assert len(real) == len(ok)
    flood.opened = opened


def test_replayed_token_over_tor_is_refused_with_the_answers_kept(flood, tor_network):
    s = tor_session(tor_network.socks_port)
    token = TOKEN.search(s.get(f"{flood.base}/en/", timeout=30).text).group(1)
    time.sleep(1.1)
    first = s.post(f"{flood.base}/en/", data=full_form(token, "sent once"), timeout=30)
    assert first.status_code == 200 and RECEIPT.search(first.text)
    replay = tor_session(tor_network.socks_port).post(
        f"{flood.base}/en/", data=full_form(token, "sent twice"), timeout=30
    )
    assert replay.status_code == 400 and "sent twice" in replay.text and not RECEIPT.search(replay.text)
    assert TOKEN.search(replay.text).group(1) != token


def test_the_web_server_refuses_connections_without_the_proxy_line(flood):
    port = int(re.search(r'bind = "127\.0\.0\.1:(\d+)"', (flood.log_path.parent / "m.toml").read_text()).group(1))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /en/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        assert s.recv(65536) == b""  # closed without an answer


def test_no_circuit_id_outside_memory(flood):
    ids = sorted(flood.circuit_ids)
    assert ids, "the test saw no rendezvous circuit"
    # The forms an id takes in a PROXY line, and as a number where text is (outputs and logs).
    forms = [f"4dad::{i >> 16:x}:{i & 0xFFFF:x}" for i in ids] + [f"4dad::{i:x}" for i in ids]
    assert files_containing([flood.data_dir, flood.tmpdir], [f.encode() for f in forms]) == []
    output = b"".join(flood.serve.output).decode() + flood.log_path.read_text(errors="replace")
    assert not any(f in output for f in forms)
    assert not re.search(r"circuit", output, re.I)
    numbers = set(re.findall(r"\b\d+\b", output))
    assert not numbers & {str(i) for i in ids if i > 999}  # small ids would match any number
    # The sealed reports hold exactly what the form sent, nothing about the connection.
    for report in getattr(flood, "opened", []):
        text = repr(report)
        assert not any(f in text for f in forms) and "PROXY" not in text
