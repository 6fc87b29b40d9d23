"""`meldpunt demo`: its own private network, the form on it, instructions, and on Ctrl-C nothing
left running within 3 s, and no error printed. With `--backends 2 --database-url`: the frontend
address printed, reporters reaching both backends through it, and the same clean stop."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from devnet.demo import DEMO_KEY_FILE
from tests.harness import descendants
from tests.onion_service.tor.torkit import ROOT, fetch_until, socks

pytestmark = pytest.mark.tor


def _alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Demo:
    """`meldpunt demo ARGS` running; `lines` what it printed."""

    def __init__(self, process: subprocess.Popen, lines: list[str]) -> None:
        self.process, self.lines = process, lines

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def children(self) -> set[int]:
        return set(descendants(self.process.pid)) - {self.process.pid}


@contextlib.contextmanager
def demo_running(tmp_path: Path, *args: str):
    """Starts the demo, yields once it printed its instructions, then stops it with Ctrl-C and
    checks that everything it started is gone within 3 s, it exited 0 and printed no error."""
    errors = open(tmp_path / "demo.stderr", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "meldpunt.cli", "demo", "--data-dir", str(tmp_path / "demo"), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=errors,
        cwd=ROOT,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for raw in process.stdout:
            lines.append(raw.decode().rstrip("\n"))
            if any(line.startswith("Decrypt what was submitted") for line in lines):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    demo = Demo(process, lines)
    started: set[int] = set()
    try:
        assert ready.wait(90), "meldpunt demo printed no instructions"
        yield demo
    finally:
        started = demo.children()
        stopping = time.monotonic()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in started):
        time.sleep(0.1)
    took = time.monotonic() - stopping
    print(f"\n{' '.join(['meldpunt demo', *args[:2]])}: stopped in {took:.2f} s", file=sys.stderr)
    left = [p for p in started if _alive(p)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []
    assert took < 3, f"the demo took {took:.1f} s to stop"
    errors.close()
    printed = (tmp_path / "demo.stderr").read_text()
    assert "stopped the web server" in printed and "every tor" in printed  # the stop ran, and was read
    assert not re.search(r"ERROR|Traceback|SIGKILL", printed), printed


def _socks_port(text: str) -> int:
    return int(re.search(r"^socks: 127\.0\.0\.1:(\d+)$", text, re.M).group(1))


def test_demo_serves_the_form_on_its_network_and_stops_everything_on_ctrl_c(tmp_path):
    with demo_running(tmp_path) as demo:
        host = re.search(r"^onion: http://([a-z2-7]{56}\.onion)/$", demo.text, re.M).group(1)
        port = _socks_port(demo.text)
        assert f"--socks5-hostname 127.0.0.1:{port} http://{host}/" in demo.text  # curl
        assert f"--proxy-server=socks5://127.0.0.1:{port}" in demo.text  # chromium
        assert " export --config " in demo.text and " open " in demo.text
        page, _ = fetch_until(f"http://{host}/", port, within=60)
        assert page.status_code == 200

        key = tmp_path / "demo" / DEMO_KEY_FILE
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert key.read_text().startswith("# DEMO KEY")
        assert len(demo.children()) >= 9  # eight tors and the web server


@pytest.mark.slow
@pytest.mark.postgres
def test_scaleout_demo_prints_the_frontend_and_reporters_reach_both_backends(tmp_path, postgres_server):
    database = "demo_" + os.urandom(4).hex()
    url = postgres_server.create_database(database)
    try:
        with demo_running(tmp_path, "--backends", "2", "--database-url", url) as demo:
            host = re.search(r"^frontend: http://([a-z2-7]{56}\.onion)/$", demo.text, re.M).group(1)
            port = _socks_port(demo.text)
            fetch_until(f"http://{host}/", port, within=90)
            seen: set[int] = set()
            # Until onionbalance has fetched both backends' descriptors its own lists only one
            # backend's introduction points; on a loaded machine that took longer than a minute.
            deadline = time.monotonic() + 150
            while seen != {0, 1} and time.monotonic() < deadline:
                try:  # each visitor on a fresh circuit: onionbalance sends it to either backend
                    page = requests.get(f"http://{host}/en/", proxies=socks(port), timeout=15)
                except requests.RequestException:
                    continue
                seen |= {i for i in (0, 1) if f"meldpunt demo (backend {i})" in page.text}
            assert seen == {0, 1}, f"new visitors reached only backend(s) {seen}"
    finally:
        postgres_server.drop_database(database)
