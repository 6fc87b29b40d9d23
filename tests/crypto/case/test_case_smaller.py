"""Issue 28's smaller points (9) and bulk work (7): one line for a wrong staff key, a refused
bundle named, `--out` kept unless --force, one column naming, id ranges and lists, ids from a file
or standard input, and the queue as CSV or JSON fed back into a command."""

from __future__ import annotations

import csv
import datetime
import io
import json
import secrets

import pytest

from crypto.case.handoff import HANDOFF_COLUMNS, QUEUE_COLUMNS, URL_COLUMNS
from tests.crypto.case.casekit import case_assess, case_state, db, ok, run
from tests.crypto.staff.staffkit import make_report, new_identity, seal, write_bundle

DAY = datetime.date(2026, 11, 20)
A = ("--analyst", "Analyst One")


def _bundle(path, recipient, count, prefix="h"):
    write_bundle(
        path,
        [
            (
                secrets.token_bytes(16),
                seal(make_report(n, urls=(f"http://{prefix}{n}.test/",), child_in_danger=False), [recipient]),
                DAY,
            )
            for n in range(count)
        ],
    )


@pytest.fixture
def case(tmp_path):
    identity, key = new_identity(tmp_path)
    _bundle(tmp_path / "b.tar", identity.recipient(), 8)
    case = tmp_path / "case"
    ok("case", "import", "--case", case, "-i", key, tmp_path / "b.tar")
    return case


def test_a_wrong_staff_key_is_one_line_not_one_per_report(tmp_path):
    identity, key = new_identity(tmp_path)
    other, _ = new_identity(tmp_path, "other")
    _bundle(tmp_path / "b.tar", other.recipient(), 25)
    result = run("case", "import", "--case", tmp_path / "case", "-i", key, tmp_path / "b.tar")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("  b.tar: 25 report(s) not opened, none of the given identities can open it")
    assert "(wrong staff key?)" in lines[0] and "and 22 more" in lines[0]
    assert lines[1].startswith("meldpunt: 25 report(s) could not be opened (b.tar: 25)")


def test_a_refused_bundle_among_several_is_named(tmp_path, case):
    identity, key = new_identity(tmp_path, "again")
    before = case_state(case)
    (tmp_path / "second.tar").write_bytes(b"not a bundle at all" * 100)
    result = run("case", "import", "--case", case, "-i", key, tmp_path / "b.tar", tmp_path / "second.tar")
    assert result.exit_code == 1 and result.stderr.startswith("meldpunt: second.tar: "), result.stderr
    assert case_state(case) == before


def test_out_files_are_kept_unless_forced(tmp_path, case):
    with db(case) as conn:
        aid = conn.execute("SELECT min(id) FROM addresses").fetchone()[0]
    case_assess(case, *A, "--verdict", "baseline", aid)
    out = tmp_path / "handoff.csv"
    out.write_text("the last hand-off\n")
    result = run("case", "export", "--case", case, "--status", "assessed", "--out", out)
    assert result.exit_code == 1 and "already exists" in result.stderr and "--force" in result.stderr
    assert out.read_text() == "the last hand-off\n"
    ok("case", "export", "--case", case, "--status", "assessed", "--out", out, "--force")
    assert out.read_text().startswith("url,reports,") and (out.stat().st_mode & 0o777) == 0o600

    key_path = tmp_path / "status.key"
    ok("case", "signing-key", "-o", key_path, "--no-passphrase")
    statuses = tmp_path / "statuses"
    statuses.write_bytes(b"older")
    result = run("case", "statuses", "--case", case, *A, "--sign-key", key_path, "--out", statuses)
    assert result.exit_code == 1 and "already exists" in result.stderr
    assert statuses.read_bytes() == b"older"
    with db(case) as conn:  # refused before a version was spent on it
        assert conn.execute("SELECT count(*) FROM status_files").fetchone() == (0,)
    ok("case", "statuses", "--case", case, *A, "--sign-key", key_path, "--out", statuses, "--force")
    assert statuses.read_bytes() != b"older"


def test_one_column_naming_across_the_csvs(case):
    urls = next(csv.reader(io.StringIO(ok("case", "urls", "--case", case).stdout)))
    queue = next(csv.reader(io.StringIO(ok("case", "queue", "--case", case, "--format", "csv").stdout)))
    export = next(csv.reader(io.StringIO(ok("case", "export", "--case", case, "--status", "new", "--out", "-").stdout)))
    assert (tuple(urls), tuple(queue), tuple(export)) == (URL_COLUMNS, QUEUE_COLUMNS, HANDOFF_COLUMNS)
    assert set(URL_COLUMNS) <= set(HANDOFF_COLUMNS) and set(URL_COLUMNS) <= set(QUEUE_COLUMNS)


def _statuses(case):
    with db(case) as conn:
        return dict(conn.execute("SELECT id, status FROM addresses"))


def test_ids_as_ranges_lists_files_and_standard_input(tmp_path, case):
    case_assess(case, *A, "--verdict", "baseline", "1-3", "4,5", "6")
    assert {aid for aid, st in _statuses(case).items() if st == "assessed"} == {1, 2, 3, 4, 5, 6}
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("# from the letters of today\n1 2\n3-4\n")
    ok("case", "status", "--case", case, *A, "--set", "notice-sent", "--ids-from", ids_file)
    result = run("case", "status", "--case", case, *A, "--set", "removed", "--ids-from", "-", input="5,6\n")
    assert result.exit_code == 0, result.stderr
    assert _statuses(case) == {
        1: "notice-sent",
        2: "notice-sent",
        3: "notice-sent",
        4: "notice-sent",
        5: "removed",
        6: "removed",
        7: "new",
        8: "new",
    }
    ok("case", "verify", "--case", case)


def test_the_queue_as_csv_feeds_a_command_and_as_json_is_whole(tmp_path, case):
    queue_csv = tmp_path / "queue.csv"
    queue_csv.write_text(ok("case", "queue", "--case", case, "--format", "csv", "--limit", "3").stdout)
    rows = list(csv.DictReader(io.StringIO(queue_csv.read_text())))
    assert len(rows) == 3
    case_assess(case, *A, "--verdict", "not-illegal", "--ids-from", queue_csv)
    assessed = {aid for aid, st in _statuses(case).items() if st == "assessed"}
    assert assessed == {int(r["case_id"]) for r in rows}
    doc = json.loads(ok("case", "queue", "--case", case, "--format", "json").stdout)
    assert doc["format"] == "meldpunt-queue" and doc["total"] == 5 and len(doc["addresses"]) == 5
    assert not assessed & {a["case_id"] for a in doc["addresses"]}


@pytest.mark.parametrize(
    "ids, phrase",
    [
        (("3-1",), "runs backwards"),
        (("1-5000",), "more than 1000"),
        (("x",), "not an address id"),
        (("1", "99"), "no address 99"),
        ((), "give address ids"),
    ],
)
def test_bad_ids_change_nothing(case, ids, phrase):
    with db(case) as conn:
        before = list(conn.iterdump())
    result = run("case", "status", "--case", case, *A, "--set", "assessed", *ids)
    assert result.exit_code != 0 and phrase in result.stderr, result.stderr
    with db(case) as conn:
        assert list(conn.iterdump()) == before
