"""A complete Tor network on 127.0.0.1, for the tests and the demo.

Three directory authorities, three relays, the onion service's tor and a client tor with a SOCKS
port: eight `tor` processes from Debian's package, keys from `tor-gencert`. Nothing leaves
loopback, and no node knows any address but 127.0.0.1.

The comments below give the reason for each setting that is not tor's default: each one
avoids a way in which such a network fails to start, or starts slowly, on a 2-core machine.

Every tor is owned twice: by `__OwningControllerProcess` (tor polls for the owner's pid) and by
TAKEOWNERSHIP on the one controller per node that this object keeps open for the network's
lifetime (stem sends it on authentication), so the tors exit as soon as the owning process dies,
SIGKILL included.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import stem
import stem.connection
import stem.control

from devnet import torrc
from devnet.node import Node, PrivateNetworkError, free_ports
from devnet.node_keys import default_key_cache, make_node_keys

AUTHORITIES = 3
RELAYS = 3  # 4 relays in all is the least that worked; 3 + 3 starts reliably on 2 cores.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0


class PrivateNetwork:
    """Start with `start()`, stop with `stop()` (or use it as a context manager).

    `socks_port` is the client's SOCKS port, `hs_control_port` the onion-service tor's control
    port (cookie authentication, cookie in its data directory).
    """

    def __init__(
        self,
        base_dir: str | os.PathLike,
        *,
        key_cache: str | os.PathLike | None = None,
        tor_cmd: str = "tor",
        gencert_cmd: str = "tor-gencert",
    ) -> None:
        self.base_dir = Path(base_dir)
        self.key_cache = Path(key_cache) if key_cache is not None else default_key_cache()
        self.tor_cmd = tor_cmd
        self.gencert_cmd = gencert_cmd
        self.nodes: dict[str, Node] = {}
        self.timings: dict[str, float] = {}
        self._started_at = 0.0
        self._t0 = self._deadline = 0.0

    # -- public ---------------------------------------------------------------------------------

    @property
    def socks_port(self) -> int:
        return self.nodes["client"].socks_port

    @property
    def hs_control_port(self) -> int:
        return self.nodes["hs"].control_port

    def pids(self) -> dict[str, int]:
        return {
            n.name: n.process.pid for n in self.nodes.values() if n.process is not None and n.process.poll() is None
        }

    def client_options(self) -> dict[str, str | list[str]]:
        """torrc options for one more tor (not a relay) that joins this network (tests)."""
        return {
            "TestingTorNetwork": "1",
            "PathsNeededToBuildCircuits": "0.67",
            "GeoIPFile": "/dev/null",
            "GeoIPv6File": "/dev/null",
            "ShutdownWaitLength": "0",
            "DirAuthority": [
                f"{n.name} orport={n.or_port} no-v2 v3ident={n.v3ident} 127.0.0.1:{n.dir_port} {n.fingerprint}"
                for n in self.nodes.values()
                if n.role == "authority"
            ],
        }

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Launch every tor and wait until the client and the service's tor are bootstrapped."""
        self.launch(timeout)
        self.wait_ready()

    def launch(self, timeout: float = START_TIMEOUT) -> None:
        """Make keys, start every tor and take ownership; the ports are known from here on.

        The onion service's tor already takes ADD_ONION now; it uploads once `wait_ready` is done.
        """
        for tool in (self.tor_cmd, self.gencert_cmd):
            if shutil.which(tool) is None:
                raise PrivateNetworkError(
                    f"'{tool}' is not installed; on Debian: apt-get install tor (it ships tor-gencert)"
                )
        t0 = self._t0 = time.monotonic()
        self._deadline = t0 + timeout
        try:
            self._plan()
            self._make_keys()
            self.timings["keys"] = time.monotonic() - t0
            (self.base_dir / "bandwidth").write_text(torrc.bandwidth_text(self.nodes.values()))
            self._started_at = time.time()
            offset = torrc.voting_start_offset(self._started_at)
            for node in self.nodes.values():
                text = torrc.torrc_text(
                    node, self.nodes.values(), offset=offset, bandwidth_file=self.base_dir / "bandwidth"
                )
                (node.data_dir / "torrc").write_text(text)
            for node in self.nodes.values():
                # The onion service's tor and the client stay off the network until a consensus
                # lists every relay: started earlier, they bootstrap on a partial one and stall.
                self._launch(node, disable_network=node.role in ("hs", "client"))
            for node in self.nodes.values():
                self._attach(node, self._deadline)
        except BaseException:
            self.stop()
            raise

    def wait_ready(self) -> None:
        try:
            self._wait_for_consensus(self._deadline)
            self.timings["consensus"] = time.monotonic() - self._t0
            for name in ("hs", "client"):
                controller = self.nodes[name].controller
                assert controller is not None  # start() attached every node
                controller.set_conf("DisableNetwork", "0")
            for name in ("hs", "client"):
                self._wait_bootstrapped(self.nodes[name], self._deadline)
            self.timings["bootstrapped"] = time.monotonic() - self._t0
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every tor this network started; safe to call twice."""
        for node in self.nodes.values():
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes.values():
            self._close_controller(node)
        for node in self.nodes.values():
            self._reap(node)

    def kill_node(self, name: str) -> None:
        """SIGKILL one node's tor, as a crash would (the tests use it on "hs")."""
        node = self.nodes[name]
        if node.process is not None:
            node.process.kill()
            node.process.wait()
        self._close_controller(node)

    def start_node(self, name: str, timeout: float = 30.0) -> None:
        """Start a node again with the same data directory and ports, e.g. after `kill_node`."""
        node = self.nodes[name]
        self._launch(node, disable_network=False)
        self._attach(node, time.monotonic() + timeout)

    def __enter__(self) -> PrivateNetwork:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- planning and keys ----------------------------------------------------------------------

    def _plan(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        names = (
            [(f"auth{i}", "authority") for i in range(AUTHORITIES)]
            + [(f"relay{i}", "relay") for i in range(RELAYS)]
            + [("hs", "hs"), ("client", "client")]
        )
        ports = iter(free_ports(len(names) * 2 + AUTHORITIES + 1))
        for name, role in names:
            data_dir = self.base_dir / name
            data_dir.mkdir(mode=0o700, exist_ok=True)
            os.chmod(data_dir, 0o700)  # tor refuses a data directory others can read
            node = Node(name, role, data_dir, control_port=next(ports))
            if node.is_relay:
                node.or_port = next(ports)
            if role == "authority":
                node.dir_port = next(ports)
            if role == "client":
                node.socks_port = next(ports)
            self.nodes[name] = node

    def _make_keys(self) -> None:
        relays = [n for n in self.nodes.values() if n.is_relay]
        with ThreadPoolExecutor(max_workers=len(relays)) as pool:
            list(pool.map(lambda n: make_node_keys(n, self.key_cache, self.tor_cmd, self.gencert_cmd), relays))

    # -- processes ------------------------------------------------------------------------------

    def _launch(self, node: Node, *, disable_network: bool) -> None:
        args = [self.tor_cmd, "-f", str(node.data_dir / "torrc"), "--defaults-torrc", "/dev/null"]
        if disable_network:
            args += ["--DisableNetwork", "1"]
        with open(node.data_dir / "stderr.log", "ab") as err:
            node.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                cwd=node.data_dir,
                start_new_session=True,
            )

    def _attach(self, node: Node, deadline: float) -> None:
        """Open the node's controller. Authenticating takes ownership (TAKEOWNERSHIP), so closing this
        controller would stop the tor: it stays open for the network's lifetime."""
        process = node.process
        assert process is not None  # launched just before
        while True:
            if process.poll() is not None:
                raise PrivateNetworkError(f"tor {node.name} exited ({process.returncode}): {self._log_tail(node)}")
            try:
                controller = stem.control.Controller.from_port("127.0.0.1", node.control_port)
            except stem.SocketError:
                if time.monotonic() > deadline:
                    raise PrivateNetworkError(f"tor {node.name}: control port never opened") from None
                time.sleep(0.05)
                continue
            try:
                controller.authenticate()
            except (stem.connection.AuthenticationFailure, stem.SocketError):
                # The cookie file is written a moment after the port opens.
                controller.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                continue
            node.controller = controller
            return

    def _wait_for_consensus(self, deadline: float) -> None:
        """Until one authority's consensus lists every relay as Running, Guard and Stable."""
        relays = {n.fingerprint for n in self.nodes.values() if n.is_relay}
        controller = self.nodes["auth0"].controller
        assert controller is not None  # start() attached every node
        while True:
            try:
                text = controller.get_info("ns/all", "")
            except stem.ControllerError:
                text = ""
            if relays <= _usable_relays(text):
                return
            if time.monotonic() > deadline:
                raise PrivateNetworkError("the private network's consensus never listed every relay")
            time.sleep(0.25)

    def _wait_bootstrapped(self, node: Node, deadline: float) -> None:
        controller, process = node.controller, node.process
        assert controller is not None and process is not None  # start() launched and attached it
        while True:
            phase = controller.get_info("status/bootstrap-phase", "")
            if "PROGRESS=100" in phase:
                return
            if process.poll() is not None:
                raise PrivateNetworkError(f"tor {node.name} exited: {self._log_tail(node)}")
            if time.monotonic() > deadline:
                raise PrivateNetworkError(f"tor {node.name} did not bootstrap: {phase}")
            time.sleep(0.1)

    def _close_controller(self, node: Node) -> None:
        if node.controller is not None:
            node.controller.close()
            node.controller = None

    def _reap(self, node: Node) -> None:
        if node.process is None:
            return
        try:
            node.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()

    def _log_tail(self, node: Node) -> str:
        texts = []
        for name in ("stderr.log", "notice.log"):
            path = node.data_dir / name
            if path.exists():
                texts.append(path.read_text(errors="replace")[-600:])
        return " | ".join(texts)


def _usable_relays(ns_text: str) -> set[str]:
    """Fingerprints (hex, upper case) of the entries flagged Running, Guard and Stable."""
    usable, current = set(), None
    for line in ns_text.splitlines():
        if line.startswith("r "):
            identity = line.split()[2]
            current = base64.b64decode(identity + "=" * (-len(identity) % 4)).hex().upper()
        elif line.startswith("s ") and current is not None:
            if {"Running", "Guard", "Stable"} <= set(line.split()[1:]):
                usable.add(current)
            current = None
    return usable


def main(argv: list[str]) -> int:
    """`python -m devnet.private_network DIR`: run a network until killed.

    Prints one JSON line (pids and ports) once it is up. Used by the test that SIGKILLs the owner.
    """
    net = PrivateNetwork(argv[0])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        net.start()
        print(
            json.dumps(
                {
                    "pids": net.pids(),
                    "socks_port": net.socks_port,
                    "hs_control_port": net.hs_control_port,
                    "timings": net.timings,
                }
            ),
            flush=True,
        )
        while True:
            time.sleep(3600)
    finally:
        net.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
