"""The private network's promise: every tor it started is gone when its owner dies, even by SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.onion_service.tor.torkit import ROOT

pytestmark = pytest.mark.tor


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait() is missing


def test_every_tor_exits_when_the_owner_is_killed(tmp_path):
    owner = subprocess.Popen(
        [sys.executable, "-m", "devnet.private_network", str(tmp_path / "net")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        line = owner.stdout.readline()
        assert line, "the private network did not start"
        pids = json.loads(line)["pids"]
        assert len(pids) == 8 and all(_alive(p) for p in pids.values())
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in pids.values()):
        time.sleep(0.1)
    left = {name: pid for name, pid in pids.items() if _alive(pid)}
    for pid in left.values():
        os.kill(pid, signal.SIGKILL)  # leave nothing behind even when the test fails
    assert left == {}
