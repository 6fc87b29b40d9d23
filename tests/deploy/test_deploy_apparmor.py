"""Debian's AppArmor profile for tor, with the lines install.sh adds, still parses: tor may reach
meldpunt's web socket and nothing else new."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.deploykit import Box

pytestmark = pytest.mark.skipif(
    shutil.which("apparmor_parser") is None or not Path("/etc/apparmor.d/system_tor").exists(),
    reason="needs apparmor_parser and Debian's tor profile (make test-deps)",
)


def parse(base: Path) -> subprocess.CompletedProcess:
    # -Q: parse and compile only, nothing is loaded into the kernel; -p: print the preprocessed profile.
    return subprocess.run(
        ["apparmor_parser", "--base", str(base), "-Q", "-K", "-T", "-p", str(base / "system_tor")],
        capture_output=True,
        text=True,
        timeout=60,
    )


def profiles_with(local: str, tmp_path: Path) -> Path:
    base = tmp_path / "apparmor.d"
    shutil.copytree("/etc/apparmor.d", base, symlinks=True)
    (base / "local").mkdir(exist_ok=True)
    (base / "local/system_tor").write_text(local)
    return base


def test_tor_profile_with_installs_additions_parses(tmp_path):
    box = Box(tmp_path)
    box.run("install.sh", expect=3)  # not started: the example's placeholders
    local = (box.root / "etc/apparmor.d/local/system_tor").read_text()
    result = parse(profiles_with(local, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "/{,var/}run/meldpunt/web.sock rw," in result.stdout


def test_a_broken_addition_is_refused(tmp_path):
    result = parse(profiles_with("/run/meldpunt/web.sock rw\n", tmp_path))  # no trailing comma
    assert result.returncode != 0
