"""install.sh and uninstall.sh in a throwaway root: idempotent, never overwriting the configuration,
refusing to start with the example's placeholder recipient, and reversible."""

from __future__ import annotations

import datetime
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from crypto.age import keys
from onion_service.tor import keys as okeys
from tests.deploy.deploykit import DEPLOY, ROOT, Box

pytestmark = pytest.mark.skipif(shutil.which("tor") is None, reason="needs Debian's tor (make test-deps)")

ADDRESS = "meldpuntexampleaddressaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.onion"


def started(calls: list[str]) -> bool:
    return any(re.match(r"systemctl (enable|start|restart)\b.*meldpunt\.service", c) for c in calls)


def real_recipient_config(box: Box) -> str:
    conf = box.root / "etc/meldpunt/meldpunt.toml"
    recipient = keys.generate("pq").recipient().encode()
    text = conf.read_text()
    text = re.sub(r'"age1pq1…replace-with-your-staff-public-key…"', f'"{recipient}"', text)
    # The hotline's own texts in place of the example's placeholders, which meldpunt-check refuses.
    text = re.sub(r'"…replace-with-[^"]*…"', '"Test hotline"', text)
    conf.write_text(text)
    return text


@pytest.fixture
def box(tmp_path: Path) -> Box:
    return Box(tmp_path)


def test_install_twice_changes_nothing_and_waits_for_a_real_recipient(box: Box):
    before = box.snapshot()
    first = box.run("install.sh", expect=3)
    assert "NOT STARTED" in first.stderr.splitlines()[-1]
    assert not started(box.calls()), "the service must not start with the placeholder recipient"
    assert "recipients[0]" in first.stderr  # the check names the key it refuses
    after_first = box.snapshot()
    assert after_first != before

    # Every package from the hash-checked lock; meldpunt itself from the tree, fetching nothing.
    pips = [c for c in box.calls() if c.startswith("pip install")]
    assert len(pips) == 2, pips
    assert "--require-hashes -r " in pips[0] and pips[0].endswith("/requirements/server.lock")
    assert "--no-deps --no-index --no-build-isolation" in pips[1]

    second = box.run("install.sh", expect=3)
    assert box.snapshot() == after_first, "a second run must change nothing"
    assert "installed /" not in second.stdout and "created" not in second.stdout
    assert not any(c.startswith(("apt-get", "useradd", "python3 -m venv", "pip ")) for c in box.calls())
    assert not any(c.startswith("systemctl restart tor") for c in box.calls())

    # What the first run made, and how.
    r = box.root
    conf = r / "etc/meldpunt/meldpunt.toml"
    assert 'bind = "unix:/run/meldpunt/web.sock"' in conf.read_text()
    assert stat.S_IMODE(conf.stat().st_mode) == 0o640
    assert stat.S_IMODE((r / "var/lib/meldpunt").stat().st_mode) == 0o700
    assert stat.S_IMODE((r / "etc/meldpunt").stat().st_mode) == 0o750
    for unit in ("meldpunt.service", "meldpunt-check.service"):
        assert (r / "etc/systemd/system" / unit).read_bytes() == (DEPLOY / "systemd" / unit).read_bytes()
    assert (r / "etc/tmpfiles.d/meldpunt.conf").exists()
    tor_dropin = "etc/systemd/system/tor@default.service.d/meldpunt.conf"
    assert (r / tor_dropin).read_bytes() == (DEPLOY / "systemd/tor@default.service.d/meldpunt.conf").read_bytes()
    assert (r / "etc/tor/torrc.d/meldpunt.conf").read_bytes() == (DEPLOY / "tor/meldpunt.conf").read_bytes()
    torrc = (r / "etc/tor/torrc").read_text()
    assert torrc.count("%include /etc/tor/torrc.d/*.conf") == 1
    assert "/{,var/}run/meldpunt/web.sock rw," in (r / "etc/apparmor.d/local/system_tor").read_text()
    assert (r / "opt/meldpunt/libexec/meldpunt-check").read_text().startswith("#!/opt/meldpunt/bin/python -I\n")
    admin = r / "usr/local/sbin/meldpunt-admin"
    assert stat.S_IMODE(admin.stat().st_mode) == 0o755
    assert subprocess.run(["shellcheck", str(admin)], capture_output=True).returncode == 0


def test_install_starts_once_configured_and_prints_the_address(box: Box):
    box.run("install.sh", expect=3)
    text = real_recipient_config(box)
    (box.root / "var/lib/meldpunt/onion-address").write_text(ADDRESS + "\n")  # as serve writes it

    third = box.run("install.sh")
    assert started(box.calls())
    assert "systemctl enable --quiet meldpunt.service" in box.calls()
    assert f"http://{ADDRESS}/" in third.stdout
    assert (box.root / "etc/meldpunt/meldpunt.toml").read_text() == text, "the configuration is never rewritten"

    snapshot = box.snapshot()
    box.run("install.sh")
    assert box.snapshot() == snapshot
    # Nothing changed, so nothing is restarted: only started if it was not running.
    assert "systemctl start meldpunt.service" in box.calls()
    assert not any(c.startswith("systemctl restart") for c in box.calls())


