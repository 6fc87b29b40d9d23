"""install.sh on day two (issue 29): runs that did not start meldpunt exit non-zero with one line
of advice, a broken virtual environment is rebuilt, configuration changes restart meldpunt, the
tor drop-in's local tuning survives, and a backup restores the same onion address."""

from __future__ import annotations

import re
import shutil
import stat
from pathlib import Path

import pytest

from onion_service.tor import keys as okeys
from tests.deploy.deploykit import DEPLOY, Box
from tests.deploy.nginxkit import make_certificate
from tests.deploy.test_deploy_install import real_recipient_config

pytestmark = pytest.mark.skipif(shutil.which("tor") is None, reason="needs Debian's tor (make test-deps)")

CONF = "etc/meldpunt/meldpunt.toml"
DROPIN = "etc/tor/torrc.d/meldpunt.conf"
HS_KEY = "var/lib/tor/meldpunt/hs_ed25519_secret_key"


@pytest.fixture
def box(tmp_path: Path) -> Box:
    return Box(tmp_path)


def configured(box: Box) -> Box:
    box.run("install.sh", expect=3)
    real_recipient_config(box)
    return box


def meldpunt_calls(box: Box) -> list[str]:
    return [c for c in box.calls() if c.startswith("systemctl") and "meldpunt.service" in c]


def test_not_started_exits_3_and_the_last_line_says_what_to_do(box: Box):
    result = box.run("install.sh", check=False)
    assert result.returncode == 3
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("meldpunt install: NOT STARTED: put your hotline's details and staff recipients")
    assert "run " in last and "install.sh again" in last
    # The same with --no-start: installed, but not startable as it stands.
    assert box.run("install.sh", "--no-start", check=False).returncode == 3


def test_a_broken_virtual_environment_is_rebuilt(box: Box):
    configured(box)
    box.run("install.sh")
    python = box.root / "opt/meldpunt/bin/python"
    python.unlink()
    python.symlink_to("/usr/bin/python3.9-was-upgraded-away")  # Debian's python3 upgraded under it
    result = box.run("install.sh")
    assert "virtual environment in /opt/meldpunt is broken" in result.stdout
    calls = box.calls()
    assert any(c.startswith("python3 -m venv") for c in calls)
    assert len([c for c in calls if c.startswith("pip install")]) == 2
    assert "meldpunt-check: configuration OK" in result.stdout
    assert "systemctl restart meldpunt.service" in calls


@pytest.mark.skipif(not Path("/usr/sbin/nginx").exists(), reason="needs Debian's nginx (make test-deps)")
def test_a_toml_typo_with_https_proxy_is_reported_once_without_a_traceback(box: Box):
    cert, key = "/etc/ssl/meldpunt/fullchain.pem", "/etc/ssl/meldpunt/privkey.pem"
    (box.root / "etc/nginx/conf.d").mkdir(parents=True)
    make_certificate(box.root / cert.lstrip("/"), box.root / key.lstrip("/"), ["report.example.org"])
    configured(box)
    conf = box.root / CONF
    conf.write_text(conf.read_text().replace("[web]", "[web", 1))
    result = box.run(
        "install.sh", "--https-proxy", "report.example.org", "--https-cert", cert, "--https-key", key, check=False
    )
    assert result.returncode == 3
    assert "Traceback" not in result.stderr + result.stdout
    assert "public_hosts" not in result.stderr, "no advice about names the check could not read"
    assert "meldpunt-check:" in result.stderr  # the check names the broken line
    assert result.stderr.strip().splitlines()[-1].startswith("meldpunt install: NOT STARTED: fix what meldpunt-check")
    assert not any(c.startswith(("systemctl start meldpunt", "systemctl restart meldpunt")) for c in box.calls())


def test_an_edited_configuration_restarts_meldpunt_and_says_so(box: Box):
    configured(box)
    box.run("install.sh")
    assert "systemctl restart meldpunt.service" in box.calls()  # its first start

    unchanged = box.run("install.sh")
    assert "systemctl start meldpunt.service" in box.calls()
    assert "systemctl restart meldpunt.service" not in box.calls() and "restarting" not in unchanged.stdout

    conf = box.root / CONF
    conf.write_text(conf.read_text().replace("reports_per_minute = ", "reports_per_minute = 1", 1))
    edited = box.run("install.sh")
    assert "restarting meldpunt: /etc/meldpunt/meldpunt.toml changed" in edited.stdout
    assert "systemctl restart meldpunt.service" in box.calls()
    assert "systemctl start meldpunt.service" not in box.calls()
    assert "systemctl is-active --quiet meldpunt.service" in box.calls()

    box.run("install.sh")
    assert "systemctl restart meldpunt.service" not in box.calls(), "applied once, then left running"


