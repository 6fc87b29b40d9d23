"""Helpers for the case-file tests: running `meldpunt case …` in this process, and a case file's
state as bytes, to compare before and after."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from crypto.case.audit import GENESIS, canonical, chain_hash
from meldpunt.cli import main
from tests.crypto.staff.staffkit import new_identity, seal, write_bundle

ANALYST = "Test Analyst"


def run(*args, env: dict | None = None, input: str | None = None):
    # Every command that writes the audit log names its analyst; the tests' is MELDPUNT_ANALYST
    # unless a test gives --analyst (or env) itself.
    return CliRunner().invoke(
        main, [str(a) for a in args], env={"MELDPUNT_ANALYST": ANALYST, **(env or {})}, input=input
    )


def ok(*args):
    result = run(*args)
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result


def imported_case(tmp_path: Path, dated_reports, kind: str = "pq", case: Path | None = None) -> Path:
    """A case file (tmp_path/case unless given) holding dated_reports, (report, day) pairs, sealed to
    a new staff key of this kind, written to one bundle and imported with `case import`."""
    identity, key = new_identity(tmp_path, kind=kind)
    recipients = [identity.recipient()]
    write_bundle(tmp_path / "b.tar", [(secrets.token_bytes(16), seal(r, recipients), day) for r, day in dated_reports])
    case = case or tmp_path / "case"
    ok("case", "import", "--case", case, "-i", key, tmp_path / "b.tar")
    return case


def case_assess(case, *args):
    """`case assess --case CASE ARGS...`, which must succeed."""
    return ok("case", "assess", "--case", case, *args)


def address_ids(case: Path) -> list[int]:
    """The case file's address ids, in the order of their URLs."""
    with db(case) as conn:
        return [aid for (aid,) in conn.execute("SELECT id FROM addresses ORDER BY url")]


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
    if version < 9:  # before retention (crypto/case/retention.py)
        for statement in ("DROP TABLE retention_policy", "DROP TABLE retention_removed"):
            conn.execute(statement)
    if version < 8:  # before tracks (crypto/case/tracks.py)
        conn.execute("DROP TABLE tracks")
    if version < 7:  # before the classification fields (crypto/case/classification.py)
        for column in ("gender", "content_type", "virtual", "site_type", "commercial", "activity"):
            conn.execute(f"ALTER TABLE assessments DROP COLUMN {column}")
    if version < 6:  # before floods (crypto/case/floods.py)
        for statement in (
            "DROP INDEX reports_shape",
            "DROP TABLE floods",
            "ALTER TABLE reports DROP COLUMN shape",
            "ALTER TABLE addresses DROP COLUMN flooded",
        ):
            conn.execute(statement)
    if version < 5:  # before the statistics' columns and indexes (crypto/case/stats.py)
        for statement in (
            "DROP INDEX reports_stats",
            "DROP INDEX addresses_first_day",
            "DROP INDEX audit_moves",
            "ALTER TABLE reports DROP COLUMN channel",
            "ALTER TABLE reports DROP COLUMN via",
            "ALTER TABLE reports DROP COLUMN campaign",
        ):
            conn.execute(statement)
    if version < 4:  # before the triage state (crypto/case/attention.py)
        for statement in (
            "DROP INDEX addresses_unseen",
            "DROP INDEX addresses_fresh",
            "DROP TABLE looked_at",
            "ALTER TABLE addresses DROP COLUMN fresh",
            "ALTER TABLE addresses DROP COLUMN unseen_danger",
        ):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")


def strip_digests(case) -> None:
    """The case file as meldpunt wrote it before import entries carried digests: the same entries
    without "content", the chain rebuilt."""
    with db(case) as conn:
        previous = GENESIS
        for seq, text in conn.execute("SELECT seq, entry FROM audit ORDER BY seq").fetchall():
            entry = json.loads(text)
            entry["data"].pop("content", None)
            text = canonical(entry)
            previous = chain_hash(previous, text)
            conn.execute("UPDATE audit SET entry = ?, hash = ? WHERE seq = ?", (text, previous, seq))
        as_version(conn, 2)
