"""A tor of meldpunt's own (`[tor] control = "launch"`), started with stem and owned by us.

For servers without a system tor: the tor's state lives in `data_dir/tor`, its control socket is
a unix socket in there (cookie authentication), and it has no SOCKS port. It is owned by this
process (stem's take_ownership and TAKEOWNERSHIP), so it exits when meldpunt does, even on
SIGKILL. If it dies, the next `connect()` starts it again, so the publisher's reconnect covers it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import stem
import stem.control
import stem.process

from crypto import files
from onion_service.tor import control
from onion_service.tor.errors import TorError

LAUNCH_TIMEOUT = 90  # seconds; stem waits for tor's first bootstrap message, not for the network
UNIX_PATH_MAX = 107  # sockaddr_un.sun_path, less the terminating NUL


class Launcher:
    def __init__(
        self,
        tor_dir: str | os.PathLike,
        *,
        tor_cmd: str = "tor",
        extra_config: dict[str, str | list[str]] | None = None,
    ) -> None:
        # extra_config is for the tests, which point this tor at the private network.
        self.tor_dir = Path(tor_dir)
        self.tor_cmd = tor_cmd
        self.extra_config = dict(extra_config or {})
        self.socket_path = self.tor_dir / "control.sock"
        self.process = None
        self._lock = threading.Lock()

    def connect(self) -> stem.control.Controller:
        with self._lock:
            if self.process is None or self.process.poll() is not None:
                self._launch()
        return control.connect(f"unix:{self.socket_path}")

    def close(self) -> None:
        with self._lock:
            if self.process is not None and self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()

    def _launch(self) -> None:
        if shutil.which(self.tor_cmd) is None:
            raise TorError(f"'{self.tor_cmd}' is not installed; on Debian: apt-get install tor")
        if len(str(self.socket_path)) > UNIX_PATH_MAX:
            raise TorError(f"the data directory path is too long for tor's control socket ({self.socket_path})")
        files.private_dir(self.tor_dir, error=TorError, force_mode=True)  # tor refuses one others can read
        config: dict[str, str | list[str]] = {
            "DataDirectory": str(self.tor_dir),
            "ControlSocket": str(self.socket_path),
            "CookieAuthentication": "1",
            "SocksPort": "0",
            "Log": "notice stdout",
            **self.extra_config,
        }
        try:
            self.process = stem.process.launch_tor_with_config(
                config, tor_cmd=self.tor_cmd, completion_percent=0, timeout=LAUNCH_TIMEOUT, take_ownership=True
            )
        except OSError as exc:
            raise TorError(f"could not start tor: {exc}") from None
