"""The lock files: requirements/server.lock, which deploy/install.sh installs with --require-hashes,
requirements/dev.lock, which the Makefile installs the same way into the checkout's venv, and
requirements/stats.lock, the offline machine's install with the charts of `case stats`. Each
must pin, with hashes, every package it is for, at the versions constraints.txt (what CI tests)
gives; and nothing may be installed past them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock(name: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes)."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", line)
        if m:
            current = _norm(m.group(1))
            entries[current] = (m.group(2), 0)
        elif current and re.match(r"^\s+--hash=sha256:[0-9a-f]{64}", line):
            version, n = entries[current]
            entries[current] = (version, n + 1)
    return entries


def _requirement_names(requirements: list[str]) -> set[str]:
    names = set()
    for requirement in requirements:
        name = _norm(re.match(r"[A-Za-z0-9_.-]+", requirement).group(0))
        names.add(name)
        if "[binary]" in requirement:
            names.add(f"{name}-binary")
    return names


@pytest.mark.parametrize("lock", ["server.lock", "dev.lock", "stats.lock"])
def test_every_locked_package_has_hashes_and_the_tested_version(lock):
    entries = _lock(lock)
    constraints = {
        _norm(name): version
        for name, version in re.findall(
            r"^([A-Za-z0-9_.-]+)==(\S+)$", (ROOT / "requirements/constraints.txt").read_text(), re.M
        )
    }
    assert entries and all(n >= 1 for _, n in entries.values())
    for name, (version, _) in entries.items():
        if name in constraints:
            assert version == constraints[name], f"{lock}: {name} locked at {version}, tested at {constraints[name]}"


def test_the_server_lock_covers_what_the_server_imports():
    needed = {
        "cryptography",
        "click",
        "flask",
        "flask-babel",
        "stem",
        "sqlalchemy",
        "gunicorn",
        "psycopg",
        "psycopg-binary",
        "werkzeug",
        "jinja2",
        "babel",
        "setuptools",
    }
    assert needed <= set(_lock("server.lock"))


def test_the_dev_lock_covers_the_project_its_extras_and_its_build_backend():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = _requirement_names(project["project"]["dependencies"] + project["build-system"]["requires"])
    for extra in project["project"]["optional-dependencies"].values():
        wanted |= _requirement_names(extra)
    missing = wanted - set(_lock("dev.lock"))
    assert not missing, f"in pyproject.toml but not in requirements/dev.lock: {sorted(missing)}"
    # The server's lock is a part of the checkout's, at the same versions.
    server, dev = _lock("server.lock"), _lock("dev.lock")
    assert {n: v for n, (v, _) in server.items()} == {n: dev[n][0] for n in server}


def test_the_stats_lock_is_the_offline_install_with_charts_at_the_checkouts_versions():
    """The offline machine's dependencies and the `stats` extra, nothing of the server, and the
    versions the tests ran with (dev.lock)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    stats, dev = _lock("stats.lock"), _lock("dev.lock")
    wanted = _requirement_names(project["dependencies"] + project["optional-dependencies"]["stats"])
    assert "matplotlib" in wanted and wanted <= set(stats)
    assert not set(stats) & _requirement_names(project["optional-dependencies"]["server"])
    assert {n: v for n, (v, _) in stats.items()} == {n: dev[n][0] for n in stats}


def test_the_makefile_installs_only_from_the_lock():
    """Every pip install in the Makefile either checks hashes against dev.lock or installs this tree
    alone, with no index and no dependencies."""
    recipes = [
        line.strip()
        for line in (ROOT / "Makefile").read_text().splitlines()
        if re.search(r"\$\(PIP\) install|pip install", line) and not line.lstrip().startswith("#")
    ]
    assert any("--require-hashes -r requirements/dev.lock" in r for r in recipes), recipes
    for recipe in recipes:
        assert "--require-hashes -r requirements/dev.lock" in recipe or {
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
        } <= set(recipe.split()), recipe
