"""The backends' path to the shared PostgreSQL server (deploy/onionbalance/meldpunt-db-proxy.*):
meldpunt's database_url names a unix socket directory, and systemd-socket-proxyd, handed the
listening socket as systemd hands it, forwards each connection to the database server's TCP
address. Here the units' own socket name and program run under systemd-socket-activate, forwarding
to the test PostgreSQL on loopback; meldpunt serves, stores, exports through it, and a proxy that
dies gives the reporter the form back (503) until it is started again. The private link itself
(WireGuard) is not in the test: this kernel has no WireGuard (deploy/onionbalance/README.md)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from crypto.staff.bundle import read_index
from onion_service.store import open_store
from tests.clirun import meldpunt
from tests.deploy.deploykit import DEPLOY
from tests.formkit import report_fields
from tests.harness import Server, write_config
from tests.kit import RECEIPT, TOKEN
from tests.pg import SUPERUSER

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

UNITS = DEPLOY / "onionbalance"


def _unit_values(name: str, key: str) -> list[str]:
    return re.findall(rf"^{key}=(.+)$", (UNITS / name).read_text(), re.M)


class Proxy:
    """The proxy as the socket unit starts it: the listening socket made first, then the program."""

    def __init__(self, socket_path, target: str) -> None:
        self.socket_path, self.target = socket_path, target
        ((self.program, _address),) = [v.split() for v in _unit_values("meldpunt-db-proxy.service", "ExecStart")]
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if self.socket_path.exists():
            self.socket_path.unlink()
        self.process = subprocess.Popen(
            [shutil.which("systemd-socket-activate"), "-l", str(self.socket_path), self.program, self.target],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not self.socket_path.exists():
            assert time.monotonic() < deadline and self.process.poll() is None, "the proxy did not listen"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _file(server: Server, description: str) -> tuple[int, str]:
    status, _, page = server.request("GET", "/en/")
    assert status == 200
    fields = report_fields(
        TOKEN.search(page).group(1), urls="http://example.org/through-the-proxy", description=description
    )
    return server.post_form("en", fields)[::2]


def test_meldpunt_reaches_postgresql_only_through_the_units_socket_proxy(tmp_path, staff, postgres_server):
    if not shutil.which("systemd-socket-activate"):
        pytest.fail("systemd-socket-activate is needed (Debian's systemd; make test-deps installs it)")
    (listen,) = _unit_values("meldpunt-db-proxy.socket", "ListenStream")
    socket_dir = tmp_path / "meldpunt-db"
    socket_dir.mkdir()
    port = int(listen.rsplit(".", 1)[1])  # libpq looks for .s.PGSQL.<port> in the host= directory
    proxy = Proxy(socket_dir / os.path.basename(listen), f"127.0.0.1:{postgres_server.port}")
    database = "proxy_" + os.urandom(4).hex()
    direct = postgres_server.create_database(database)
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:{port}:{database}:{SUPERUSER}:unused-with-trust\n")
    passfile.chmod(0o600)
    # The form of database_url that deploy/onionbalance/README.md gives the backends.
    url = f"postgresql+psycopg://{SUPERUSER}@/{database}?host={socket_dir}&passfile={passfile}"
    config = write_config(
        tmp_path / "meldpunt.toml", tmp_path / "data", staff.recipient, database_url=url, form_min_seconds=0
    )
    server = Server(config, tmp_path / "logs")
    try:
        proxy.start()
        server.start()
        status, page = _file(server, "through-the-proxy-1")
        assert status == 200 and RECEIPT.search(page)

        proxy.kill()
        status, page = _file(server, "while-the-proxy-is-down")
        assert status == 503 and "while-the-proxy-is-down" in page and not RECEIPT.search(page)

        proxy.start()
        for attempt in range(50):  # the pool's dead connections are replaced on the next tries
            status, page = _file(server, f"after-the-proxy-is-back-{attempt}")
            if status == 200:
                break
            assert status == 503
            time.sleep(0.2)
        assert status == 200 and RECEIPT.search(page)

        meldpunt("export", "--config", str(config), "--out", str(tmp_path / "bundle.tar"), check=True)
        assert len(read_index(tmp_path / "bundle.tar")) == 2
        with open_store(direct) as store:  # the same rows, read past the proxy
            assert store.count() == 2
            assert [staff.open(r.sealed).description for r in store.pending()].count("through-the-proxy-1") == 1
    finally:
        server.stop()
        proxy.kill()
        postgres_server.drop_database(database)
