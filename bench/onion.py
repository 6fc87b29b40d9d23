"""The onion service's two performance targets, measured on the private Tor network.

Run by hand:  .venv/bin/python -m bench.onion [--fetches 60] [--runs 1]

1. Start-up: from launching `meldpunt demo` to the first successful fetch of the form over the
   onion (target: at most 20 s on 2 cores). Measured cold (an empty authority-key cache, as on a
   fresh machine) and warm (the keys cached by the cold run) side by side.
2. The app's share of a form fetch over the onion (target: at most 5 %): the median time of
   fetching the form straight from the web server on a raw loopback socket (the server's whole
   part: gunicorn, Flask, the page) against the median time of fetching it over the onion through
   the client tor (a new TCP connection and stream each time, on the client's existing circuit,
   as a browser would). The two kinds of fetch alternate, so other load hits both alike.

Everything stays on 127.0.0.1. The demo runs in a temporary directory and is stopped at the end.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path

import requests

from tests.harness import proxy_line

ROOT = Path(__file__).resolve().parents[1]
ONION = re.compile(r"^onion: http://([a-z2-7]{56}\.onion)/$")
SOCKS = re.compile(r"^socks: 127\.0\.0\.1:(\d+)$")


class Demo:
    def __init__(self, data_dir: Path, cache_dir: Path) -> None:
        env = dict(os.environ, XDG_CACHE_HOME=str(cache_dir))
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "meldpunt.cli", "demo", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env=env,
        )
        self.hostname = self.socks_port = None
        ready = threading.Event()

        def read() -> None:
            for raw in self.process.stdout:
                line = raw.decode().rstrip("\n")
                if m := ONION.match(line):
                    self.hostname = m.group(1)
                if m := SOCKS.match(line):
                    self.socks_port = int(m.group(1))
                if self.hostname and self.socks_port:
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(120) or not self.hostname:
            self.stop()
            raise SystemExit("meldpunt demo did not come up within 120 s")
        config = tomllib.loads((data_dir / "meldpunt-demo.toml").read_text())
        self.web_bind = config["web"]["bind"]
        # With circuit ids (the default), the web server takes only connections that start with
        # tor's PROXY line: a loopback fetch sends one as tor would.
        self.circuit_ids = config.get("tor", {}).get("circuit_ids", True)

    def proxies(self, user: str) -> dict[str, str]:
        proxy = f"socks5h://{user}:x@127.0.0.1:{self.socks_port}"
        return {"http": proxy, "https": proxy}

    def first_fetch_seconds(self) -> float:
        while True:
            try:
                r = requests.get(f"http://{self.hostname}/en/", proxies=self.proxies("first"), timeout=10)
                if r.status_code == 200:
                    return time.monotonic() - self.started
            except requests.RequestException:
                pass
            if time.monotonic() - self.started > 120:
                raise SystemExit("no successful fetch over the onion within 120 s")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def onion_fetch(url: str, proxies: dict[str, str]) -> float:
    t = time.perf_counter()
    r = requests.get(url, proxies=proxies, headers={"Connection": "close"}, timeout=30)
    elapsed = time.perf_counter() - t
    if r.status_code != 200:
        raise SystemExit(f"{url} answered {r.status_code}")
    return elapsed


_circuits = itertools.count(1 << 20)  # a new circuit id per loopback fetch, as a new visitor's


def loopback_fetch(bind: str, path: str, host: str, *, circuit_ids: bool) -> float:
    """The server's part: one request on a raw loopback socket, so that next to no client-side time
    is counted (a TCP handshake on loopback is some tens of microseconds)."""
    address, _, port = bind.rpartition(":")
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    if circuit_ids:
        request = proxy_line(next(_circuits)) + request
    t = time.perf_counter()
    with socket.create_connection((address, int(port))) as s:
        s.sendall(request)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    elapsed = time.perf_counter() - t
    if not b"".join(chunks).startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"{bind}{path} did not answer 200")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetches", type=int, default=60)
    parser.add_argument("--runs", type=int, default=1, help="start-up measurements of each kind")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, tor: {shutil.which('tor')}")

    work = Path(tempfile.mkdtemp(prefix="meldpunt-bench-onion-"))
    cache = work / "cache"
    try:
        startups: dict[str, list[float]] = {"cold": [], "warm": []}
        demo = None
        for run in range(args.runs):
            for kind in ("cold", "warm"):
                if kind == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                data_dir = work / f"demo-{kind}-{run}"
                demo = Demo(data_dir, cache)
                startups[kind].append(demo.first_fetch_seconds())
                print(
                    f"start-up {kind}: first fetch over the onion {startups[kind][-1]:.1f} s after launch", flush=True
                )
                if not (kind == "warm" and run == args.runs - 1):
                    demo.stop()

        onion_url = f"http://{demo.hostname}/en/"
        proxies = demo.proxies("bench")
        for _ in range(5):  # circuits built, caches and workers warm
            onion_fetch(onion_url, proxies)
            loopback_fetch(demo.web_bind, "/en/", demo.hostname, circuit_ids=demo.circuit_ids)
        over_onion, on_loopback = [], []
        for _ in range(args.fetches):  # interleaved, so that other load on the machine hits both alike
            over_onion.append(onion_fetch(onion_url, proxies))
            on_loopback.append(loopback_fetch(demo.web_bind, "/en/", demo.hostname, circuit_ids=demo.circuit_ids))
        demo.stop()

        onion_median = statistics.median(over_onion)
        local_median = statistics.median(on_loopback)
        print()
        for kind, values in startups.items():
            print(
                f"start-up {kind}: median {statistics.median(values):.1f} s of {len(values)} "
                f"(target <= 20 s): {'OK' if statistics.median(values) <= 20 else 'MISSED'}"
            )
        print(
            f"form fetch over the onion: median {onion_median * 1000:.1f} ms "
            f"(p90 {sorted(over_onion)[int(0.9 * len(over_onion))] * 1000:.1f} ms, n={len(over_onion)})"
        )
        print(f"form fetch on loopback (the server's part): median {local_median * 1000:.2f} ms")
        share = local_median / onion_median
        print(
            f"app's share of a fetch over the onion: {share * 100:.1f} % (target <= 5 %): "
            f"{'OK' if share <= 0.05 else 'MISSED'}"
        )
    finally:
        if demo is not None:
            demo.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
