"""Onionbalance on the private Tor network: one frontend address, N backend tors (dev and tests only).

The shape of deploy/onionbalance/: each backend is its own tor publishing a HiddenServiceDir service
that is an Onionbalance instance (`HiddenServiceOnionbalanceInstance 1`, `ob_config` naming the
frontend), with port 80 going to that backend's meldpunt web server (which the caller starts, web
only, answering for the frontend's address). The frontend is one more tor without a SOCKS port and
Debian's onionbalance (0.2.2) on its control port, holding the frontend's key; it fetches the
backends' descriptors and publishes the frontend's with their introduction points.

The backend tors take their service from their torrc, not from SETCONF, so that a backend tor
killed and started again (`kill_backend`, `start_backend`) publishes it again on its own, as a
system tor with the drop-in does.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from devnet import torrc
from devnet.node import Node, PrivateNetworkError, free_ports
from onion_service.tor import keys

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's onionbalance lives in the system's python3 packages
RUNNER = Path(__file__).with_name("ob_testnet.py")  # run with -P: only the installed onionbalance, never this tree


class Onionbalanced:
    """`start()` after the network is ready; `backend_ports[i]` is where backend i's web server must
    listen (127.0.0.1, PROXY line with the circuit id first), `hostname` the frontend address."""

    def __init__(self, network, base_dir: str | os.PathLike, backends: int = 2) -> None:
        self.network = network
        self.base_dir = Path(base_dir)
        self.count = backends
        self.frontend_key = keys.generate()
        self.hostname = self.frontend_key.hostname
        self.backend_keys = [keys.generate() for _ in range(backends)]
        self.backend_ports = free_ports(backends)
        self.onionbalance: subprocess.Popen | None = None
        self._pending: dict[str, Node] = {}
        self._names = [f"backend{i}" for i in range(backends)] + ["frontend"]

    def start(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        ports = iter(free_ports(self.count + 1))
        try:
            for i, key in enumerate(self.backend_keys):
                node = self._node(f"backend{i}", next(ports))
                hs = node.data_dir / "hs"
                hs.mkdir(mode=0o700, exist_ok=True)
                _write(hs / "hs_ed25519_secret_key", keys.HEADER + key.expanded)
                (hs / "ob_config").write_text(f"MasterOnionAddress {self.hostname}\n")
                self._write_torrc(
                    node,
                    [
                        f"HiddenServiceDir {hs}",
                        f"HiddenServicePort 80 127.0.0.1:{self.backend_ports[i]}",
                        "HiddenServiceOnionBalanceInstance 1",
                        "HiddenServiceExportCircuitID haproxy",
                        "HiddenServiceMaxStreams 32",
                        "HiddenServiceMaxStreamsCloseCircuit 1",
                        "HiddenServiceEnableIntroDoSDefense 1",
                        "HiddenServicePoWDefensesEnabled 1",
                        "HiddenServicePoWQueueRate 200",
                        "HiddenServicePoWQueueBurst 2000",
                    ],
                )
            front = self._node("frontend", next(ports))
            self._write_torrc(front, [])
            key_path = front.data_dir / "frontend.key"
            _write(key_path, keys.HEADER + self.frontend_key.expanded)
            (front.data_dir / "config.yaml").write_text(
                f"services:\n- key: {key_path}\n  instances:\n"
                + "".join(
                    f"  - address: {k.hostname.removesuffix('.onion')}\n    name: backend{i}\n"
                    for i, k in enumerate(self.backend_keys)
                )
            )
            for name in self._names:
                self._start_tor(name)
            # onionbalance started before its tor has the microdescriptors stops at its first upload.
            for name in self._names:
                self.network._wait_bootstrapped(self.network.nodes[name], _deadline(60))
            self.onionbalance = subprocess.Popen(
                [
                    SYSTEM_PYTHON,
                    "-P",
                    str(RUNNER),
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(front.control_port),
                    "-c",
                    str(front.data_dir / "config.yaml"),
                    "-v",
                    "info",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=open(front.data_dir / "onionbalance.log", "ab"),
                start_new_session=True,
            )
        except BaseException:
            self.stop()
            raise

    def kill_backend(self, i: int) -> None:
        """SIGKILL backend i's tor, as a crash would."""
        self.network.kill_node(f"backend{i}")

    def start_backend(self, i: int) -> None:
        self.network.start_node(f"backend{i}")

    def stop(self) -> None:
        if self.onionbalance is not None and self.onionbalance.poll() is None:
            self.onionbalance.terminate()
            try:
                self.onionbalance.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.onionbalance.kill()
                self.onionbalance.wait()
        for name in self._names:
            if name in self.network.nodes:
                self.network.kill_node(name)  # the network's own nodes are left as they were
                del self.network.nodes[name]

    # -- internals ------------------------------------------------------------------------------

    def _node(self, name: str, control_port: int) -> Node:
        data_dir = self.base_dir / name
        data_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(data_dir, 0o700)  # tor refuses a data directory others can read
        return Node(name, "hs", data_dir, control_port=control_port)

    def _write_torrc(self, node: Node, service_lines: list[str]) -> None:
        # The onion-service tor's settings of the network (SocksPort 0 included), plus the service.
        text = torrc.torrc_text(node, self.network.nodes.values(), offset=0, bandwidth_file=Path("/dev/null"))
        (node.data_dir / "torrc").write_text(text + "".join(line + "\n" for line in service_lines))
        self._pending[node.name] = node

    def _start_tor(self, name: str) -> None:
        # The network's own launcher, so that its kill_node and start_node work on these tors too.
        node = self._pending.pop(name)
        self.network.nodes[name] = node
        self.network._launch(node, disable_network=False)
        self.network._attach(node, _deadline(30))


def _deadline(seconds: float) -> float:
    return time.monotonic() + seconds


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def check_installed() -> None:
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import onionbalance.hs_v3"], capture_output=True)
    if probe.returncode != 0:
        raise PrivateNetworkError("Debian's onionbalance is not installed: apt-get install onionbalance")
