"""Helpers for the case-file tests: running `meldpunt case …` in this process, and a case file's
state as bytes, to compare before and after."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from meldpunt.cli import main

ANALYST = "Test Analyst"


def run(*args, env: dict | None = None, input: str | None = None):
    # Every command that writes the audit log names its analyst; the tests' is MELDPUNT_ANALYST
    # unless a test gives --analyst (or env) itself.
    return CliRunner().invoke(main, [str(a) for a in args], env={"MELDPUNT_ANALYST": ANALYST, **(env or {})},
                              input=input)


def ok(*args):
    result = run(*args)
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result


def case_state(case_dir: Path) -> dict[str, object]:
    """Every file under the case folder with its bytes (or 'dir'), and its mode."""
    out: dict[str, object] = {}
    if not case_dir.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(case_dir):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            mode = oct(os.lstat(p).st_mode & 0o777)
            out[str(p.relative_to(case_dir))] = ("dir" if p.is_dir() else p.read_bytes(), mode)
    return out


def db(case_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(case_dir / "case.sqlite3")


def as_version(conn: sqlite3.Connection, version: int) -> None:
    """Takes a case file's tables back to what an older meldpunt wrote (its entries are the
    caller's to change), so that opening it runs the later migrations on it."""
    if version < 5:  # before the statistics' columns and indexes (crypto/case/stats.py)
        for statement in ("DROP INDEX reports_stats", "DROP INDEX addresses_first_day", "DROP INDEX audit_moves",
                          "ALTER TABLE reports DROP COLUMN channel", "ALTER TABLE reports DROP COLUMN via",
                          "ALTER TABLE reports DROP COLUMN campaign"):
            conn.execute(statement)
    if version < 4:  # before the triage state (crypto/case/attention.py)
        for statement in ("DROP INDEX addresses_unseen", "DROP INDEX addresses_fresh", "DROP TABLE looked_at",
                          "ALTER TABLE addresses DROP COLUMN fresh", "ALTER TABLE addresses DROP COLUMN unseen_danger"):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
