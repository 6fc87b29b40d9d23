"""Helpers for the Tor tests: `meldpunt serve` in Tor mode (over the shared harness's configuration),
fetches through the client's SOCKS port, and the sockets a process tree holds."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from tests import harness
from tests.formkit import report_fields
from tests.harness import ROOT, descendants, free_port
from tests.kit import RECEIPT, TOKEN

ARTIFACTS = ROOT / "test-artifacts" / "tor"
ONION_LINE = re.compile(r"^onion: http://([a-z2-7]{56}\.onion)/$")


def write_config(
    path: Path,
    data_dir: Path,
    recipient: str,
    control: str,
    *,
    bind: str | None = None,
    workers: int = 1,
    threads: int = 4,
    limits: dict | None = None,
    **options,
) -> Path:
    """The harness's configuration with a [tor] section: `control` is the tor to publish through
    ("launch" for one of serve's own); one worker, English first, a form usable after a second.
    Other options go to the harness's config_dict."""
    return harness.write_config(
        path,
        data_dir,
        recipient,
        default_language="en",
        form_min_seconds=1,
        workers=workers,
        threads=threads,
        bind=bind or f"127.0.0.1:{free_port()}",
        limits=limits,
        tor={"control": control, "pow_queue_rate": 200, "pow_queue_burst": 2000, "max_streams": 20},
        **options,
    )


class Serve:
    """`meldpunt serve --config FILE` (Tor mode) as a child process of the test. Unlike the
    harness's Server, it is ready when it prints its onion address, not when a port answers."""

    def __init__(self, config_path: Path, log_path: Path, *, timeout: float = 90, tmpdir: Path | None = None) -> None:
        self.log = open(log_path, "ab")
        started = time.monotonic()
        env = {**os.environ, **({"TMPDIR": str(tmpdir)} if tmpdir is not None else {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "meldpunt.cli", "serve", "--config", str(config_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=ROOT,
            env=env,
        )
        self.hostname = self._read_onion_line(timeout)
        self.startup_seconds = time.monotonic() - started

    def _read_onion_line(self, timeout: float) -> str:
        self.output: list[bytes] = []  # everything serve printed on stdout
        found: list[str] = []
        done = threading.Event()

        def reader() -> None:
            for raw in self.process.stdout:
                self.output.append(raw)
                line = raw.decode().rstrip("\n")
                m = ONION_LINE.match(line)
                if m and not found:
                    found.append(m.group(1))
                    done.set()
            done.set()

        threading.Thread(target=reader, daemon=True).start()
        if not done.wait(timeout) or not found:
            self.stop()
            raise AssertionError(f"meldpunt serve printed no onion line (see {self.log.name})")
        return found[0]

    def pids(self) -> list[int]:
        """The serve process and every descendant (gunicorn master and workers)."""
        return descendants(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def wait_for_log(path: Path, before: str, needle: str, *, within: float) -> float:
    """Seconds until `needle` appears in the log at `path` after its first len(before) characters."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if needle in path.read_text()[len(before) :]:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{path.name} never said {needle!r}")


def refetch_descriptor(network, hostname: str, *, within: float = 30) -> bool:
    """Make the client tor fetch the service's current descriptor now (HSFETCH), as a visitor who
    never saw the old one would. Unlike NEWNYM, HSFETCH is not rate-limited by tor (NEWNYM is
    delayed when sent within 10 s of the last one, and a visitor holding the descriptor from
    before a crash keeps trying its dead introduction points for up to two minutes)."""
    import stem
    from stem.control import EventType

    service_id = hostname.removesuffix(".onion")
    controller = network.nodes["client"].controller
    received = threading.Event()

    def on_event(event) -> None:
        if event.address == service_id and event.action == stem.HSDescAction.RECEIVED:
            received.set()

    controller.add_event_listener(on_event, EventType.HS_DESC)
    try:
        deadline = time.monotonic() + within
        while not received.is_set() and time.monotonic() < deadline:
            controller.msg(f"HSFETCH {service_id}")
            received.wait(5)
    finally:
        controller.remove_event_listener(on_event)
    return received.is_set()


def fetch_from_every_hsdir(network, hostname: str, *, within: float = 15) -> int:
    """Make the client tor ask every HSDir of the network for the service's descriptor at once, and
    wait until each has answered (or `within` seconds). Returns how many sent one. tor keeps the
    newest it receives, so the client then holds the newest descriptor any HSDir has.

    A visitor's tor asks one HSDir at a time, and on the private network a fetch sometimes gets no
    answer for many seconds, or asks a directory the publisher did not upload to (onionbalance 0.2.2
    computes the responsible HSDirs without the shared random value, "disaster mode"). The rejoin
    check asks them all, so that it measures the frontend's publication, not one client's luck."""
    import stem
    from stem.control import EventType

    service_id = hostname.removesuffix(".onion")
    controller = network.nodes["client"].controller
    hsdirs = [s.fingerprint for s in controller.get_network_statuses() if "HSDir" in s.flags]
    answered, received = set(), set()
    done = threading.Event()

    def on_event(event) -> None:
        if event.address != service_id or not event.directory_fingerprint:
            return
        if event.action in (stem.HSDescAction.RECEIVED, stem.HSDescAction.FAILED):
            answered.add(event.directory_fingerprint)
            if event.action == stem.HSDescAction.RECEIVED:
                received.add(event.directory_fingerprint)
            if answered >= set(hsdirs):
                done.set()

    controller.add_event_listener(on_event, EventType.HS_DESC)
    try:
        controller.msg(f"HSFETCH {service_id} " + " ".join(f"SERVER=${fp}" for fp in hsdirs))
        done.wait(within)
    finally:
        controller.remove_event_listener(on_event)
    return len(received)


def fetch_after_republish(network, hostname: str, url: str, *, within: float) -> tuple[requests.Response, float]:
    """GET `url` as a new visitor would after the service's tor came back, within `within` seconds.

    serve says "published again" at the first HSDir's upload; the others may still hand out the old
    descriptor for a moment, and a client that fetched that one tries dead introduction points.
    So the client fetches the descriptor again whenever a round of fetches fails. A round in which
    no HSDir answered (its circuits were still being rebuilt after the restart) is one more round,
    not a failure: only `within` decides."""
    started = time.monotonic()
    while True:
        left = within - (time.monotonic() - started)
        if left <= 0:
            raise AssertionError(f"{url} did not answer within {within} s of the republication")
        refetch_descriptor(network, hostname)
        try:
            response, _ = fetch_until(url, network.socks_port, within=min(30.0, left), timeout=15)
            return response, time.monotonic() - started
        except AssertionError:
            continue


def socks(port: int, user: str | None = None) -> dict[str, str]:
    # A fresh SOCKS username per call unless given: tor isolates streams by it (IsolateSOCKSAuth), so
    # each call is a new visitor with its own circuits, as a new Tor Browser tab for another site would be.
    user = user or secrets.token_hex(4)
    proxy = f"socks5h://{user}:x@127.0.0.1:{port}"
    return {"http": proxy, "https": proxy}


def tor_session(socks_port: int, user: str | None = None) -> requests.Session:
    """A session over Tor as one visitor: `user` names its circuits, a new one by default."""
    session = requests.Session()
    session.proxies = socks(socks_port, user)
    return session


def run_reporters(reporter, base: str, socks_port: int, count: int, seconds: float, *, daemon: bool = False) -> list:
    """Starts `count` threads of reporter(base, socks_port, results, i) half a second apart, and waits
    for them at most `seconds` after the last one started; the results list they fill (None where one
    has not finished)."""
    results: list = [None] * count
    threads = []
    for i in range(count):
        threads.append(threading.Thread(target=reporter, args=(base, socks_port, results, i), daemon=daemon))
        threads[-1].start()
        time.sleep(0.5)
    deadline = time.monotonic() + seconds
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return results


def fetch_until(url: str, socks_port: int, *, within: float, timeout: float = 10) -> tuple[requests.Response, float]:
    """GET `url` over Tor, retrying until it answers 200; returns the response and the seconds taken."""
    started = time.monotonic()
    last: Exception | None = None
    while time.monotonic() - started < within:
        try:
            response = requests.get(url, proxies=socks(socks_port), timeout=timeout)
            if response.status_code == 200:
                return response, time.monotonic() - started
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {within} s: {last!r}")


def submit_report(base: str, socks_port: int, description: str) -> tuple[str, requests.Session]:
    """GET the English form, wait out the minimum form time, POST a report; the receipt code."""
    session = tor_session(socks_port)
    page = session.get(f"{base}/en/", timeout=30)
    assert page.status_code == 200
    token = TOKEN.search(page.text).group(1)
    time.sleep(1.2)  # form_min_seconds = 1
    reply = session.post(
        f"{base}/en/",
        timeout=30,
        data=report_fields(token, urls="http://example.org/reported-over-tor", description=description),
    )
    assert reply.status_code == 200, reply.status_code
    match = RECEIPT.search(reply.text)
    assert match, "no receipt on the thank-you page"
    return match.group(1), session


# -- sockets ---------------------------------------------------------------------------------------

INET_TABLES = ("tcp", "tcp6", "udp", "udp6", "raw", "raw6")


def _address(hex_addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    host = hex_addr.split(":")[0]
    raw = bytes.fromhex(host)
    # /proc/net prints each 32-bit word in host (little-endian) order.
    raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    addr = ipaddress.ip_address(raw)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        return addr.ipv4_mapped
    return addr


def inet_sockets(pid: int) -> dict[int, list[tuple[str, str, str]]]:
    """inode -> [(table, local, remote)] for every inet socket in pid's network namespace."""
    table_rows: dict[int, list[tuple[str, str, str]]] = {}
    for table in INET_TABLES:
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            table_rows.setdefault(int(fields[9]), []).append((table, fields[1], fields[2]))
    return table_rows


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def non_loopback_sockets(pids: list[int]) -> tuple[list[str], int]:
    """(offending sockets, number of inet sockets checked) over the given processes."""
    bad, checked = [], 0
    for pid in pids:
        rows = inet_sockets(pid)
        for inode in socket_inodes(pid):
            for table, local, remote in rows.get(inode, []):
                checked += 1
                local_ip, remote_ip = _address(local), _address(remote)
                if not local_ip.is_loopback or not (remote_ip.is_loopback or remote_ip.is_unspecified):
                    bad.append(f"pid {pid} {table} {local_ip} -> {remote_ip}")
    return bad, checked
