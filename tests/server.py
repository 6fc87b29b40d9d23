"""The harness's launcher (tests/harness.py re-exports it): `Server`, meldpunt's web server run
as `meldpunt serve --local-only` runs it, in a process group of its own, on loopback or a unix
socket; `proxy_line`, what tor writes before each connection; and the processes on the machine."""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.formkit import form_body
from tests.kit import ROOT

SERVE = ("-m", "onion_service.process")


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the caller binds it soon after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def live_processes():
    """(pid, parent pid, process group) of every process that is not a zombie, from /proc."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # it exited while we looked
        state, ppid, pgid = stat.rsplit(")", 1)[1].split()[:3]
        if state != "Z":
            yield int(entry), int(ppid), int(pgid)


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for child, ppid, _ in live_processes():
        children.setdefault(ppid, []).append(child)
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def proxy_line(circuit: int) -> bytes:
    """The PROXY line tor writes before a connection with HiddenServiceExportCircuitID haproxy."""
    return (
        f"PROXY TCP6 fc00:dead:beef:4dad::{circuit >> 16:x}:{circuit & 0xFFFF:x} ::1 {circuit & 0xFFFF} 80\r\n"
    ).encode("ascii")


class Server:
    """`meldpunt serve --local-only` on a loopback port, in a process group of its own, so a test
    can SIGKILL the master and every worker at once. Its output goes to `log_dir`/serve.stdout and
    serve.stderr; with `tmpdir` it runs with TMPDIR there. `root` is the checkout it runs from and
    `command` what follows the interpreter (a bench may run another tree or another launcher).
    With `unix_socket` it listens there instead of on a port (as behind tor or a reverse proxy),
    and `request()` goes through it; `onion_address` is the address it is told it has.
    `https_socket` is the configuration's web.https_bind (a unix socket), for `request(https=True)`.
    With `deployed`, it runs as meldpunt.service does, `meldpunt serve --config` with
    `[tor] control = "torrc"`: the sockets and the onion address come from the configuration and
    the data directory, and `unix_socket` and `circuit_ids` must say what they are.
    `stop()` always leaves nothing behind."""

    def __init__(
        self,
        config_path: Path,
        log_dir: Path,
        *,
        port: int | None = None,
        tmpdir: Path | None = None,
        root: Path = ROOT,
        command: tuple[str, ...] = SERVE,
        unix_socket: Path | None = None,
        onion_address: str | None = None,
        circuit_ids: bool = False,
        https_socket: Path | None = None,
        deployed: bool = False,
    ) -> None:
        # circuit_ids: the server requires tor's PROXY line (serve --circuit-ids); `request` then
        # sends one for `circuit` (by default one id for the harness's own requests).
        self.circuit_ids = circuit_ids
        self.deployed = deployed
        if deployed:
            command = ("-m", "meldpunt.cli", "serve")
        elif circuit_ids:
            command = (*command, "--circuit-ids")
        self.config_path = config_path
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout = log_dir / "serve.stdout"
        self.stderr = log_dir / "serve.stderr"
        self.port = port or free_port()
        self.tmpdir = tmpdir
        self.root = root
        self.command = command
        self.unix_socket = unix_socket
        self.onion_address = onion_address
        self.https_socket = https_socket
        self.proc: subprocess.Popen | None = None
        self.started_in = 0.0

    def start(self, timeout: float = 30) -> Server:
        """Starts and waits until the form answers 200 (started_in: the seconds it took)."""
        assert self.proc is None or self.proc.poll() is not None
        started = time.monotonic()
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        if self.tmpdir is not None:
            env["TMPDIR"] = str(self.tmpdir)
        with open(self.stdout, "ab") as out, open(self.stderr, "ab") as err:
            bind = f"unix:{self.unix_socket}" if self.unix_socket else f"127.0.0.1:{self.port}"
            onion = ("--onion-address", self.onion_address) if self.onion_address else ()
            where = () if self.deployed else ("--bind", bind, *onion)
            self.proc = subprocess.Popen(
                [sys.executable, *self.command, "--config", str(self.config_path), *where],
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}): {self.log_tail()}")
            try:
                if self.request("GET", "/nl/", timeout=5)[0] == 200:
                    self.started_in = time.monotonic() - started
                    return self
            except OSError:
                pass
            time.sleep(0.05)  # poll interval
        self.kill()
        raise RuntimeError(f"the server did not answer within {timeout} s: {self.log_tail()}")

    def __enter__(self) -> Server:
        return self if self.running else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self) -> str:
        try:
            return self.stderr.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    # -- talking to it ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict | None = None,
        host: str | None = "127.0.0.1",
        *,
        timeout: float = 20,
        circuit: int = 0xFFFF_FFFF,
        https: bool = False,
    ) -> tuple[int, dict[str, str], str]:
        """(status, lower-cased headers, text). `host=None` sends no Host header at all. With
        circuit_ids, the connection starts with tor's PROXY line for `circuit`. With `https`, the
        request goes to the reverse proxy's socket instead, as nginx sends it: no PROXY line."""
        if https:
            assert self.https_socket is not None, "give Server an https_socket"
            conn: http.client.HTTPConnection = _UnixConnection(self.https_socket, timeout)
        elif self.unix_socket:
            conn = _UnixConnection(self.unix_socket, timeout)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if self.circuit_ids and not https:
                conn.connect()
                conn.sock.sendall(proxy_line(circuit))
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            if host is not None:
                conn.putheader("Host", host)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            if body is not None and "Content-Length" not in (headers or {}):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, text
        finally:
            conn.close()

    def post_form(
        self, lang: str, fields: dict[str, object], *, circuit: int = 0xFFFF_FFFF
    ) -> tuple[int, dict[str, str], str]:
        return self.request(
            "POST",
            f"/{lang}/",
            form_body(fields),
            {"Content-Type": "application/x-www-form-urlencoded"},
            circuit=circuit,
        )

    def raw(self, data: bytes, *, timeout: float = 5, unix: Path | None = None) -> bytes:
        """Sends bytes as they are (to the port, or to the unix socket `unix`) and returns whatever
        comes back until the server closes."""
        if unix is not None:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(timeout)
            conn.connect(str(unix))
        else:
            conn = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        with conn as s:
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server answered and closed before reading everything: read its answer
            chunks = []
            try:
                while chunk := s.recv(65536):
                    chunks.append(chunk)
            except (TimeoutError, ConnectionResetError):
                pass
            return b"".join(chunks)

    # -- its processes ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exits_within(self, seconds: float) -> bool:
        """Waits up to `seconds` for the master to exit (gunicorn halts when a worker cannot boot);
        True if it did."""
        if self.proc is None:
            return False
        try:
            self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def workers(self) -> list[int]:
        """The master's children: the web workers and the writer."""
        if not self.running:
            return []
        return [child for child, ppid, _ in live_processes() if ppid == self.proc.pid]

    def pids(self) -> list[int]:
        return [self.proc.pid, *self.workers()] if self.running else []

    def writer(self) -> int | None:
        """The pid of the writer process, or None if there is none now."""
        for pid in self.workers():
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == "meldpunt-writer":
                    return pid
            except OSError:
                continue  # gone meanwhile
        return None

    def rss_kib(self) -> list[int]:
        """Resident memory of each of the master's children, in KiB."""
        out = []
        for pid in self.workers():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out.append(int(line.split()[1]))
            except OSError:
                continue  # gone meanwhile
        return out

    def kill(self) -> None:
        """SIGKILL the master and every worker at once (a crash, or the OOM killer)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        # Workers are in the same group; wait until none is left holding the port or the files.
        deadline = time.monotonic() + 10
        while _group_alive(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)  # poll interval

    def kill_worker(self) -> bool:
        """SIGKILL one web worker; the master starts a new one. False if there was none to kill."""
        writer = self.writer()
        workers = [pid for pid in self.workers() if pid != writer]
        if not workers:
            return False
        try:
            os.kill(secrets.choice(workers), signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

    def kill_writer(self) -> bool:
        """SIGKILL the writer; the master starts a new one. False if there was none to kill."""
        pid = self.writer()
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        """SIGTERM (a normal stop), then SIGKILL for whatever is left of the group."""
        if self.proc is None or self.proc.poll() is not None:
            if self.proc is not None:
                self.kill()  # reap any worker left in the group
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        self.kill()


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self.path))


def _group_alive(pgid: int) -> bool:
    return any(group == pgid for _, _, group in live_processes())
