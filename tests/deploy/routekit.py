"""The HTTPS route the deploy tests run: the box install.sh --https-proxy renders the site in, and
the live route on loopback (meldpunt as deployed, nginx with that site, a relay giving Chromium
the client address CLIENT): the `route` fixture (module scope) of test_deploy_https.py, which
imports it by its function name, route_fixture."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from onion_service.config import load_config
from tests.deploy.deploykit import Box
from tests.deploy.nginxkit import Nginx, https_request, make_certificate, on_loopback
from tests.harness import Server, free_port, write_config

NAMES = ["report.example.org", "www.report.example.org"]
ONION = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"
CLIENT = "127.86.53.19"  # the reporter's address, as nginx sees it
CERT, KEY = "/etc/ssl/meldpunt/fullchain.pem", "/etc/ssl/meldpunt/privkey.pem"


def install_with_proxy(box: Box, *extra: str, expect: int = 3):
    # 3: installed, not started (the configuration is the example's until a test writes its own).
    return box.run(
        "install.sh",
        "--no-start",
        *[a for n in NAMES for a in ("--https-proxy", n)],
        "--https-cert",
        CERT,
        "--https-key",
        KEY,
        *extra,
        expect=expect,
    )


def boxed(tmp: Path) -> Box:
    box = Box(tmp)
    (box.root / "etc/nginx/conf.d").mkdir(parents=True)  # as Debian's nginx package leaves it
    make_certificate(box.root / CERT.lstrip("/"), box.root / KEY.lstrip("/"), NAMES)
    return box


class Relay:
    """Chromium cannot choose its source address: it connects here, and every connection goes on
    to nginx from CLIENT."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=30, source_address=(CLIENT, 0))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass  # the other side closed
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already shut

    def close(self) -> None:
        self.closed = True
        self.listener.close()


class Route:
    def __init__(self, box, server, config, nginx, relay, http_port) -> None:
        self.box, self.server, self.config, self.nginx, self.relay = box, server, config, nginx, relay
        self.http_port = http_port

    def get(self, host: str | None, path: str = "/nl/", *, sni: str = NAMES[0], source: str = CLIENT, **kw):
        return https_request(self.nginx.https_port, sni=sni, host=host, path=path, source=source, **kw)


@pytest.fixture(scope="module", name="route")
def route_fixture(tmp_path_factory, staff):
    base = tmp_path_factory.mktemp("https")
    (base / "box").mkdir()
    box = boxed(base / "box")
    install_with_proxy(box)
    rendered = (box.root / "etc/nginx/conf.d/meldpunt.conf").read_text()

    # /run/meldpunt/web.sock and /run/meldpunt-https/https.sock, as the units and tmpfiles make them.
    sock, https_sock = base / "run" / "web.sock", base / "run-https" / "https.sock"
    sock.parent.mkdir()
    https_sock.parent.mkdir()
    (base / "tmp").mkdir()
    (base / "data").mkdir(mode=0o700)
    # What the unit copies from tor's hostname file before each start.
    (base / "data" / "onion-address").write_text(ONION + "\n")
    config_path = write_config(
        base / "meldpunt.toml",
        base / "data",
        staff.recipient,
        form_min_seconds=1,
        public_hosts=NAMES,
        bind=f"unix:{sock}",
        https_bind=f"unix:{https_sock}",
        tor={"control": "torrc"},
    )
    config = load_config(config_path)
    assert config.tor.circuit_ids, "the default, as deployed"
    server = Server(
        config_path,
        base / "logs",
        tmpdir=base / "tmp",
        unix_socket=sock,
        https_socket=https_sock,
        circuit_ids=True,
        deployed=True,
    ).start()
    https_port, http_port = free_port(), free_port()
    site = on_loopback(
        rendered,
        https_port=https_port,
        http_port=http_port,
        socket_path=https_sock,
        log_dir=base / "nginx" / "log",
        root=box.root,
    )
    nginx = Nginx(base / "nginx", site, https_port=https_port)
    checked = nginx.test()
    assert checked.returncode == 0, checked.stderr
    nginx.start()
    relay = Relay(https_port)
    try:
        yield Route(box, server, config, nginx, relay, http_port)
    finally:
        relay.close()
        nginx.stop()
        server.stop()
