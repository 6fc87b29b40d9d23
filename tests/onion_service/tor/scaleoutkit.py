"""A meldpunt backend behind Onionbalance, as test_tor_scaleout.py runs two of them (one
PostgreSQL, the frontend's onion address in each data directory): start, kill, stop."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

from tests.onion_service.tor.torkit import Serve, write_config


class Backend:
    def __init__(self, index: int, base: Path, port: int, frontend: str, staff, database_url: str) -> None:
        self.index = index
        self.name = f"Scaleout backend {index}"
        self.data_dir = base / f"backend{index}"
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        # What the unit does in production: the address the web server answers for.
        (self.data_dir / "onion-address").write_text(frontend + "\n")
        self.port = port
        self.config = write_config(
            base / f"backend{index}.toml",
            self.data_dir,
            staff.recipient,
            "torrc",
            bind=f"127.0.0.1:{port}",
            database_url=database_url,
            hotline_name=self.name,
            workers=1,
            threads=8,
        )
        self.log = base / f"backend{index}.log"
        self.serve: Serve | None = None

    def start(self) -> None:
        self.serve = Serve(self.config, self.log)
        deadline = time.monotonic() + 60
        while not accepts(self.port):
            assert time.monotonic() < deadline, f"backend {self.index} never listened"
            time.sleep(0.1)

    def kill(self) -> None:
        for pid in self.serve.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.serve.process.wait()

    def stop(self) -> None:
        if self.serve is not None:
            self.serve.stop()


def accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0
