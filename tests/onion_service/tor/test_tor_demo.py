"""`meldpunt demo`: its own private network, the form on it, instructions, and on Ctrl-C nothing
left running within 3 s, and no error printed."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest
from harness import descendants
from torkit import ROOT, fetch_until

from devnet.demo import DEMO_KEY_FILE

pytestmark = pytest.mark.tor


def _alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_demo_serves_the_form_on_its_network_and_stops_everything_on_ctrl_c(tmp_path):
    errors = open(tmp_path / "demo.stderr", "wb")
    demo = subprocess.Popen([sys.executable, "-m", "crypto.cli", "demo", "--data-dir", str(tmp_path / "demo")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, cwd=ROOT)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for raw in demo.stdout:
            lines.append(raw.decode().rstrip("\n"))
            if any(line.startswith("Decrypt what was submitted") for line in lines):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    started: set[int] = set()
    try:
        assert ready.wait(90), "meldpunt demo printed no instructions"
        text = "\n".join(lines)
        host = re.search(r"^onion: http://([a-z2-7]{56}\.onion)/$", text, re.M).group(1)
        port = int(re.search(r"^socks: 127\.0\.0\.1:(\d+)$", text, re.M).group(1))
        assert f"--socks5-hostname 127.0.0.1:{port} http://{host}/" in text  # curl
        assert f"--proxy-server=socks5://127.0.0.1:{port}" in text  # chromium
        assert " export --config " in text and " open " in text
        page, _ = fetch_until(f"http://{host}/", port, within=60)
        assert page.status_code == 200

        key = tmp_path / "demo" / DEMO_KEY_FILE
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert key.read_text().startswith("# DEMO KEY")
        started = set(descendants(demo.pid)) - {demo.pid}
        assert len(started) >= 9  # eight tors and the web server
    finally:
        stopping = time.monotonic()
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in started):
        time.sleep(0.1)
    took = time.monotonic() - stopping
    left = [p for p in started if _alive(p)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []
    assert took < 3, f"the demo took {took:.1f} s to stop"
    errors.close()
    printed = (tmp_path / "demo.stderr").read_text()
    assert "stopped the web server and every tor" in printed  # the stop ran, and was read
    assert not re.search(r"ERROR|Traceback|SIGKILL", printed), printed
