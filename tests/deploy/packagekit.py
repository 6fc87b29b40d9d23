"""Helpers for the Debian package's tests: the package built once, a newer build made from it, and
a root for dpkg --root.

The root starts as an empty dpkg database plus the little of a Debian 12 system the package's
scripts read: the users and groups of base-passwd and tor, tor's torrc and AppArmor's local file.
dpkg runs the maintainer scripts on this machine with DPKG_ROOT set (--force-script-chrootless), so
every path they touch must be below the root; --force-depends stands in for tor and Python, which
the root does not have.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "deploy/package/build.sh"

PASSWD = (
    "root:x:0:0:root:/root:/bin/bash\n"
    "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
    "debian-tor:x:109:115::/var/lib/tor:/bin/false\n"
)
GROUP = "root:x:0:\nwww-data:x:33:\ndebian-tor:x:115:\n"
# What the scripts may read or change on a real machine: under dpkg --root they must do neither.
HOST_FILES = ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/tor/torrc", "/etc/apparmor.d/local/system_tor")
HOST_DIRS = (
    "/opt/meldpunt",
    "/etc/meldpunt",
    "/var/lib/meldpunt",
    "/run/meldpunt",
    "/usr/share/meldpunt",
    "/etc/systemd/system/multi-user.target.wants/meldpunt.service",
)


def clean_env() -> dict[str, str]:
    """This machine's pip settings (an index, find-links, constraints) kept out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["LC_ALL"] = "C.UTF-8"
    return env


@dataclass(frozen=True)
class Built:
    deb: Path
    wheelhouse: Path
    version: str
    seconds: float


def build(dist: Path) -> Built:
    """make deb into `dist`, lintian left to its own test and the package compressed fast."""
    env = clean_env() | {
        "MELDPUNT_DIST": str(dist),
        "MELDPUNT_FAST": "1",
        "MELDPUNT_LINTIAN": "0",
        "PY": sys.executable,
    }
    start = time.monotonic()
    result = subprocess.run(["bash", str(BUILD)], env=env, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise AssertionError(f"make deb failed:\n{result.stdout}\n{result.stderr}")
    (deb,) = dist.glob("meldpunt_*_amd64.deb")
    (wheelhouse,) = dist.glob("meldpunt-offline-wheelhouse-*.tar.gz")
    version = deb.name[len("meldpunt_") : -len("_amd64.deb")]
    return Built(deb, wheelhouse, version, time.monotonic() - start)


def newer_build(built: Built, work: Path, *, conffile: str, change: tuple[str, str]) -> tuple[Path, str]:
    """The same package as a later version, as the next `make deb` would make it: a higher version,
    a shipped conffile changed (`change`: old text, new text) and SECURITY.md with one more line."""
    tree = work / "next"
    subprocess.run(["dpkg-deb", "-R", str(built.deb), str(tree)], check=True)
    version = built.version + "+next"
    control = tree / "DEBIAN/control"
    text = control.read_text()
    control.write_text(text.replace(f"Version: {built.version}\n", f"Version: {version}\n"))
    conf = tree / conffile.lstrip("/")
    old, new = change
    assert old in conf.read_text()
    conf.write_text(conf.read_text().replace(old, new))
    doc = "opt/meldpunt/share/doc/meldpunt/SECURITY.md"
    with open(tree / doc, "a") as fh:
        fh.write("\n<!-- next build -->\n")
    sums = tree / "DEBIAN/md5sums"
    lines = []
    for line in sums.read_text().splitlines():
        digest, path = line.split(None, 1)
        if path == doc:
            digest = hashlib.md5((tree / doc).read_bytes()).hexdigest()  # dpkg's md5sums format
        lines.append(f"{digest}  {path}")
    sums.write_text("\n".join(lines) + "\n")
    out = work / f"meldpunt_{version}_amd64.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Znone", "-b", str(tree), str(out)], check=True, capture_output=True
    )
    return out, version


class DebRoot:
    """A root for dpkg --root: an empty package database and a Debian 12 system's few files."""

    def __init__(self, base: Path) -> None:
        self.root = base / "root"
        admin = self.root / "var/lib/dpkg"
        for d in ("info", "updates", "triggers"):
            (admin / d).mkdir(parents=True)
        for f in ("status", "available"):
            (admin / f).touch()
        (self.root / "etc/tor").mkdir(parents=True)
        (self.root / "etc/passwd").write_text(PASSWD)
        (self.root / "etc/group").write_text(GROUP)
        shutil.copy("/etc/tor/torrc", self.root / "etc/tor/torrc")
        (self.root / "etc/apparmor.d/local").mkdir(parents=True)
        (self.root / "etc/apparmor.d/local/system_tor").write_text("# Site-specific additions\n")

    def dpkg(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["dpkg", f"--root={self.root}", "--force-script-chrootless", "--force-depends", *args],
            env=clean_env() | {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise AssertionError(f"dpkg {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def status(self) -> str:
        """dpkg's state of the package in the root ("" when it is not known at all)."""
        result = subprocess.run(
            ["dpkg-query", f"--admindir={self.root}/var/lib/dpkg", "-W", "-f=${Status} ${Version}", "meldpunt"],
            capture_output=True,
            text=True,
        )
        return result.stdout if result.returncode == 0 else ""

    def path(self, p: str) -> Path:
        return self.root / p.lstrip("/")

    def ids(self, name: str) -> tuple[int, int]:
        for line in self.path("/etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == name:
                return int(fields[2]), int(fields[3])
        raise KeyError(name)

    def gid(self, name: str) -> int:
        for line in self.path("/etc/group").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == name:
                return int(fields[2])
        raise KeyError(name)


def host_state() -> dict[str, str]:
    """The running system's files the scripts would change if they ignored DPKG_ROOT."""
    state = {}
    for f in HOST_FILES:
        p = Path(f)
        state[f] = hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "absent"
    for d in HOST_DIRS:
        p = Path(d)
        state[d] = str(p.lstat().st_mtime_ns) if os.path.lexists(p) else "absent"
    return state
