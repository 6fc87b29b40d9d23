"""A real, throwaway PostgreSQL server for the tests (Debian's `postgresql` package).

The server runs from a fresh temporary cluster, listens on 127.0.0.1 (a free port) and on a unix
socket inside that cluster's directory, and keeps fsync on: the tests check durability. PostgreSQL
refuses to run as root, so as root it runs as an unprivileged user (`nobody`).

    server = PostgresServer.create()   # initdb + start
    server.url()                       # postgresql+psycopg://meldpunt@127.0.0.1:PORT/meldpunt
    server.isolated_url("t_abc")       # the same, in a fresh schema of its own
    server.kill(); server.start()      # crash and crash recovery
    server.destroy()                   # stop and remove everything
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.harness import free_port

SUPERUSER = "meldpunt"
DEPLOY_SETTINGS = Path(__file__).resolve().parent.parent / "deploy/postgresql/meldpunt.conf"
DATABASE = "meldpunt"  # made at start; tests get a schema of their own in it (isolated_url)
# The user the server runs as when the tests run as root.
UNPRIVILEGED_USER = "nobody"
FALLBACK_USER = "meldpunt-test-pg"  # made with useradd on a machine without `nobody`
_SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class PostgresError(RuntimeError):
    pass


def find_bin_dir() -> Path:
    """The newest installed PostgreSQL's bin directory (the version differs between releases)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise PostgresError("PostgreSQL is not installed (/usr/lib/postgresql/*/bin): run `make test-deps`")
    return Path(candidates[-1]).parent


def _processes() -> list[tuple[int, str, int, int]]:
    """(pid, state, ppid, pgrp) of every process, from /proc."""
    found = []
    for stat_file in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat_file).read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # pid (comm) state ppid pgrp ...; comm may contain spaces, so split after its ")".
        fields = text[text.rindex(")") + 2 :].split()
        found.append((int(text.split(" ", 1)[0]), fields[0], int(fields[1]), int(fields[2])))
    return found


def _live_members(pgid: int | None) -> set[int]:
    """Processes in process group `pgid` (any group for None) that are not zombies (a zombie holds
    no resources)."""
    return {pid for pid, state, _, pgrp in _processes() if state != "Z" and pgid in (None, pgrp)}


def _children(pid: int) -> set[int]:
    return {child for child, _, ppid, _ in _processes() if ppid == pid}


