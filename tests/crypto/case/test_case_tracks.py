"""Tracks (issue 28.3): an address's takedown and its referrals side by side, each with its day,
reference and note; queue and hand-offs filter by track; a referral never replaces the takedown."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from tests.crypto.case.casekit import address_ids, as_version, case_assess, db, imported_case, ok, run
from tests.crypto.case.schemakit import errors
from tests.crypto.staff.staffkit import make_report

DAY = datetime.date(2026, 11, 20)
A = ("--analyst", "Analyst One")
SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "docs" / "handoff.schema.json").read_text())


@pytest.fixture
def case(tmp_path):
    reports = [make_report(n, urls=(f"http://t{n}.test/",), child_in_danger=False) for n in range(2)]
    case = imported_case(tmp_path, [(r, DAY) for r in reports], kind="x25519")
    ids = address_ids(case)
    case_assess(case, *A, "--verdict", "baseline", "--country", "NL", "--provider", "Host", *map(str, ids))
    return case, ids


def _export(case, *args):
    return json.loads(ok("case", "export", "--case", case, *A, "--format", "json", "--out", "-", *args).stdout)


def _tracks(case, aid):
    with db(case) as conn:
        return {
            t: (s, r, n)
            for t, s, r, n in conn.execute("SELECT track, state, reference, note FROM tracks WHERE address = ?", (aid,))
        }


def test_police_referral_and_takedown_run_side_by_side(case):
    case, (x, y) = case
    ok("case", "status", "--case", case, *A, "--set", "notice-sent", "--reference", "HOST-TICKET-7", x)
    out = ok(
        "case",
        "status",
        "--case",
        case,
        *A,
        "--set",
        "forwarded-police",
        "--reference",
        "PV-2026-0042",
        "--note",
        "officer De Vries",
        x,
    ).stdout
    assert "police reference (none) -> PV-2026-0042" in out
    assert _tracks(case, x) == {
        "takedown": ("notice-sent", "HOST-TICKET-7", ""),
        "police": ("forwarded-police", "PV-2026-0042", "officer De Vries"),
    }
    ok("case", "status", "--case", case, *A, "--set", "removed", x)
    assert _tracks(case, x)["takedown"] == ("removed", "HOST-TICKET-7", "")  # the reference stays
    assert _tracks(case, x)["police"][0] == "forwarded-police"  # removal does not end the referral
    # Hand-offs: the police's still has it after the takedown said removed; by track too.
    assert [a["case_id"] for a in _export(case, "--status", "forwarded-police")["addresses"]] == [x]
    police = _export(case, "--track", "police")
    assert errors(SCHEMA, police) == []
    (a,) = police["addresses"]
    assert (a["police_state"], a["police_reference"], a["police_note"], a["takedown_state"], a["hotline_state"]) == (
        "forwarded-police",
        "PV-2026-0042",
        "officer De Vries",
        "removed",
        "",
    )
    assert _export(case, "--status", "notice-sent")["addresses"] == []
    assert _export(case, "--track", "hotline")["addresses"] == []
    # The queue filters by track.
    queue = json.loads(
        ok("case", "queue", "--case", case, "--status", "all", "--track", "police", "--format", "json").stdout
    )
    assert [q["case_id"] for q in queue["addresses"]] == [x] and queue["total"] == 1
    shown = ok("case", "show", "--case", case, "--brief", x).stdout
    assert "forwarded-police since" in shown and "PV-2026-0042" in shown and "HOST-TICKET-7" in shown
    ok("case", "verify", "--case", case)


def test_a_reference_or_note_alone_and_undo(case):
    case, (x, y) = case
    ok("case", "status", "--case", case, *A, "--set", "forwarded-police", "--reference", "PV-1", x)
    ok("case", "status", "--case", case, *A, "--set", "notice-sent", x)
    out = ok("case", "status", "--case", case, *A, "--track", "police", "--reference", "PV-1-corrected", x).stdout
    assert "police reference PV-1 -> PV-1-corrected" in out
    with db(case) as conn:
        assert conn.execute("SELECT status FROM addresses WHERE id = ?", (x,)).fetchone() == ("notice-sent",)
        seq = conn.execute("SELECT max(seq) FROM audit").fetchone()[0]
    ok("case", "verify", "--case", case)
    ok("case", "undo", "--case", case, *A, seq)
    assert _tracks(case, x)["police"] == ("forwarded-police", "PV-1", "")
    ok("case", "verify", "--case", case)
    with db(case) as conn:
        seq = conn.execute(
            'SELECT max(seq) FROM audit WHERE entry LIKE \'%"status":"notice-sent"%\''
            ' AND entry LIKE \'%"action":"status"%\''
        ).fetchone()[0]
    # Later changes (the reference, its undo) come after the notice-sent entry: it cannot be undone first.
    result = run("case", "undo", "--case", case, *A, seq)
    assert result.exit_code != 0 and "undo that one first" in result.output
    ok("case", "verify", "--case", case)
    # A track must be one the status goes on; a reference belongs to a track.
    result = run("case", "status", "--case", case, *A, "--set", "forwarded-police", "--track", "takedown", y)
    assert result.exit_code != 0 and "not on the takedown track" in result.output
    result = run("case", "status", "--case", case, *A, "--set", "assessed", "--reference", "R", y)
    assert result.exit_code != 0 and "belong to a track" in result.output
    result = run("case", "status", "--case", case, *A, "--track", "hotline", "--note", "n", y)
    assert result.exit_code != 0 and "not on the hotline track yet" in result.output
    # The partner hotline's answer goes on its own track.
    ok("case", "status", "--case", case, *A, "--set", "forwarded-hotline", "--reference", "INHOPE-ICCAM-9", y)
    ok("case", "status", "--case", case, *A, "--set", "removed", "--track", "hotline", y)
    assert _tracks(case, y) == {"hotline": ("removed", "INHOPE-ICCAM-9", "")}
    ok("case", "verify", "--case", case)


def test_verify_checks_tracks_and_an_older_case_file_gets_them(case):
    case, (x, y) = case
    ok("case", "status", "--case", case, *A, "--set", "notice-sent", "--reference", "T-1", x)
    ok("case", "status", "--case", case, *A, "--set", "forwarded-police", x)
    with db(case) as conn:
        conn.execute("UPDATE tracks SET reference = 'forged' WHERE address = ?", (x,))
    result = run("case", "verify", "--case", case)
    assert result.exit_code != 0 and f"address {x}: its tracks" in result.output
    with db(case) as conn:
        as_version(conn, 7)  # before tracks: opening replays them from the log
    ok("case", "verify", "--case", case)
    assert _tracks(case, x) == {"takedown": ("notice-sent", "T-1", ""), "police": ("forwarded-police", "", "")}