def test_a_tuned_tor_drop_in_is_kept_and_an_untouched_one_updated(box: Box):
    configured(box)
    box.run("install.sh")
    dropin = box.root / DROPIN
    shipped = (DEPLOY / "tor/meldpunt.conf").read_text()

    # The sysadmin's tuning: kept, not restarted over, with a line saying how to merge.
    dropin.write_text(shipped.replace("HiddenServicePoWQueueRate 25", "HiddenServicePoWQueueRate 9"))
    tuned = dropin.read_bytes()
    result = box.run("install.sh")
    assert dropin.read_bytes() == tuned
    assert "kept /etc/tor/torrc.d/meldpunt.conf: it was changed on this machine" in result.stdout
    assert "diff -u /etc/tor/torrc.d/meldpunt.conf" in result.stdout
    assert not any(c.startswith("systemctl restart tor") for c in box.calls())

    # A drop-in as an older install.sh wrote it (its hash recorded) is brought up to date.
    dropin.write_text(shipped.replace("HiddenServicePoWQueueRate 25", "HiddenServicePoWQueueRate 9"))
    stamp = box.root / "etc/meldpunt/.installed-torrc.d-meldpunt.conf.sha256"
    import hashlib

    stamp.write_text(hashlib.sha256(dropin.read_bytes()).hexdigest() + "\n")
    box.run("install.sh")
    assert dropin.read_text() == shipped
    assert any(c.startswith("systemctl restart tor") for c in box.calls())


def test_the_check_says_where_each_tor_setting_comes_from(box: Box, tmp_path: Path):
    import importlib.util

    from onion_service.config import load_config

    spec = importlib.util.spec_from_file_location("meldpunt_check", DEPLOY / "meldpunt-check.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    configured(box)
    conf = box.root / CONF
    conf.write_text(re.sub(r"(?m)^pow_queue_rate = .*$", "pow_queue_rate = 7", conf.read_text()))
    dropin_dir = box.root / "etc/tor/torrc.d"
    notes, warnings = check.tor_sources(load_config(conf), str(dropin_dir))
    assert f"tor: HiddenServicePoWQueueRate 25, from {dropin_dir}/meldpunt.conf" in notes
    assert any(w.startswith("tor.pow_queue_rate = 7 in the configuration is not in force") for w in warnings)
    assert len(notes) == len(check.TOR_OPTIONS) and len(warnings) == 1
    # No drop-in for this socket: said so.
    (dropin_dir / "meldpunt.conf").unlink()
    _, warnings = check.tor_sources(load_config(conf), str(dropin_dir))
    assert warnings and "sends port 80 to unix:/run/meldpunt/web.sock" in warnings[0]


def test_no_start_does_not_restart_tor(box: Box):
    result = box.run("install.sh", "--no-start", expect=3)
    assert not any(c.startswith("systemctl restart") for c in box.calls())
    assert "not restarted (--no-start)" in result.stdout
    # The next run that starts does it.
    real_recipient_config(box)
    box.run("install.sh")
    assert "systemctl restart tor.service" in box.calls()
    box.run("install.sh")
    assert "systemctl restart tor.service" not in box.calls()


def test_restore_onto_a_fresh_root_keeps_the_onion_address(tmp_path: Path):
    # The old server: installed, configured, tor has made its key.
    (tmp_path / "old").mkdir()
    old = configured(Box(tmp_path / "old"))
    old.run("install.sh")
    hs = old.root / HS_KEY
    hs.parent.mkdir(parents=True, exist_ok=True)
    address = okeys.load_or_create(old.root / "var/lib/meldpunt")  # a key in tor's file layout
    shutil.move(old.root / "var/lib/meldpunt" / okeys.KEY_FILE, hs)

    # The backup, as deploy/README.md makes it: the two files, nothing else.
    (tmp_path / "new").mkdir()
    new = Box(tmp_path / "new")
    backup = new.root / "media/backup"
    backup.mkdir(parents=True)
    shutil.copy(old.root / CONF, backup / "meldpunt.toml")
    shutil.copy(hs, backup / "hs_ed25519_secret_key")

    result = new.run("install.sh", "--restore", "/media/backup", "--no-start")
    restored = new.root / HS_KEY
    assert okeys.load(restored) == address, "the same onion address"
    assert stat.S_IMODE(restored.stat().st_mode) == 0o600
    assert (new.root / CONF).read_bytes() == (old.root / CONF).read_bytes()
    assert stat.S_IMODE((new.root / CONF).stat().st_mode) == 0o640
    assert "restored the onion key" in result.stdout
    assert not any(c.startswith("systemctl restart") for c in new.calls()), "tor must not make a new key"

    # Then started as usual; a second restore with the same files changes nothing.
    new.run("install.sh")
    assert "systemctl restart tor.service" in new.calls(), "the restart --no-start held back"
    snapshot = new.snapshot()
    new.run("install.sh", "--restore", "/media/backup")
    assert new.snapshot() == snapshot

    # Never over a different key or configuration.
    other = new.root / "media/other"
    shutil.copytree(backup, other)
    (tmp_path / "otherkey").mkdir()
    okeys.load_or_create(tmp_path / "otherkey")
    shutil.copy(tmp_path / "otherkey" / okeys.KEY_FILE, other / "hs_ed25519_secret_key")
    refused = new.run("install.sh", "--restore", "/media/other", check=False)
    assert refused.returncode == 1 and "different onion key" in refused.stderr
    assert okeys.load(restored) == address
