"""The attacks of bench/system.py: who sends what on each channel, and the attacking machine's own
tor. Every attack stays on loopback, and stops when its `Attack` is finished."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import Counter
from pathlib import Path

from tests.system import systemkit as k

ADDRESSES = itertools.count()  # the address-per-report attacker's (next() on a count is atomic)


class Attack:
    """`threads` attacking threads running `fn(attack, channel, stop)` on each of `channels`; their onion
    traffic goes through `tor`, the attacking machine's own."""

    def __init__(self, system: k.System, tor: AttackerTor, fn, channels: tuple[str, ...], threads: int) -> None:
        self.system, self.tor, self.fn = system, tor, fn
        self.stop = threading.Event()
        self.sent, self.accepted, self.why = Counter(), Counter(), Counter()
        self.used: Counter = Counter()  # circuits or addresses
        self.cpu = 0.0
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, args=(c, i), daemon=True) for c in channels for i in range(threads)
        ]

    def _run(self, channel: str, i: int) -> None:
        try:
            self.fn(self, channel, i)
        finally:
            with self.lock:
                self.cpu += time.thread_time()

    def count(self, channel: str, status: int, page: str = "", used: int = 0) -> None:
        with self.lock:
            self.sent[channel] += 1
            self.why[(channel, status)] += 1
            self.used[channel] += used
            if k.receipt_of(status, page):
                self.accepted[channel] += 1

    def address(self, channel_group: int, i: int) -> str:
        return k.source_address(channel_group, i)

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(90)


class AttackerTor:
    """The attacking machine's own tor, a second client on the private network: its CPU and its
    circuits are the attacker's, and the reporters' tor is not the one it saturates."""

    def __init__(self, network, data_dir: Path) -> None:
        import stem.control
        import stem.process

        from devnet.node import free_ports

        data_dir.mkdir(mode=0o700)
        self.socks_port, control = free_ports(2)
        config = {
            **network.client_options(),
            "SocksPort": f"127.0.0.1:{self.socks_port} OnionTrafficOnly",
            "ControlPort": f"127.0.0.1:{control}",
            "DataDirectory": str(data_dir),
            "CookieAuthentication": "1",
            "Log": "notice stdout",
            "SafeLogging": "1",
        }
        self.process = stem.process.launch_tor_with_config(config, take_ownership=True, timeout=90)
        self.controller = stem.control.Controller.from_port("127.0.0.1", control)
        self.controller.authenticate()

    def stop(self) -> None:
        self.controller.close()
        self.process.terminate()
        self.process.wait(10)


def _client(attack: Attack, channel: str, i: int, group: int):
    if channel == "onion":
        return k.OnionClient(attack.system, socks_port=attack.tor.socks_port)
    return k.HttpsClient(attack.system, k.source_address(group, i))


def replay(attack: Attack, channel: str, i: int) -> None:
    c = _client(attack, channel, i, 10)
    try:
        receipt, token = k.file_report(c, "fake", 3.3)
    except (OSError, ValueError):
        return
    page = f'<p class="code"><strong>{receipt}</strong></p>' if receipt else ""
    attack.count(channel, 200 if receipt else 400, page, 1)
    while not attack.stop.wait(0.2):
        try:
            attack.count(channel, *c.post("/en/", k.report(token, "replayed")))
        except OSError:
            attack.stop.wait(0.5)


def junk(attack: Attack, channel: str, i: int) -> None:
    c = _client(attack, channel, i, 11)
    while not attack.stop.is_set():
        try:
            attack.count(channel, *c.post("/en/", {"token": secrets.token_urlsafe(40), "urls": secrets.token_hex(40)}))
        except OSError:
            attack.stop.wait(0.5)


def lookup(attack: Attack, channel: str, i: int) -> None:
    c = _client(attack, channel, i, 12)
    while not attack.stop.is_set():
        try:
            status, page = c.get("/en/status")
            token = k.token_of(page) if status == 200 else secrets.token_urlsafe(40)
            for _ in range(10):
                code = "-".join(secrets.token_hex(2).upper() for _ in range(4))
                attack.count(channel, c.post("/en/status", {"code": code, "token": token, "homepage": ""})[0])
        except (OSError, ValueError):
            attack.stop.wait(0.5)


def slow(attack: Attack, channel: str, i: int) -> None:
    while not attack.stop.is_set():
        closed = k.slow_client(_client(attack, channel, i, 13), 30)
        attack.count(channel, 0 if closed else 1)


def fresh_per_report(attack: Attack, channel: str, i: int) -> None:
    """Each fake report on a new circuit (onion) or from a new address (HTTPS), as fast as the
    form allows (form_min_seconds)."""
    n = 0
    while not attack.stop.is_set():
        n += 1
        if channel == "onion":
            c = k.OnionClient(attack.system, f"f{i}-{n}-{secrets.token_hex(4)}", socks_port=attack.tor.socks_port)
        else:
            a = next(ADDRESSES)
            c = k.HttpsClient(attack.system, f"127.{90 + a // 62_500}.{(a // 250) % 250}.{a % 250 + 2}")
        try:
            status, page = c.get("/en/", timeout=30)
            if status != 200:
                attack.count(channel, status, "", 1)
                continue
            token = k.token_of(page)
            time.sleep(3.05)
            attack.count(channel, *c.post("/en/", k.report(token, "fake"), timeout=30), used=1)
        except (OSError, ValueError) as exc:
            attack.count(channel, -1, "", 1)
            attack.why[(channel, type(exc).__name__)] += 1
