"""meldpunt serve, published on the private Tor network, used through the client's SOCKS port.

Every request here goes through tor (socks5h: the client tor resolves the .onion name).
"""

from __future__ import annotations

import os
import re
import signal
import stat
import sys
import threading
import time

import pytest
import requests
from stem.descriptor.hidden_service import HiddenServiceDescriptorV3

from onion_service.store import open_store
from onion_service.tor import service_dir
from onion_service.tor.keys import ADDRESS_FILE, KEY_FILE
from tests.harness import descendants, live_processes
from tests.onion_service.tor.torkit import (
    Serve,
    fetch_after_republish,
    fetch_until,
    non_loopback_sockets,
    socks,
    submit_report,
    wait_for_log,
    write_config,
)

pytestmark = pytest.mark.tor


class Served:
    def __init__(self, tmp_path, network, staff) -> None:
        self.network = network
        self.data_dir = tmp_path / "data"
        self.config_path = write_config(
            tmp_path / "meldpunt.toml", self.data_dir, staff.recipient, f"127.0.0.1:{network.hs_control_port}"
        )
        self.log_path = tmp_path / "serve.log"
        self.serve = Serve(self.config_path, self.log_path)

    @property
    def base(self) -> str:
        return f"http://{self.serve.hostname}"

    def restart(self) -> None:
        self.serve.stop()
        self.serve = Serve(self.config_path, self.log_path)


@pytest.fixture(scope="module")
def served(tmp_path_factory, tor_network, staff):
    s = Served(tmp_path_factory.mktemp("serve"), tor_network, staff)
    try:
        yield s
    finally:
        s.serve.stop()


