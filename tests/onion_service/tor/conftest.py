"""The private Tor network, started once per test session for every Tor test (about 13 s)."""

from __future__ import annotations

import shutil
import sys

import pytest

from devnet.private_network import PrivateNetwork


@pytest.fixture(scope="session")
def tor_network(tmp_path_factory):
    if not shutil.which("tor") or not shutil.which("tor-gencert"):
        pytest.fail("Debian's tor (with tor-gencert) is needed: make test-deps installs it")
    network = PrivateNetwork(tmp_path_factory.mktemp("tor-network"))
    network.start()
    print(f"\nprivate Tor network up: {network.timings}", file=sys.stderr)
    try:
        yield network
    finally:
        network.stop()
