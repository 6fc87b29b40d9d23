"""requirements/server.lock: what deploy/install.sh installs with --require-hashes. It must pin, with
hashes, every package the server needs, at the versions constraints.txt (what CI tests) gives."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes)."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / "requirements/server.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", line)
        if m:
            current = _norm(m.group(1))
            entries[current] = (m.group(2), 0)
        elif current and re.match(r"^\s+--hash=sha256:[0-9a-f]{64}", line):
            version, n = entries[current]
            entries[current] = (version, n + 1)
    return entries


def test_every_locked_package_has_hashes_and_the_tested_version():
    lock = _lock()
    constraints = {
        _norm(name): version
        for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", (ROOT / "requirements/constraints.txt").read_text(), re.M)
    }
    assert lock and all(n >= 1 for _, n in lock.values())
    for name, (version, _) in lock.items():
        if name in constraints:
            assert version == constraints[name], f"{name}: locked {version}, tested {constraints[name]}"


def test_the_lock_covers_what_the_server_imports():
    needed = {"cryptography", "click", "flask", "flask-babel", "stem", "sqlalchemy", "gunicorn", "psycopg",
              "psycopg-binary", "werkzeug", "jinja2", "babel", "setuptools"}
    assert needed <= set(_lock())
