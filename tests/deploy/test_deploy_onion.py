"""End to end through Tor, as deployed: the service tor publishes the service from the drop-in's
HiddenServiceDir lines (deploy/tor/meldpunt.conf, paths moved into the test's directory), with the
key in tor's own directory; `meldpunt serve` (tor.control = "torrc") runs inside meldpunt.service's
sandbox with no network and no access to tor; tor reaches it through the unix socket with its
PROXY line, and a report sent over the private Tor network is stored."""

from __future__ import annotations

import os
import re
import shutil
import stat
import sys
import time
from pathlib import Path

import pytest
import requests

from crypto.age import keys
from tests.deploy.deploykit import DEPLOY, stop_group
from tests.deploy.sandboxkit import NOBODY, RECEIPT, TOKEN, can_sandbox, sandboxed
from tests.formkit import report_fields
from tests.harness import write_config

pytestmark = [
    pytest.mark.tor,
    pytest.mark.skipif(not can_sandbox(), reason="needs root and network/mount namespaces (unshare)"),
]
ONION_LINE = re.compile(r"^onion: http://([a-z2-7]{56}\.onion)/$", re.M)


@pytest.fixture
def network(tmp_path):
    if not shutil.which("tor") or not shutil.which("tor-gencert"):
        pytest.fail("Debian's tor (with tor-gencert) is needed: make test-deps installs it")
    from devnet.private_network import PrivateNetwork

    net = PrivateNetwork(tmp_path / "net")
    try:
        net.start()
        yield net
    finally:
        net.stop()


def test_a_report_over_tor_reaches_the_sandboxed_server_through_unix_sockets_only(network, tmp_path):
    os.chmod(tmp_path, 0o755)
    etc, state, run = (tmp_path / n for n in ("etc", "state", "run"))
    for d in (etc, state, run):
        d.mkdir(mode=0o755)
    for d in (state, run):
        os.chown(d, NOBODY, NOBODY)

    # The drop-in's service, set on the service tor as the system tor reads it from its torrc.
    hs = tmp_path / "tor-hs"
    hs.mkdir(mode=0o700)
    options = []
    for line in (DEPLOY / "tor/meldpunt.conf").read_text().splitlines():
        if line.startswith("HiddenService"):
            key, value = line.split(" ", 1)
            value = value.replace("/var/lib/tor/meldpunt/", f"{hs}/").replace("/run/meldpunt/", f"{run}/")
            options.append((key, value))
    assert options[0] == ("HiddenServiceDir", f"{hs}/") and ("HiddenServiceExportCircuitID", "haproxy") in options
    network.nodes["hs"].controller.set_options(options)
    deadline = time.monotonic() + 30
    while not (hs / "hostname").exists():
        assert time.monotonic() < deadline, "tor wrote no hostname"
        time.sleep(0.1)
    onion = (hs / "hostname").read_text().strip()
    # What the unit's ExecStartPre= does: the public address, for the web server's Host check.
    (state / "onion-address").write_text(onion + "\n")
    os.chown(state / "onion-address", NOBODY, NOBODY)

    staff = keys.generate("pq")
    conf = write_config(
        etc / "meldpunt.toml",
        state,
        staff.recipient().encode(),
        form_min_seconds=0,
        bind=f"unix:{run}/web.sock",
        workers=1,
        threads=4,
        tor={"control": "torrc"},
    )
    conf.chmod(0o644)

    log = tmp_path / "serve.log"
    meldpunt = Path(sys.executable).with_name("meldpunt")
    proc = sandboxed([str(meldpunt), "serve", "--config", str(conf)], rw=[state, run], ro=[etc], log=log)
    try:
        deadline = time.monotonic() + 90
        while not (match := ONION_LINE.search(log.read_text())):
            assert proc.poll() is None, f"serve exited ({proc.returncode}): {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no onion address: {log.read_text()[-3000:]}"
            time.sleep(0.2)
        assert match.group(1) == onion

        session = requests.Session()
        proxy = f"socks5h://127.0.0.1:{network.socks_port}"
        session.proxies = {"http": proxy, "https": proxy}
        page = None
        for _ in range(10):  # the first circuit to a fresh descriptor can take a retry
            try:
                page = session.get(f"http://{onion}/en/", timeout=30)
                break
            except requests.ConnectionError:
                time.sleep(1)
        assert page is not None and page.status_code == 200
        token = TOKEN.search(page.text).group(1)
        answer = session.post(
            f"http://{onion}/en/", timeout=30, data=report_fields(token, urls="http://example.org/deploy-test")
        )
        assert answer.status_code == 200 and RECEIPT.search(answer.text), answer.text[-2000:]
    finally:
        stop_group(proc, timeout=30)

    from onion_service.store import open_store

    with open_store(f"sqlite:///{state}/reports.sqlite3") as store:
        stored = list(store.pending())
    assert len(stored) == 1
    from crypto.envelope.sealing import open_sealed

    opened = open_sealed(stored[0].sealed, [staff])
    assert opened.urls == ("http://example.org/deploy-test",)
    # The key stayed tor's: in its 0700 directory, never in the service's.
    assert (hs / "hs_ed25519_secret_key").exists() and stat.S_IMODE(hs.stat().st_mode) == 0o700
    assert not any(p.name.endswith(("secret_key", ".key")) and p.name != "form-token.key" for p in state.rglob("*"))
    network.nodes["hs"].controller.reset_conf("HiddenServiceDir")
