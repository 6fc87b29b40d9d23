"""One server, two sockets (onion_service/process/listeners.py, onion_service/web/routes.py), as
deployed: circuit ids on (the default), tor's socket (`--bind`) and the reverse proxy's
(`web.https_bind`), both unix sockets of one gunicorn master.

tor's socket still closes a connection without tor's PROXY line and answers for the onion
address only; the proxy's socket needs no PROXY line, treats one as a broken request, and answers
for the public names only. A report sent on either is acknowledged and opens offline."""

from __future__ import annotations

import pytest

from onion_service.config import load_config
from onion_service.store import open_store
from tests.formkit import report_body
from tests.harness import Server, proxy_line, write_config
from tests.onion_service.web.webkit import FORM, ONION, PUBLIC


@pytest.fixture(scope="module")
def served(tmp_path_factory, staff):
    base = tmp_path_factory.mktemp("sockets")
    (base / "tmp").mkdir()
    tor_socket, https_socket = base / "web.sock", base / "https.sock"
    config_path = write_config(
        base / "meldpunt.toml",
        base / "data",
        staff.recipient,
        form_min_seconds=0,
        public_hosts=[PUBLIC],
        https_bind=f"unix:{https_socket}",
        tor={"circuit_ids": True},
    )
    server = Server(
        config_path,
        base / "logs",
        tmpdir=base / "tmp",
        unix_socket=tor_socket,
        onion_address=ONION,
        circuit_ids=True,
        https_socket=https_socket,
    ).start()
    try:
        yield server, load_config(config_path)
    finally:
        server.stop()


def _report(server, *, https: bool, host: str, description: str):
    import re

    status, _, page = server.request("GET", "/en/", host=host, https=https)
    assert status == 200, page[:300]
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    body = report_body(token, urls="http://example.org/a", description=description)
    return server.request("POST", "/en/", body, FORM, host=host, https=https)


def test_tor_socket_still_drops_a_connection_without_the_proxy_line(served):
    server, _ = served
    request = f"GET /nl/ HTTP/1.1\r\nHost: {ONION}\r\nConnection: close\r\n\r\n".encode()
    assert server.raw(request, unix=server.unix_socket) == b""
    answered = server.raw(proxy_line(77) + request, unix=server.unix_socket)
    assert answered.startswith(b"HTTP/1.1 200 ")


def test_the_proxy_socket_needs_no_proxy_line_and_takes_none(served):
    server, _ = served
    request = f"GET /nl/ HTTP/1.1\r\nHost: {PUBLIC}\r\nConnection: close\r\n\r\n".encode()
    assert server.raw(request, unix=server.https_socket).startswith(b"HTTP/1.1 200 ")
    # A PROXY line there is not tor's (tor cannot reach this socket): a malformed request.
    refused = server.raw(proxy_line(77) + request, unix=server.https_socket)
    assert refused.startswith(b"HTTP/1.1 400 ")


def test_the_onion_route_answers_the_onion_and_loopback_only(served):
    server, _ = served
    for allowed in (ONION, "127.0.0.1"):
        assert server.request("GET", "/nl/", host=allowed)[0] == 200
    status, headers, _ = server.request("GET", "/nl/", host=PUBLIC)
    assert status == 421 and "strict-transport-security" not in headers


@pytest.mark.parametrize("host", [ONION, "127.0.0.1", "localhost", "[::1]", "evil.example"])
def test_the_https_route_answers_the_public_names_only(served, host):
    server, _ = served
    status, headers, _ = server.request("GET", "/nl/", host=PUBLIC, https=True)
    assert status == 200 and headers["onion-location"] == f"http://{ONION}/nl/"
    assert headers["strict-transport-security"] == "max-age=31536000"
    status, headers, _ = server.request("GET", "/nl/", host=host, https=True)
    assert status == 421 and "onion-location" not in headers


def test_a_report_on_each_socket_is_acknowledged_and_opens(served, staff):
    server, config = served
    for https, host in ((True, PUBLIC), (False, ONION)):
        description = f"two sockets, https={https}"
        status, _, page = _report(server, https=https, host=host, description=description)
        assert status == 200 and 'class="code"' in page, page[:500]
    with open_store(config.database_url) as store:
        opened = [staff.open(row.sealed) for row in store.pending()]
    assert sorted(r.description for r in opened if r.description.startswith("two sockets")) == [
        "two sockets, https=False",
        "two sockets, https=True",
    ]


def test_each_listening_socket_is_known_by_name_and_an_unknown_one_stops_the_worker():
    import types

    from onion_service.process.listeners import UnknownListener, by_socket_name, listening

    specs = listening("unix:/run/m/web.sock", "localhost:8443", circuit_ids=True)
    tor = types.SimpleNamespace(cfg_addr="/run/m/web.sock", getsockname=lambda: "/run/m/web.sock")
    proxy = types.SimpleNamespace(cfg_addr=("localhost", 8443), getsockname=lambda: ("127.0.0.1", 8443))
    named = by_socket_name([tor, proxy], specs)
    assert named["/run/m/web.sock"].proxy_line and named["/run/m/web.sock"].route == "onion"
    assert not named[("127.0.0.1", 8443)].proxy_line and named[("127.0.0.1", 8443)].route == "https"
    # Without circuit ids, tor's socket reads no PROXY line either; without https_bind, one socket.
    assert [s.proxy_line for s in listening("127.0.0.1:1", None, circuit_ids=False)] == [False]
    # A socket nobody described: the worker must not guess whether to demand the PROXY line.
    stray = types.SimpleNamespace(cfg_addr="/run/m/other.sock", getsockname=lambda: "/run/m/other.sock")
    with pytest.raises(UnknownListener):
        by_socket_name([tor, stray], specs)
