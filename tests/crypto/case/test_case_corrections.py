"""Assessments change only what is given, every change shows old and new values, and a decision is
corrected or undone as a new audit entry, never an erased one (issue 28, point 2)."""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest

from tests.crypto.case.casekit import address_ids, case_assess, db, imported_case, ok, run
from tests.crypto.staff.staffkit import make_report

DAY = datetime.date(2026, 11, 20)
A = ("--analyst", "Analyst One")
B = ("--analyst", "Analyst Two")


@pytest.fixture
def case(tmp_path):
    """A case file with two addresses; (folder, their ids)."""
    reports = [make_report(n, urls=(f"http://c{n}.test/",), child_in_danger=False) for n in range(2)]
    case = imported_case(tmp_path, [(r, DAY) for r in reports])
    ids = address_ids(case)
    return case, ids


def _assessment(case, aid):
    with db(case) as conn:
        return conn.execute(
            "SELECT verdict, age_group, country, provider, note, analyst FROM assessments WHERE address = ?", (aid,)
        ).fetchone()


def _queue(case):
    rows = csv.DictReader(io.StringIO(ok("case", "queue", "--case", case, "--format", "csv").stdout))
    return [int(r["case_id"]) for r in rows]


def _entries(case):
    with db(case) as conn:
        return [json.loads(e) for (e,) in conn.execute("SELECT entry FROM audit ORDER BY seq")]


def test_reassessing_keeps_what_is_not_given_and_records_old_and_new(case):
    case, (aid, _) = case
    case_assess(
        case,
        *A,
        "--verdict",
        "national",
        "--country",
        "us",
        "--provider",
        "Cloudy Inc",
        "--note",
        "login page first",
        aid,
    )
    out = case_assess(case, *B, "--verdict", "baseline", "--age-group", "prepubescent", aid).stdout
    assert out == f"Address {aid}: verdict national -> baseline; age group unknown -> prepubescent.\n"
    assert _assessment(case, aid) == ("baseline", "prepubescent", "US", "Cloudy Inc", "login page first", "Analyst Two")
    last = _entries(case)[-1]
    assert last["data"]["changed"] == {"verdict": ["national", "baseline"], "age_group": ["unknown", "prepubescent"]}
    assert last["data"]["provider"] == "Cloudy Inc"  # the entry holds the whole assessment it leaves
    shown = ok("case", "show", "--case", case, aid).stdout
    assert "assessed baseline (age group unknown -> prepubescent; verdict national -> baseline)" in shown
    assert "Hosting:        Cloudy Inc, US" in shown
    # An empty value is given, and empties; nothing given at all confirms.
    out = case_assess(case, *A, "--provider", "", aid).stdout
    assert out == f"Address {aid}: provider 'Cloudy Inc' -> (none).\n"
    assert ok("case", "assess", "--case", case, *A, aid).stdout == f"Address {aid}: unchanged.\n"
    ok("case", "verify", "--case", case)


def test_a_first_assessment_needs_a_verdict(case):
    case, (aid, _) = case
    result = run("case", "assess", "--case", case, *A, "--provider", "X", aid)
    assert result.exit_code == 1 and "give its --verdict" in result.stderr
    assert _assessment(case, aid) is None


def test_undo_restores_the_state_before_as_a_new_entry(case):
    case, (aid, other) = case
    case_assess(case, *A, "--verdict", "baseline", "--provider", "Cloudy Inc", "--country", "US", aid)
    before = _assessment(case, aid)
    case_assess(case, *B, "--verdict", "not-illegal", "--provider", "", aid)  # a mistake
    mistake = _entries(case)[-1]["seq"]
    out = ok("case", "undo", "--case", case, *B, mistake).stdout
    assert f"Address {aid}: undid entry {mistake}: " in out and "verdict not-illegal -> baseline" in out
    assert _assessment(case, aid) == before  # the first analyst's assessment, as it was
    entries = _entries(case)
    assert entries[-1]["action"] == "undo" and entries[-1]["data"]["undoes"] == mistake
    assert any(e["seq"] == mistake for e in entries)  # the mistake stays in the log
    ok("case", "verify", "--case", case)

    # A status change, undone: the status and its day come back.
    ok("case", "status", "--case", case, *A, "--set", "notice-sent", aid)
    with db(case) as conn:
        conn.execute("UPDATE addresses SET status_day = '2026-11-21' WHERE id = ?", (aid,))  # as if set that day
        seq = conn.execute("SELECT max(seq) FROM audit").fetchone()[0]
        entry = json.loads(conn.execute("SELECT entry FROM audit WHERE seq = ?", (seq,)).fetchone()[0])
    assert entry["data"]["changed"]["status"] == ["assessed", "notice-sent"]
    # (The day written beside the log is found by verify; put it back.)
    assert run("case", "verify", "--case", case).exit_code == 1
    with db(case) as conn:
        conn.execute("UPDATE addresses SET status_day = ? WHERE id = ?", (entry["day"], aid))
    ok("case", "status", "--case", case, *A, "--set", "removed", aid)
    removed = _entries(case)[-1]["seq"]
    # Only the latest change can be undone.
    result = run("case", "undo", "--case", case, *A, seq)
    assert result.exit_code == 1 and f"changed again in entry {removed}" in result.stderr
    ok("case", "undo", "--case", case, *A, removed)
    with db(case) as conn:
        assert conn.execute("SELECT status, status_day FROM addresses WHERE id = ?", (aid,)).fetchone() == (
            "notice-sent",
            entry["day"],
        )
    # Undoing the undo is a redo.
    ok("case", "undo", "--case", case, *A, _entries(case)[-1]["seq"])
    with db(case) as conn:
        assert conn.execute("SELECT status FROM addresses WHERE id = ?", (aid,)).fetchone() == ("removed",)
    ok("case", "verify", "--case", case)


def test_undoing_a_first_assessment_puts_the_address_back_in_triage(case):
    case, (aid, other) = case
    case_assess(case, *A, "--verdict", "gone", aid)
    assert _queue(case) == [other]
    ok("case", "undo", "--case", case, *A, _entries(case)[-1]["seq"])
    assert _assessment(case, aid) is None
    with db(case) as conn:
        assert conn.execute("SELECT status, status_day FROM addresses WHERE id = ?", (aid,)).fetchone() == ("new", None)
    assert sorted(_queue(case)) == sorted([aid, other])
    ok("case", "verify", "--case", case)
    # An import entry is not a decision, and an entry that does not exist is named.
    result = run("case", "undo", "--case", case, *A, 1)
    assert result.exit_code == 1 and "is a import, not an assessment" in result.stderr
    result = run("case", "undo", "--case", case, *A, 999)
    assert result.exit_code == 1 and "no audit entry 999" in result.stderr


def test_verify_finds_an_undo_whose_state_was_changed_beside_it(case):
    case, (aid, _) = case
    case_assess(case, *A, "--verdict", "baseline", aid)
    case_assess(case, *A, "--verdict", "national", aid)
    ok("case", "undo", "--case", case, *A, _entries(case)[-1]["seq"])
    with db(case) as conn:
        conn.execute("UPDATE assessments SET verdict = 'national' WHERE address = ?", (aid,))
    result = run("case", "verify", "--case", case)
    assert result.exit_code == 1 and f"address {aid}: its assessment" in result.stderr
