"""Helpers for the case-file tests: running `meldpunt case …` in this process, and a case file's
state as bytes, to compare before and after."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from meldpunt.cli import main


def run(*args, env: dict | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


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