def test_install_moves_an_old_onion_key_to_tor_with_the_same_address(box: Box):
    data = box.root / "var/lib/meldpunt"
    data.mkdir(parents=True)
    old = okeys.load_or_create(data)  # data_dir/onion.key, as meldpunt kept it before
    secret = (data / okeys.KEY_FILE).read_bytes()
    result = box.run("install.sh", expect=3)
    moved = box.root / "var/lib/tor/meldpunt/hs_ed25519_secret_key"
    assert moved.read_bytes() == secret and okeys.load(moved) == old  # the same address
    assert stat.S_IMODE(moved.stat().st_mode) == 0o600
    assert stat.S_IMODE(moved.parent.stat().st_mode) == 0o700
    assert "chown debian-tor:debian-tor " + str(moved) in box.calls()
    assert not (data / okeys.KEY_FILE).exists(), "the web server's data directory keeps no key"
    assert "moved the onion key" in result.stdout
    assert any(c.startswith("systemctl restart tor") for c in box.calls())

    # A different key on either side is refused rather than guessed.
    okeys.load_or_create(data)
    result = box.run("install.sh", check=False)
    assert result.returncode != 0 and "different onion keys" in result.stderr
    assert moved.read_bytes() == secret


def test_install_refuses_a_tcp_bind_the_sandbox_cannot_serve(box: Box):
    box.run("install.sh", expect=3)
    real_recipient_config(box)
    conf = box.root / "etc/meldpunt/meldpunt.toml"
    conf.write_text(conf.read_text().replace('bind = "unix:/run/meldpunt/web.sock"', 'bind = "127.0.0.1:8080"'))
    result = box.run("install.sh", expect=3)
    assert "NOT STARTED" in result.stderr and "web.bind" in result.stderr
    assert not started(box.calls())


# Directories every Debian system has: uninstall.sh empties them of meldpunt's files, and leaves them.
SYSTEM_DIRS = {
    "etc/systemd",
    "etc/systemd/system",
    "etc/tmpfiles.d",
    "opt",
    "usr",
    "usr/local",
    "usr/local/sbin",
    "var",
    "var/lib",
}


def test_uninstall_reverses_install_and_keeps_data_unless_purged(box: Box):
    before = box.snapshot()
    box.run("install.sh", expect=3)
    real_recipient_config(box)
    box.run("install.sh")
    box.run("uninstall.sh")
    assert "systemctl disable --now --quiet meldpunt.service" in box.calls()
    after = box.snapshot()
    kept = {p for p in after if p.startswith(("etc/meldpunt", "var/lib/meldpunt"))}
    assert set(after) - set(before) - kept - SYSTEM_DIRS == set()
    assert set(before) - set(after) == set()
    for path, (mode, size, digest, _mtime) in before.items():
        assert after[path][:3] == (mode, size, digest), f"{path} is not back as it was"
    assert (box.root / "var/lib/meldpunt").is_dir() and (box.root / "etc/meldpunt/meldpunt.toml").is_file()


def test_purge_refuses_while_reports_remain(box: Box):
    from onion_service.store import open_store

    box.run("install.sh", expect=3)
    real_recipient_config(box)
    with open_store(f"sqlite:///{box.root}/var/lib/meldpunt/reports.sqlite3") as store:
        store.add(b"sealed" * 10, datetime.date.today())
    refused = box.run("uninstall.sh", "--purge", check=False)
    assert refused.returncode != 0 and "1 reports are still on the server" in refused.stderr
    assert (box.root / "var/lib/meldpunt/reports.sqlite3").exists()
    assert (box.root / "opt/meldpunt").exists(), "a refused purge removes nothing"

    box.run("uninstall.sh", "--purge", "--force")
    assert not (box.root / "var/lib/meldpunt").exists()
    assert not (box.root / "etc/meldpunt").exists()
    assert "userdel meldpunt" in box.calls()


def test_shellcheck_is_clean_on_every_script():
    scripts = sorted(DEPLOY.glob("*.sh")) + [ROOT / ".ci/run"]
    result = subprocess.run(["shellcheck", "--external-sources", *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.slow  # several seconds: in make test, not make check
def test_the_package_a_server_installs_leaves_the_demo_and_its_tor_network_out(tmp_path):
    # install.sh pip-installs the checkout; what it gets is this wheel, built from the tracked files
    # alone (a checkout's own build/ folder may hold an older build).
    source = tmp_path / "source"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "--disable-pip-version-check",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("meldpunt-*.whl")
    with zipfile.ZipFile(wheel) as z:
        tops = {name.split("/", 1)[0] for name in z.namelist() if not name.startswith("meldpunt-")}
        names = set(z.namelist())
    assert {"crypto", "onion_service"} <= tops
    assert "onion_service/web/templates/form.html" in names and "meldpunt/cli/__init__.py" in names
    assert not {t for t in tops if t.startswith("devnet")}, tops
