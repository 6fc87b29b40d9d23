"""Who nginx's limits count (deploy/nginx/meldpunt.conf, `map $remote_addr $meldpunt_client`): an
IPv6 client by its /64, whatever way its address is written, and an IPv4 client by its address.

The site's own map runs in Debian's nginx with its source replaced by a query argument, so that
any address can be tried from loopback; the answer is the key the limits would count."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest

from tests.deploy.nginxkit import Nginx
from tests.harness import free_port

SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "meldpunt.conf"
pytestmark = pytest.mark.skipif(not Path("/usr/sbin/nginx").exists(), reason="needs Debian's nginx (make test-deps)")

# address as nginx writes it (RFC 5952) -> the /64 it belongs to, as the map names it
SAME_NETWORK = [
    # the first four groups written out
    (
        ["2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::1", "2001:db8:1:2::", "2001:db8:1:2:0:ffff::5"],
        "2001:db8:1:2",
    ),
    # zeros in the network: "::" before the fourth group, the interface identifier after it
    (["2001:db8::1", "2001:db8::aaaa:bbbb:cccc:dddd", "2001:db8::"], "2001:db8::"),
    # "::" before the fourth group, and more than four groups after it
    (["2001::7:1:2:3:4", "2001::7:aaaa:bbbb:cccc:dddd"], "2001::7"),
    (["2001::6:7:1:2:3:4"], "2001::6:7"),
    (["::1", "::"], "::"),
]


@pytest.fixture(scope="module")
def client_key(tmp_path_factory):
    conf = SITE.read_text()
    block = re.search(r"map \$remote_addr \$meldpunt_client \{.*?\n\}", conf, re.S)
    assert block, "deploy/nginx/meldpunt.conf: the client map is gone"
    port = free_port()
    site = (
        block.group(0).replace("map $remote_addr", "map $arg_a")
        + f'\nserver {{\n    listen 127.0.0.1:{port};\n    location / {{ return 200 "$meldpunt_client"; }}\n}}\n'
    )
    nginx = Nginx(tmp_path_factory.mktemp("nginx"), site, https_port=port).start()

    def key(address: str) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?a={address}", timeout=10) as reply:
            return reply.read()

    yield key
    nginx.stop()


@pytest.mark.parametrize("addresses, network", SAME_NETWORK)
def test_an_ipv6_client_is_counted_by_its_64(client_key, addresses, network):
    assert {client_key(a) for a in addresses} == {network.encode()}


def test_each_64_is_a_client_of_its_own(client_key):
    keys = [client_key(addresses[0]) for addresses, _ in SAME_NETWORK]
    assert len(set(keys)) == len(keys)
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")


def test_an_ipv4_client_is_counted_by_its_own_address(client_key):
    # Not an IPv6 address: the default, the binary address of the connection (here 127.0.0.1).
    assert client_key("192.0.2.7") == bytes([127, 0, 0, 1])
