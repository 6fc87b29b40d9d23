"""One tor of the private network, and the loopback ports the network takes."""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import stem.control

from onion_service.tor.errors import TorError


class PrivateNetworkError(TorError):
    """The private Tor network (tests, demo) did not come up."""


@dataclass
class Node:
    name: str
    role: str  # "authority" | "relay" | "hs" | "client"
    data_dir: Path
    control_port: int
    or_port: int = 0
    dir_port: int = 0
    socks_port: int = 0
    fingerprint: str = ""
    v3ident: str = ""
    process: subprocess.Popen | None = field(default=None, repr=False)
    controller: stem.control.Controller | None = field(default=None, repr=False)

    @property
    def is_relay(self) -> bool:
        return self.role in ("authority", "relay")


def free_ports(count: int) -> list[int]:
    """Ports on 127.0.0.1 that were free a moment ago (held open together so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()
