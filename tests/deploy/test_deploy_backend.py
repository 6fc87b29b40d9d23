"""install.sh --backend (issue 29, item 6): a scale-out backend as a mode, not a manual deletion.
Its tor keeps every hardening line of the single server's, its database password stays out of the
public configuration, and uninstall.sh removes all it added."""

from __future__ import annotations

import importlib.util
import re
import shutil
import stat
from pathlib import Path

import pytest

from tests.deploy.deploykit import DEPLOY, Box
from tests.deploy.test_deploy_install import SYSTEM_DIRS, real_recipient_config
from tests.harness import make_config

pytestmark = pytest.mark.skipif(shutil.which("tor") is None, reason="needs Debian's tor (make test-deps)")

FRONTEND = "f" * 56 + ".onion"
DB = "10.8.0.7:5433"
BACKEND_ARGS = ("--backend", FRONTEND, "--database-proxy", DB)
DATABASE_URL = "postgresql+psycopg://meldpunt@/meldpunt?host=/run/meldpunt-db&passfile=/var/lib/meldpunt/pgpass"


def settings(text: str) -> set[str]:
    """A torrc's option lines, comments and blank lines left out."""
    return {line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")}


def test_the_backend_drop_in_keeps_every_hardening_line_of_the_single_servers():
    single = settings((DEPLOY / "tor/meldpunt.conf").read_text())
    backend = settings((DEPLOY / "onionbalance/backend-tor.conf").read_text())
    # Everything not about the service itself (its directory, and the address it is published at).
    hardening = {s for s in single if not s.startswith(("HiddenServiceDir ", "HiddenServicePort "))}
    assert {"SocksPort 0", "ControlPort 0", "ControlSocket 0", "SafeLogging 1", "ClientOnly 1"} <= hardening
    assert hardening - backend == set()


def test_install_backend_then_uninstall_leaves_nothing(tmp_path: Path):
    box = Box(tmp_path)
    before = box.snapshot()
    box.run("install.sh", expect=3)  # a single server first, turned into a backend below
    real_recipient_config(box)
    conf = box.root / "etc/meldpunt/meldpunt.toml"
    conf.write_text(re.sub(r"(?m)^database_url = .*$", f'database_url = "{DATABASE_URL}"', conf.read_text()))
    result = box.run("install.sh", *BACKEND_ARGS)
    r = box.root

    # tor: the backend's drop-in only, naming the frontend; no stand-alone address.
    assert not (r / "etc/tor/torrc.d/meldpunt.conf").exists()
    assert "removed /etc/tor/torrc.d/meldpunt.conf: a backend is published through the frontend only" in result.stdout
    dropin = r / "etc/tor/torrc.d/meldpunt-backend.conf"
    assert dropin.read_bytes() == (DEPLOY / "onionbalance/backend-tor.conf").read_bytes()
    ob = r / "var/lib/tor/meldpunt-backend/ob_config"
    assert ob.read_text() == f"MasterOnionAddress {FRONTEND}\n"
    assert stat.S_IMODE(ob.stat().st_mode) == 0o600 and stat.S_IMODE(ob.parent.stat().st_mode) == 0o700
    assert any(c.startswith("tor ") and "--verify-config" in c for c in box.calls())

    # meldpunt answers for the frontend; the proxy reaches the database's address and nothing else.
    assert (r / "etc/meldpunt/frontend-address").read_text() == FRONTEND + "\n"
    assert (r / "etc/systemd/system/meldpunt.service.d/backend.conf").read_bytes() == (
        DEPLOY / "onionbalance/meldpunt.service.d/backend.conf"
    ).read_bytes()
    proxy = (r / "etc/systemd/system/meldpunt-db-proxy.service").read_text()
    assert f"ExecStart=/lib/systemd/systemd-socket-proxyd {DB}\n" in proxy
    assert "IPAddressAllow=10.8.0.7\n" in proxy and "10.8.0.1" not in proxy
    assert (r / "etc/systemd/system/meldpunt-db-proxy.socket").exists()
    calls = box.calls()
    assert calls.index("systemctl enable --now --quiet meldpunt-db-proxy.socket") < calls.index(
        "systemctl restart meldpunt.service"
    )

    # Again: nothing changes. Without --backend: refused, rather than a second address.
    snapshot = box.snapshot()
    box.run("install.sh", *BACKEND_ARGS)
    assert box.snapshot() == snapshot
    refused = box.run("install.sh", check=False)
    assert refused.returncode == 1 and "this machine is a backend" in refused.stderr
    assert box.snapshot() == snapshot

    box.run("uninstall.sh")
    after = box.snapshot()
    kept = {p for p in after if p.startswith(("etc/meldpunt", "var/lib/meldpunt", "var/lib/tor/meldpunt-backend"))}
    assert set(after) - set(before) - kept - SYSTEM_DIRS - {"var/lib/tor"} == set()
    assert "systemctl disable --now --quiet meldpunt-db-proxy.socket meldpunt-db-proxy.service" in box.calls()
    box.run("uninstall.sh", "--purge", "--force")
    assert not (r / "var/lib/tor/meldpunt-backend").exists() and not (r / "etc/meldpunt").exists()


def test_install_backend_needs_both_options_and_a_real_onion_address(tmp_path: Path):
    box = Box(tmp_path)
    for args, words in [
        (("--backend", FRONTEND), "goes with --database-proxy"),
        (("--database-proxy", DB), "goes with --database-proxy"),
        (("--backend", "example.onion", "--database-proxy", DB), "not an onion address"),
        (("--backend", FRONTEND, "--database-proxy", "db.example.org:5432"), "IPv4 address and port"),
    ]:
        result = box.run("install.sh", *args, check=False)
        assert result.returncode == 2 and words in result.stderr, (args, result.stderr)


def test_the_check_keeps_database_passwords_out_of_the_configuration(tmp_path: Path, staff):
    spec = importlib.util.spec_from_file_location("meldpunt_check", DEPLOY / "meldpunt-check.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)

    def errors(url: str) -> list[str]:
        config = make_config(
            tmp_path, staff.recipient, bind="unix:/run/meldpunt/web.sock", tor={"control": "torrc"}, database_url=url
        )
        return [e for e in check.problems(config)[0] if e.startswith("database_url")]

    assert errors(DATABASE_URL) == []
    assert errors(DATABASE_URL.replace("/var/lib/meldpunt/pgpass", "/etc/meldpunt/pgpass"))
    assert errors("postgresql+psycopg://meldpunt:s3cret@/meldpunt?host=/run/meldpunt-db")
    assert "s3cret" not in " ".join(errors("postgresql+psycopg://meldpunt:s3cret@/meldpunt?host=/run/meldpunt-db"))


def test_a_single_servers_tuned_drop_in_stops_the_switch_to_a_backend(tmp_path: Path):
    box = Box(tmp_path)
    box.run("install.sh", expect=3)
    single = box.root / "etc/tor/torrc.d/meldpunt.conf"
    single.write_text(single.read_text().replace("HiddenServicePoWQueueRate 25", "HiddenServicePoWQueueRate 9"))
    result = box.run("install.sh", *BACKEND_ARGS, check=False)
    assert result.returncode == 1 and "a backend must not have it (a second address)" in result.stderr
    assert "HiddenServicePoWQueueRate 9" in single.read_text(), "the sysadmin's file is left for them to carry over"
    assert not any(c.startswith("systemctl restart") for c in box.calls())
