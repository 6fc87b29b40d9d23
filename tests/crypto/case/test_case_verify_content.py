"""`meldpunt case verify` checks what was imported, not only which ids: a report's answers,
receipt code and child-in-danger answer, an address's count and a report's mentions, each
changed beside meldpunt, is found and named; audited decisions that change the tables are not."""

from __future__ import annotations

import datetime
import json
import secrets

import pytest

from crypto.case.schema import VERSION
from crypto.case.shapes import shape
from tests.crypto.case.casekit import case_assess, db, ok, run, strip_digests
from tests.crypto.staff.staffkit import make_report, new_identity, seal, write_bundle

DAY = datetime.date(2026, 11, 20)
ANALYST = ("--analyst", "Analyst One")


@pytest.fixture
def case(tmp_path):
    """Two imports: a0..a2 named by 3..1 reports on DAY, then a0 again, spelled otherwise and
    on an earlier day (so its shown spelling and first day change), with a new address b."""
    identity, key = new_identity(tmp_path)
    first = [
        make_report(n, urls=tuple(f"http://a{i}.test/" for i in range(n + 1)), child_in_danger=False) for n in range(3)
    ]
    second = [make_report(9, urls=("HTTP://A0.test", "http://b.test/x"), child_in_danger=True)]
    for name, reports, day in (("1.tar", first, DAY), ("2.tar", second, DAY - datetime.timedelta(days=3))):
        write_bundle(
            tmp_path / name, [(secrets.token_bytes(16), seal(r, [identity.recipient()]), day) for r in reports]
        )
        ok("case", "import", "--case", tmp_path / "case", "-i", key, tmp_path / name)
    return tmp_path / "case"


def _address(case, url: str) -> int:
    with db(case) as conn:
        (aid,) = conn.execute("SELECT address FROM mentions WHERE original = ?", (url,)).fetchone()
    return aid


def _report(case, url: str) -> str:
    """The one report naming `url` and only it, or the first of several."""
    with db(case) as conn:
        return conn.execute("SELECT min(report) FROM mentions WHERE original = ?", (url,)).fetchone()[0]


def _fails(case, *phrases: str) -> str:
    result = run("case", "verify", "--case", case)
    assert result.exit_code == 1, result.output
    for phrase in phrases:
        assert phrase in result.stderr, (phrase, result.stderr)
    return result.stderr


def _edit_fields(case, rid: str, **changes) -> None:
    with db(case) as conn:
        (text,) = conn.execute("SELECT fields FROM reports WHERE id = ?", (rid,)).fetchone()
        fields = {**json.loads(text), **changes}
        # The shape (crypto/case/floods.py) is derived from the answers, so a consistent edit changes it too.
        conn.execute(
            "UPDATE reports SET fields = ?, shape = ? WHERE id = ?",
            (json.dumps(fields, ensure_ascii=True, sort_keys=True, separators=(",", ":")), shape(fields), rid),
        )


def test_imports_and_audited_decisions_verify(case):
    a0, b = _address(case, "http://a0.test/"), _address(case, "http://b.test/x")
    with db(case) as conn:
        row = conn.execute(
            "SELECT url, reports, first_day, last_day, danger FROM addresses WHERE id = ?", (a0,)
        ).fetchone()
        assert row == ("HTTP://A0.test", 4, "2026-11-17", "2026-11-20", 1)
        entries = [json.loads(e) for (e,) in conn.execute("SELECT entry FROM audit ORDER BY seq")]
        receipt = conn.execute("SELECT receipt FROM reports LIMIT 1").fetchone()[0]
    # Each import's entry carries a digest per report and per address it added.
    assert [len(e["data"]["content"]["reports"]) for e in entries] == [3, 1]
    assert [sorted(e["data"]["content"]["addresses"]) for e in entries] == [
        sorted(str(_address(case, f"http://a{i}.test/")) for i in range(3)),
        [str(b)],
    ]
    case_assess(case, *ANALYST, "--verdict", "baseline", a0, b)
    ok("case", "status", "--case", case, *ANALYST, "--set", "notice-sent", a0)
    ok("case", "report-status", "--case", case, *ANALYST, receipt, "in-review")
    assert "entries verify" in ok("case", "verify", "--case", case).stdout


def test_a_changed_description_is_named(case):
    rid = _report(case, "http://a2.test/")
    _edit_fields(case, rid, description="something else")
    _fails(
        case,
        f"report {rid}: its stored row (answers, receipt code, child-in-danger answer) "
        "is not what import entry 1 recorded",
    )


