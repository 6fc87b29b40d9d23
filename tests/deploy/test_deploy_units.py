"""The systemd units: systemd itself accepts them, and rates meldpunt's sandbox at 1.0 or lower."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.deploykit import DEPLOY

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (make test-deps)"
)

UNITS = ("meldpunt.service", "meldpunt-check.service")
SCALE_OUT_DROPIN = DEPLOY / "onionbalance/meldpunt.service.d/backend.conf"
# systemd-analyze security: 0.0 is a unit that can do nothing; a unit without any hardening is 9.6.
TARGET = 1.0


def fake_root(tmp_path: Path) -> Path:
    """A root with the system's unit directory, our units, and executables at the units' paths."""
    root = tmp_path / "root"
    shutil.copytree("/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(DEPLOY / "systemd" / unit, root / "etc/systemd/system" / unit)
    for exe in (
        "opt/meldpunt/bin/meldpunt",
        "opt/meldpunt/libexec/meldpunt-check",
        "opt/meldpunt/bin/python3",
        "usr/bin/install",
    ):
        path = root / exe
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    return root


def verify(root: Path, *units: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", *units], capture_output=True, text=True, timeout=60
    )


def test_systemd_accepts_the_units_without_a_warning(tmp_path):
    root = fake_root(tmp_path)
    result = verify(root, *(f"/etc/systemd/system/{u}" for u in UNITS))
    assert result.returncode == 0 and result.stderr == "" and result.stdout == "", result.stderr


def test_verify_is_strict_enough_to_catch_a_typo(tmp_path):
    # The test above could pass vacuously if verify ignored our files; a misspelt value must show.
    root = fake_root(tmp_path)
    unit = root / "etc/systemd/system/meldpunt.service"
    unit.write_text(unit.read_text().replace("ProtectSystem=strict", "ProtectSystem=stric"))
    result = verify(root, "/etc/systemd/system/meldpunt.service")
    assert "meldpunt.service:" in result.stderr and "stric" in result.stderr


def exposure(unit_path: Path) -> float:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(unit_path)], capture_output=True, text=True, timeout=60
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    return float(match.group(1))


@pytest.mark.parametrize("unit", UNITS)
def test_security_exposure_is_at_most_one(unit):
    score = exposure(DEPLOY / "systemd" / unit)
    assert score <= TARGET, f"{unit}: systemd-analyze security scores {score}, above {TARGET}"


def test_the_score_is_read_correctly(tmp_path):
    # The parser must see a bad score as bad: an unhardened service scores far above the target.
    bare = tmp_path / "bare.service"
    bare.write_text("[Service]\nExecStart=/bin/true\n")
    assert exposure(bare) > 9


def test_sandbox_settings_that_the_promises_rest_on():
    # The score allows trade-offs; these settings carry a promise of SECURITY.md and may not be traded.
    text = (DEPLOY / "systemd/meldpunt.service").read_text()
    settings = dict(line.split("=", 1) for line in text.splitlines() if re.match(r"^[A-Z]\w+=", line))
    assert settings["PrivateNetwork"] == "yes"  # no outbound connection, enforced by the kernel
    assert settings["RestrictAddressFamilies"] == "AF_UNIX"
    assert settings["IPAddressDeny"] == "any"
    assert settings["StandardOutput"] == settings["StandardError"] == "null"  # no logs
    assert settings["MemorySwapMax"] == "0" and settings["LimitCORE"] == "0"  # no plaintext on disk
    assert settings["MemoryDenyWriteExecute"] == "yes"
    assert settings["UMask"] == "0077"
    assert settings["ProtectSystem"] == "strict"
    assert settings["CapabilityBoundingSet"] == ""
    assert settings["ExecStart"].endswith("serve --config /etc/meldpunt/meldpunt.toml")


def test_scale_out_backend_units_are_accepted_and_meldpunt_keeps_its_score(tmp_path):
    root = fake_root(tmp_path)
    units = root / "etc/systemd/system"
    (units / "meldpunt.service.d").mkdir()
    shutil.copy(SCALE_OUT_DROPIN, units / "meldpunt.service.d/backend.conf")
    for name in ("meldpunt-db-proxy.socket", "meldpunt-db-proxy.service"):
        shutil.copy(DEPLOY / "onionbalance" / name, units / name)
    proxyd = root / "lib/systemd/systemd-socket-proxyd"
    proxyd.parent.mkdir(parents=True)
    proxyd.write_text("#!/bin/sh\n")
    proxyd.chmod(0o755)
    result = verify(
        root,
        "/etc/systemd/system/meldpunt.service",
        "/etc/systemd/system/meldpunt-db-proxy.socket",
        "/etc/systemd/system/meldpunt-db-proxy.service",
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    # A drop-in is read after the unit: appended to it, systemd-analyze rates what a backend runs.
    merged = tmp_path / "meldpunt.service"
    merged.write_text((DEPLOY / "systemd/meldpunt.service").read_text() + "\n" + SCALE_OUT_DROPIN.read_text())
    assert exposure(merged) <= TARGET
    assert not re.search(r"^PrivateNetwork=", SCALE_OUT_DROPIN.read_text(), re.M), "a backend keeps PrivateNetwork=yes"
    # The proxy is the one part that touches the network; it too stays at the target.
    assert exposure(DEPLOY / "onionbalance/meldpunt-db-proxy.service") <= TARGET


TOR_DROPIN = DEPLOY / "systemd/tor@default.service.d/meldpunt.conf"


@pytest.mark.skipif(not Path("/lib/systemd/system/tor@default.service").exists(), reason="needs Debian's tor")
def test_the_system_tors_drop_in_is_accepted_and_keeps_its_memory_off_disk(tmp_path):
    # tor decrypts the reporter's stream: a report's plaintext sits in its buffers too, so tor
    # gets the same no-swap, no-core-dump settings as meldpunt itself.
    root = fake_root(tmp_path)
    for exe in ("usr/bin/install", "usr/bin/tor", "bin/kill"):
        (root / exe).parent.mkdir(parents=True, exist_ok=True)
        (root / exe).write_text("#!/bin/sh\n")
        (root / exe).chmod(0o755)
    dropin = root / "etc/systemd/system/tor@default.service.d/meldpunt.conf"
    dropin.parent.mkdir()
    shutil.copy(TOR_DROPIN, dropin)
    result = verify(root, "tor@default.service")
    assert result.returncode == 0 and "meldpunt.conf" not in result.stderr, result.stderr
    # ... and verify reads the drop-in: a misspelt value in it shows.
    dropin.write_text(TOR_DROPIN.read_text().replace("MemorySwapMax=0", "MemorySwapMax=nul"))
    assert "meldpunt.conf" in verify(root, "tor@default.service").stderr
    settings = dict(line.split("=", 1) for line in TOR_DROPIN.read_text().splitlines() if re.match(r"^[A-Z]\w+=", line))
    assert settings == {"MemorySwapMax": "0", "LimitCORE": "0"}
