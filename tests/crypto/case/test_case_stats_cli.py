"""`meldpunt case stats` refusing what it cannot use (an existing folder, a bad period or campaigns
file) with one line, and a case file from before the statistics' columns brought forward."""

from __future__ import annotations

import os

import pytest

from tests.crypto.case import statskit as sk
from tests.crypto.case.casekit import ok, run
from tests.crypto.case.statskit import counts


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return sk.build(tmp_path_factory.mktemp("stats"))


def test_an_existing_folder_is_refused_unless_forced(built, tmp_path):
    case, _ = built
    out = tmp_path / "out"
    out.mkdir(mode=0o700)
    (out / "keep.txt").write_text("x")
    result = run(*sk.year_stats(case), "--out", out)
    assert result.exit_code == 1 and "already exists" in result.stderr and not (out / "stats.html").exists()
    ok(*sk.year_stats(case), "--out", out, "--force")
    assert (out / "stats.html").exists() and (out / "keep.txt").exists()
    assert oct(os.stat(out / "received.csv").st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    "args,message",
    [
        (("--from", "2020-13-01", "--to", "2020-12-31"), "is not a day"),
        (("--from", "2020-12-31", "--to", "2020-01-01"), "before it starts"),
        (("--from", "1900-01-01", "--to", "2020-12-31", "--by", "day"), "coarser --by"),
    ],
)
def test_bad_periods_are_one_line_errors(built, tmp_path, args, message):
    case, _ = built
    result = run("case", "stats", "--case", case, *args, "--out", tmp_path / "o")
    assert result.exit_code == 1 and message in result.stderr and not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "content,message",
    [
        ("2020-03-16 Lockdown\n", "line 1"),
        ("2020-03-16\n", "line 1"),
        ("# ok\n2020-3-16 a\n", "line 2"),
        ("x" * 70000, "larger than"),
    ],
)
def test_a_bad_campaigns_file_is_refused(built, tmp_path, content, message):
    case, _ = built
    (tmp_path / "c.txt").write_text(content)
    result = run(
        *sk.year_stats(case),
        "--campaigns",
        tmp_path / "c.txt",
        "--out",
        tmp_path / "o",
    )
    assert result.exit_code == 1 and message in result.stderr


def test_an_older_case_file_is_brought_forward_with_its_reports_origin(tmp_path):
    import sqlite3

    from crypto.case import schema

    case = tmp_path / "old"
    case.mkdir(mode=0o700)
    path = case / "case.sqlite3"
    path.touch(mode=0o600)
    conn = sqlite3.connect(path)
    # A case file as the version before the statistics' columns left it.
    before = next(i for i, m in enumerate(schema._MIGRATIONS) if any("COLUMN channel" in s for s in m))
    for statements in schema._MIGRATIONS[:before]:
        for statement in statements:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {before}")
    rows = [("r1", '{"channel":"https","via":"extension","campaign":"c1","version":3}'), ("r2", '{"version":2}')]
    conn.executemany(
        "INSERT INTO reports (id, sha256, day, receipt, child_in_danger, found_on, kinds, language,"
        " fields, audit_seq) VALUES (?, '', '2020-05-01', 'R', 0, 'forum', 'images', 'nl', ?, 1)",
        rows,
    )
    conn.commit()
    conn.close()
    conn = schema.open_case(str(case))
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION
        assert conn.execute("SELECT id, channel, via, campaign FROM reports ORDER BY id").fetchall() == [
            ("r1", "https", "extension", "c1"),
            ("r2", "", "", ""),
        ]
    finally:
        conn.close()
    out = tmp_path / "out"
    ok("case", "stats", "--case", case, "--from", "2020-05-01", "--to", "2020-05-31", "--internal", "--out", out)
    assert counts(out, "reports_by_channel")["not recorded"] == 1 and counts(out, "reports_by_campaign")["c1"] == 1