def test_report_over_the_onion_is_stored_sealed_and_only_loopback_is_used(served, tor_network, staff):
    samples: list[tuple[list[str], int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(non_loopback_sockets(served.serve.pids()))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        page, seconds = fetch_until(f"{served.base}/", tor_network.socks_port, within=60)
        assert "<form" in page.text or 'hreflang="en"' in page.text
        description = f"seen while testing over tor {os.urandom(4).hex()}"
        receipt, _ = submit_report(served.base, tor_network.socks_port, description)
    finally:
        stop.set()
        sampler.join()

    store = open_store(f"sqlite:///{served.data_dir}/reports.sqlite3")
    try:
        rows = list(store.pending())
    finally:
        store.close()
    opened = [staff.open(row.sealed) for row in rows]
    mine = [r for r in opened if r.description == description]
    assert len(mine) == 1
    assert mine[0].receipt == receipt
    assert mine[0].urls == ("http://example.org/reported-over-tor",)

    bad = [b for found, _ in samples for b in found]
    checked = sum(n for _, n in samples)
    assert len(samples) > 5 and checked > 0  # the web server's listener and the control connection
    assert bad == [], bad[:5]


def test_descriptor_carries_proof_of_work_and_other_ports_are_closed(served, tor_network):
    fetch_until(f"{served.base}/", tor_network.socks_port, within=60)
    service_id = served.serve.hostname.removesuffix(".onion")
    client = tor_network.nodes["client"].controller
    # The client fetched and cached the descriptor for the fetch above; stem parses and decrypts it.
    raw = client.get_info(f"hs/client/desc/id/{service_id}")
    inner = HiddenServiceDescriptorV3.from_str(raw).decrypt(service_id)
    lines = str(inner).splitlines()
    pow_lines = [line for line in lines if line.startswith("pow-params ")]
    assert pow_lines and pow_lines[0].split()[1] == "v1", lines[:5]
    assert inner.introduction_points

    for port in (8080, 443, 22, 9051):
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"http://{served.serve.hostname}:{port}/", proxies=socks(tor_network.socks_port), timeout=30)


def test_address_and_key_files(served):
    # The key is tor's, in the HiddenServiceDir (0700, the key 0600); none is left in data_dir.
    directory = service_dir.service_dir(served.data_dir)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    key = directory / service_dir.SECRET_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not (served.data_dir / KEY_FILE).exists()
    assert (directory / "hostname").read_text().strip() == served.serve.hostname  # written by tor
    assert (served.data_dir / ADDRESS_FILE).read_text() == served.serve.hostname + "\n"


def test_same_address_after_meldpunt_restarts(served, tor_network):
    before = served.serve.hostname
    served.restart()
    assert served.serve.hostname == before
    page, _ = fetch_until(f"{served.base}/", tor_network.socks_port, within=60)
    assert page.status_code == 200


def test_same_address_answers_after_the_service_tor_is_killed_and_started_again(served, tor_network):
    fetch_until(f"{served.base}/", tor_network.socks_port, within=60)
    pid = served.serve.process.pid
    started = time.monotonic()
    log_before = served.log_path.read_text()
    tor_network.kill_node("hs")
    tor_network.start_node("hs")
    republished = wait_for_log(served.log_path, log_before, "published again", within=90)
    # A visitor who fetched the descriptor before the crash keeps trying its dead introduction
    # points until tor gives up on them (tor's client-side cache, not ours); the client here
    # fetches the new descriptor, as the rest of the world does.
    page, _ = fetch_after_republish(tor_network, served.serve.hostname, f"{served.base}/", within=90)
    seconds = time.monotonic() - started
    print(
        f"\nservice tor killed and started again: descriptor republished after {republished:.1f} s, "
        f"the same address answered again after {seconds:.1f} s",
        file=sys.stderr,
    )
    assert page.status_code == 200
    assert served.serve.process.poll() is None and served.serve.process.pid == pid


def test_web_server_on_a_unix_socket_is_published_too_and_the_proxys_socket_is_served(tmp_path, tor_network, staff):
    # Production (deploy/) binds gunicorn to a unix socket: ADD_ONION maps port 80 to unix:PATH.
    # With https_bind, the same web server listens on the reverse proxy's socket as well, in every
    # mode of serve (here: meldpunt configures its tor; "torrc": tests/deploy/test_deploy_https.py).
    sock, https_sock = tmp_path / "web.sock", tmp_path / "https.sock"
    config = write_config(
        tmp_path / "m.toml",
        tmp_path / "data",
        staff.recipient,
        f"127.0.0.1:{tor_network.hs_control_port}",
        bind=f"unix:{sock}",
        https_bind=f"unix:{https_sock}",
        public_hosts=["report.example.org"],
    )
    serve = Serve(config, tmp_path / "serve.log")
    try:
        page, _ = fetch_until(f"http://{serve.hostname}/en/", tor_network.socks_port, within=60)
        assert page.status_code == 200 and "<form" in page.text
        request = b"GET /en/ HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
        assert _unix_exchange(https_sock, request % b"report.example.org").startswith(b"HTTP/1.1 200 ")
        assert _unix_exchange(https_sock, request % serve.hostname.encode()).startswith(b"HTTP/1.1 421 ")
        # tor's socket, without tor's PROXY line (circuit ids are on by default): nothing.
        assert _unix_exchange(sock, request % serve.hostname.encode()) == b""
    finally:
        serve.stop()


def _unix_exchange(path, data: bytes) -> bytes:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(path))
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_serve_stops_within_3_s_on_sigterm_leaving_nothing_and_printing_no_error(tmp_path, tor_network, staff):
    config = write_config(
        tmp_path / "m.toml", tmp_path / "data", staff.recipient, f"127.0.0.1:{tor_network.hs_control_port}"
    )
    serve = Serve(config, tmp_path / "serve.log")
    started = set(descendants(serve.process.pid))
    assert len(started) >= 4  # serve, the gunicorn master, its writer and a worker
    stopping = time.monotonic()
    serve.process.send_signal(signal.SIGTERM)
    serve.process.wait(timeout=30)
    while any(pid in started for pid, _, _ in live_processes()) and time.monotonic() - stopping < 30:
        time.sleep(0.05)
    took = time.monotonic() - stopping
    serve.stop()
    assert not any(pid in started for pid, _, _ in live_processes())
    assert took < 3, f"meldpunt serve took {took:.1f} s to stop"
    assert serve.process.returncode == 0
    log = (tmp_path / "serve.log").read_text()
    assert not re.search(r"ERROR|Traceback|SIGKILL", log), log