def _unprivileged_user() -> str:
    for name in (UNPRIVILEGED_USER, FALLBACK_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    useradd = shutil.which("useradd", path=_SYSTEM_PATH)
    if useradd is None:
        raise PostgresError("no unprivileged user to run PostgreSQL as, and no useradd to make one")
    subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return FALLBACK_USER


class PostgresServer:
    def __init__(self, base: Path, bin_dir: Path, user: str | None, port: int):
        self.base = base
        self.data = base / "data"
        self.socket_dir = base / "sock"
        self.log = base / "server.log"
        self.bin_dir = bin_dir
        self.user = user  # None: run as the current user
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None

    # -- life cycle -----------------------------------------------------------------------------

    @classmethod
    def create(cls) -> PostgresServer:
        """A new cluster in a new temporary directory, started."""
        bin_dir = find_bin_dir()
        user = _unprivileged_user() if os.geteuid() == 0 else None
        # Not under pytest's tmp_path: that lives in a root-only directory the server user
        # could not enter.
        base = Path(tempfile.mkdtemp(prefix="meldpunt-pg-"))
        try:
            server = cls(base, bin_dir, user, free_port())
            server._initdb()
            server.start()
            server.execute(f'CREATE DATABASE "{DATABASE}"')
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise
        return server

    def _initdb(self) -> None:
        self.socket_dir.mkdir()
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            for path in (self.base, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",  # loopback and a private socket directory only, for a test cluster
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",  # initdb's own flush only; the running server keeps fsync on
            "--no-instructions",
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
            "max_connections": "100",
            "shared_buffers": "32MB",
            "logging_collector": "off",
        }
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# meldpunt test cluster\n")
            for key, value in settings.items():
                conf.write(f"{key} = {value}\n")
            # The settings deploy/ recommends for production, so the tests run under them and
            # test_store_postgres.py can check that the server accepts each one.
            shutil.copy(DEPLOY_SETTINGS, self.data / "meldpunt.conf")
            conf.write("include 'meldpunt.conf'\n")

    def start(self, timeout: float = 30) -> None:
        """Starts the postmaster as our child, in a process group of its own, and waits until
        it accepts connections (after a crash this includes recovery from the WAL)."""
        if self.running:
            raise PostgresError("the PostgreSQL server is already running")
        command = self._as_user([str(self.bin_dir / "postgres"), "-D", str(self.data)])
        with open(self.log, "ab") as log:
            # Our own child rather than pg_ctl's: we reap it the moment it dies, so a killed
            # server can restart at once (a dead, unreaped postmaster's pid blocks a restart).
            self._process = subprocess.Popen(
                command,
                cwd=self.base,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env(),
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise PostgresError(f"the PostgreSQL server exited ({self._process.returncode}):\n{self._log_tail()}")
            probe = subprocess.run(
                [
                    str(self.bin_dir / "pg_isready"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--username",
                    SUPERUSER,
                    "--dbname",
                    "postgres",
                    "--timeout",
                    "2",
                ],
                capture_output=True,
                env=self._env(),
                timeout=30,
            )
            if probe.returncode == 0:
                return
            if time.monotonic() > deadline:
                self.kill()
                raise PostgresError(f"the PostgreSQL server did not come up in {timeout} s:\n{self._log_tail()}")
            time.sleep(0.05)

    def stop(self, mode: str = "fast", timeout: float = 30) -> None:
        """Stops the server: mode "smart", "fast" or "immediate" (immediate is a crash, and the
        next start recovers from the WAL), as pg_ctl would."""
        signals = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signals[mode])
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise PostgresError(f"the PostgreSQL server did not stop ({mode}) in {timeout} s") from None
        self._wait_for_exit(process.pid, set())  # a postmaster that stops waits for its children first

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend at once, as a crash would."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        # start_new_session: the postmaster leads its own process group. Its children (backends,
        # checkpointer, WAL writer) each call setsid() and so lead groups of their own: they are
        # found by their parent, before the postmaster dies and they are handed to init, and killed
        # too. One left to notice the postmaster's death by itself would still hold the shared
        # memory when the next start looks, and that start would refuse.
        children = _children(process.pid)
        os.killpg(process.pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(10)
        self._wait_for_exit(process.pid, children)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _wait_for_exit(self, pgid: int, children: set[int]) -> None:
        # Backends still attached to the old shared memory would make the next start refuse.
        deadline = time.monotonic() + 10
        while _live_members(pgid) or children & _live_members(None):
            if time.monotonic() > deadline:
                raise PostgresError("PostgreSQL backends outlived their postmaster")
            time.sleep(0.02)

    def destroy(self) -> None:
        """Stops the server (immediate, else SIGKILL) and removes the cluster."""
        try:
            try:
                self.stop("immediate", timeout=10)
            finally:
                self.kill()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    # -- databases ------------------------------------------------------------------------------

    def url(self, database: str = DATABASE, *, via_socket: bool = False) -> str:
        if via_socket:
            return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> list[tuple]:
        """Runs one statement in autocommit mode (CREATE/DROP DATABASE need it)."""
        import psycopg  # the test extras install it; imported late so this module loads without it

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database, autocommit=True, connect_timeout=10
        ) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def isolated_url(self, name: str) -> str:
        """A new, empty schema `name` in the `meldpunt` database, and a URL that works in it.

        Much quicker than a database per test (ms instead of ~0.3 s); the URL sets search_path.
        """
        self.execute(f'CREATE SCHEMA "{name}"', DATABASE)
        return self.url(DATABASE) + f"?options=-csearch_path%3D{name}"

    @contextlib.contextmanager
    def isolated_schema(self, prefix: str) -> Iterator[str]:
        """A URL into a new schema named `prefix` plus a random part, dropped afterwards (the
        server is started again first if the test stopped it)."""
        name = f"{prefix}_{secrets.token_hex(4)}"
        url = self.isolated_url(name)
        try:
            yield url
        finally:
            if not self.running:
                self.start()
            self.drop_isolated(name)

    def drop_isolated(self, name: str) -> None:
        """Drops the schema, first ending any session a test left holding locks in it (only
        those: other tests' idle connections to the same database are left alone)."""
        self.execute(
            "SELECT pg_terminate_backend(pid) FROM (SELECT DISTINCT l.pid FROM pg_locks l "
            "JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE n.nspname = '{name}' AND l.pid <> pg_backend_pid()) AS holders",
            DATABASE,
        )
        self.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE', DATABASE)

    def create_database(self, name: str) -> str:
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # -- internals ------------------------------------------------------------------------------

    def _run(self, tool: str, *args: str) -> None:
        command = self._as_user([str(self.bin_dir / tool), *args])
        result = subprocess.run(
            command,
            cwd=self.base,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            env=self._env(),
        )
        if result.returncode != 0:
            raise PostgresError(f"{tool} failed ({result.returncode}):\n{result.stdout}{result.stderr}")

    def _as_user(self, command: list[str]) -> list[str]:
        if self.user is None:
            return command
        # setpriv execs (runuser would stay in between as the parent): the server is our child.
        setpriv = shutil.which("setpriv", path=_SYSTEM_PATH)
        if setpriv is None:
            raise PostgresError("setpriv (util-linux) is missing: run `make test-deps`")
        entry = pwd.getpwnam(self.user)
        return [setpriv, f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--", *command]

    def _env(self) -> dict[str, str]:
        return {"PATH": _SYSTEM_PATH, "LC_ALL": "C", "HOME": str(self.base)}

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""


@contextlib.contextmanager
def backend_url(request, prefix: str):
    """For a fixture parametrised "sqlite"/"postgres" at any scope: "" (the configuration's own
    SQLite file) or a URL into a new schema on the session's PostgreSQL, dropped afterwards."""
    if request.param != "postgres":
        yield ""
        return
    pg = request.getfixturevalue("_postgres_session")
    if not pg.running:
        pg.start()
    with pg.isolated_schema(prefix) as url:
        yield url