def test_a_changed_receipt_code_is_named(case):
    rid = _report(case, "http://b.test/x")
    with db(case) as conn:
        other = conn.execute("SELECT receipt FROM reports WHERE id != ? LIMIT 1", (rid,)).fetchone()[0]
        conn.execute("UPDATE reports SET receipt = ? WHERE id = ?", (other, rid))
    _fails(
        case,
        f"report {rid}: its receipt code is not the one in its stored answers",
        f"report {rid}: its stored row",
        "import entry 2 recorded",
    )
    # Changed in the answers as well, it still differs from what the import recorded.
    _edit_fields(case, rid, receipt=other)
    stderr = _fails(case, f"report {rid}: its stored row")
    assert "receipt code is not the one in its stored answers" not in stderr


def test_a_changed_child_in_danger_answer_is_named(case):
    rid = _report(case, "http://a2.test/")
    with db(case) as conn:
        conn.execute("UPDATE reports SET child_in_danger = 1 WHERE id = ?", (rid,))
    _fails(
        case,
        f"report {rid}: its child-in-danger answer is not the one in its stored answers",
        f"report {rid}: its stored row",
    )
    _edit_fields(case, rid, child_in_danger=True)
    _fails(case, f"report {rid}: its stored row")


def test_a_changed_count_is_named(case):
    aid = _address(case, "http://a1.test/")
    with db(case) as conn:
        conn.execute("UPDATE addresses SET reports = reports + 1 WHERE id = ?", (aid,))
    _fails(case, f"address {aid}: its count of reports (3) is not the number of reports that name it (2)")


@pytest.mark.parametrize("recount", [False, True])
def test_a_deleted_mention_is_named(case, recount):
    aid, rid = _address(case, "http://a1.test/"), _report(case, "http://a2.test/")
    with db(case) as conn:
        conn.execute("DELETE FROM mentions WHERE address = ? AND report = ?", (aid, rid))
        if recount:  # the count made to agree: the import's digest of the report's mentions still differs
            conn.execute("UPDATE addresses SET reports = reports - 1 WHERE id = ?", (aid,))
    stderr = _fails(case, f"report {rid}: the addresses it names (its mentions) are not what import entry 1 recorded")
    assert (f"address {aid}: its count of reports" in stderr) != recount


def test_other_address_edits_are_named(case):
    a0, b = _address(case, "http://a0.test/"), _address(case, "http://b.test/x")
    with db(case) as conn:
        conn.execute("UPDATE addresses SET url = 'http://a0.test/', danger = 0 WHERE id = ?", (a0,))
        conn.execute("UPDATE addresses SET key = 'http://c.test/' WHERE id = ?", (b,))
    _fails(
        case,
        f"address {a0}: its shown spelling is not the one of the earliest report naming it",
        f"address {a0}: its child-in-danger flag",
        f"address {b}: its key is not the one import entry 2 recorded",
    )


def test_an_older_case_file_verifies_and_its_mentions_counts_and_columns_are_checked(case):
    a1, rid = _address(case, "http://a1.test/"), _report(case, "http://a2.test/")
    strip_digests(case)
    case_assess(case, *ANALYST, "--verdict", "baseline", a1)
    with db(case) as conn:  # brought forward; an older meldpunt would now refuse it
        assert conn.execute("PRAGMA user_version").fetchone()[0] == VERSION > 2
    assert "entries verify" in ok("case", "verify", "--case", case).stdout
    with db(case) as conn:
        conn.execute("DELETE FROM mentions WHERE address = ? AND report = ?", (a1, rid))
        conn.execute("UPDATE addresses SET reports = reports - 1 WHERE id = ?", (a1,))
    _fails(case, f"report {rid}: the addresses it names (its mentions) are not the ones in its answers")
    with db(case) as conn:
        conn.execute("INSERT INTO mentions (address, report, original) VALUES (?, ?, 'http://a1.test/')", (a1, rid))
        conn.execute("UPDATE addresses SET reports = reports + 1 WHERE id = ?", (a1,))
        conn.execute("UPDATE reports SET receipt = 'X' WHERE id = ?", (rid,))
    _fails(case, f"report {rid}: its receipt code is not the one in its stored answers")
    # What an older entry never recorded cannot be checked: answers changed consistently pass.
    with db(case) as conn:
        conn.execute("UPDATE reports SET receipt = json_extract(fields, '$.receipt') WHERE id = ?", (rid,))
    _edit_fields(case, rid, description="something else")
    ok("case", "verify", "--case", case)
