"""Running meldpunt inside meldpunt.service's sandbox (sandbox.py beside this file applies the unit's
settings) for the deploy tests: whether this machine can, the sandboxed process, and HTTP over
the unix socket it serves on."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from tests.deploy.deploykit import DEPLOY, ROOT

UNIT = DEPLOY / "systemd/meldpunt.service"
SANDBOX = Path(__file__).with_name("sandbox.py")
NOBODY = 65534  # stands in for the meldpunt user, which a test machine does not have
TOKEN = re.compile(r'name="token" value="([^"]+)"')
PUBLIC = "report.example.org"  # the public name configured, served on the proxy's socket
RECEIPT = re.compile(r'<p class="code"[^>]*><strong>([A-Z0-9-]+)</strong></p>')


def can_sandbox() -> bool:
    if os.geteuid() != 0:
        return False
    probe = subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 20) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def request(sock: str, method: str, path: str, body: bytes | None = None, host: str = "127.0.0.1") -> tuple[int, str]:
    conn = UnixHTTPConnection(sock)
    try:
        headers = {"Host": host}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def sandboxed(cmd: list[str], *, rw: list[Path], ro: list[Path], log: Path) -> subprocess.Popen:
    args = [sys.executable, str(SANDBOX), "--unit", str(UNIT), "--uid", str(NOBODY), "--gid", str(NOBODY)]
    args += [f"--rw={d}" for d in rw]
    # The interpreter (on some machines under /root, which ProtectHome hides) and the code with its
    # virtual environment (a clone under /tmp would vanish behind PrivateTmp).
    args += [f"--ro={d}" for d in [*ro, ROOT, Path(sys.base_prefix)]]
    with open(log, "wb") as out:
        return subprocess.Popen(
            [*args, "--", *cmd], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
