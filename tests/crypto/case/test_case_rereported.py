"""Nothing new is hidden (issue 28, point 1): an address already dealt with that later bundles name
again comes back into triage as re-reported, the import counts it, and a report saying a child is
in immediate danger stays at the top of the queue and the page until an analyst has looked at it."""

from __future__ import annotations

import datetime
import json
import secrets

import pytest

from crypto.case.schema import VERSION
from tests.crypto.case.casekit import ANALYST, as_version, db, ok, run
from tests.crypto.staff.staffkit import make_report, new_identity, seal, write_bundle

D1, D2 = datetime.date(2026, 11, 1), datetime.date(2026, 11, 20)
HANDLED, BUSY, LATE = "http://handled.test/", "http://busy.test/", "http://late.test/"
A = ("--analyst", "Analyst One")


class Kit:
    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.identity, self.key = new_identity(tmp_path)
        self.case = tmp_path / "case"
        self.bundles = 0

    def bundle(self, specs):
        """specs: (url, danger, day) per report -> the import's output."""
        self.bundles += 1
        path = self.tmp / f"b{self.bundles}.tar"
        write_bundle(
            path,
            [
                (
                    secrets.token_bytes(16),
                    seal(make_report(n, urls=(url,), child_in_danger=danger), [self.identity.recipient()]),
                    day,
                )
                for n, (url, danger, day) in enumerate(specs)
            ],
        )
        return ok("case", "import", "--case", self.case, "-i", self.key, path).stdout

    def ids(self):
        with db(self.case) as conn:
            return {url: aid for aid, url in conn.execute("SELECT id, url FROM addresses")}

    def queue(self, *extra):
        return json.loads(ok("case", "queue", "--case", self.case, "--format", "json", *extra).stdout)["addresses"]


@pytest.fixture
def kit(tmp_path):
    return Kit(tmp_path)


def test_a_removed_address_reported_again_with_danger_reports_leads_the_queue(kit):
    # The scenario, small: an address dealt with (assessed, removed), then a later bundle
    # with more reports on it, some saying a child is in immediate danger.
    kit.bundle([(HANDLED, False, D1), (BUSY, False, D1)] + [(BUSY, False, D1)] * 4)
    ids = kit.ids()
    handled, busy = ids[HANDLED], ids[BUSY]
    ok("case", "assess", "--case", kit.case, *A, "--verdict", "baseline", "--provider", "Cloudy Inc", handled)
    ok("case", "status", "--case", kit.case, *A, "--set", "removed", handled)
    assert [a["case_id"] for a in kit.queue()] == [busy]  # the handled one has left triage

    out = kit.bundle([(HANDLED, True, D2), (HANDLED, True, D2), (HANDLED, False, D2), (LATE, False, D2)])
    assert "3 new report(s), 2 of them saying a child is in immediate danger" in out
    assert "Re-reported: 1 address(es)" in out
    assert "  2 new report(s) say a child is in immediate danger" in out

    late = kit.ids()[LATE]
    queue = kit.queue()
    # At the top, above the busier new address, whatever its status; then the new ones.
    assert [a["case_id"] for a in queue] == [handled, busy, late]
    top = queue[0]
    assert (top["status"], top["re_reported"], top["danger_not_looked_at"]) == ("removed", 3, 2)
    text = ok("case", "queue", "--case", kit.case).stdout
    assert "!!" in text.splitlines()[1] and "removed, re-reported +3" in text.splitlines()[1]
    assert " baseline " in text.splitlines()[1]  # its verdict, beside the state and since when
    assert [a["case_id"] for a in kit.queue("--status", "re-reported")] == [handled]
    assert [a["case_id"] for a in kit.queue("--status", "removed")] == [handled]
    # The page puts it first too, marked.
    ok("case", "page", "--case", kit.case)
    page = (kit.case / "pages" / "queue.html").read_text()
    rows = page.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.index(f"<td>{handled} !!</td>") < rows.index(f"<td>{busy}</td>")
    # `case show` says so, and the history keeps the provider the re-reports did not touch.
    shown = ok("case", "show", "--case", kit.case, handled).stdout
    assert "Re-reported: 3 report(s)" in shown and "2 report(s) saying a child is in immediate danger" in shown
    brief = ok("case", "show", "--case", kit.case, "--brief", handled).stdout
    assert "  Danger:       2 of 4 report(s) say a child is in immediate danger, 2 not looked at yet" in brief
    assert "  Days:         2026-11-20 3, 2026-11-01 1" in brief
    assert (
        "Report id:" not in brief
        and shown.count("Report id:") == 4
        and brief in shown.replace(shown[shown.index("Reports naming it") :], "")
    )

    # Looking at it, and letting "removed" stand, is recorded and takes it out of triage.
    out = ok("case", "seen", "--case", kit.case, *A, handled).stdout
    assert f"Address {handled}: 2 danger report(s) looked at, 3 re-reported report(s) seen." in out
    assert [a["case_id"] for a in kit.queue()] == [busy, late]
    with db(kit.case) as conn:
        (entry,) = conn.execute("SELECT entry FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    entry = json.loads(entry)
    assert (entry["action"], entry["analyst"], entry["address"]) == ("seen", "Analyst One", handled)
    assert len(entry["data"]["looked_at"]) == 2
    ok("case", "verify", "--case", kit.case)


def test_a_danger_report_stays_on_top_until_looked_at_not_merely_until_a_status_changes(kit):
    kit.bundle([(HANDLED, False, D1)])
    handled = kit.ids()[HANDLED]
    ok("case", "assess", "--case", kit.case, *A, "--verdict", "baseline", handled)
    kit.bundle([(HANDLED, True, D2)] + [(BUSY, False, D2)] * 3)
    busy = kit.ids()[BUSY]
    # A status set in bulk from a letter is a decision (no longer re-reported) but not a look.
    ok("case", "status", "--case", kit.case, *A, "--set", "notice-sent", handled)
    queue = kit.queue()
    assert [a["case_id"] for a in queue] == [handled, busy]
    assert (queue[0]["re_reported"], queue[0]["danger_not_looked_at"]) == (0, 1)
    # A view that leaves it out says so above its rows.
    out = ok("case", "queue", "--case", kit.case, "--status", "new").stdout
    assert out.splitlines()[0].startswith("!! 1 report(s) saying a child is in immediate danger")
    assert f"address(es) {handled}." in out.splitlines()[0]
    ok("case", "page", "--case", kit.case, "--status", "new")
    assert f"not on this page: address(es) {handled}." in (kit.case / "pages" / "queue.html").read_text()
    # Assessing it again (only the age group) is a look.
    out = ok("case", "assess", "--case", kit.case, *A, "--age-group", "pubescent", handled).stdout
    assert f"Address {handled}: age group unknown -> pubescent." in out
    assert [a["case_id"] for a in kit.queue()] == [busy]
    assert not ok("case", "queue", "--case", kit.case, "--status", "new").stdout.startswith("!!")
    ok("case", "page", "--case", kit.case, "--status", "new")
    assert "not looked at yet" not in (kit.case / "pages" / "queue.html").read_text()
    ok("case", "verify", "--case", kit.case)


def test_queue_since_and_the_import_entry_names_the_analyst(kit):
    kit.bundle([(HANDLED, False, D1), (BUSY, False, D2)])
    ids = kit.ids()
    assert [a["case_id"] for a in kit.queue("--since", "2026-11-02")] == [ids[BUSY]]
    assert [a["case_id"] for a in kit.queue("--since", "2026-11-01")] == [ids[HANDLED], ids[BUSY]]
    assert run("case", "queue", "--case", kit.case, "--since", "yesterday").exit_code == 1
    with db(kit.case) as conn:
        (entry,) = conn.execute("SELECT entry FROM audit WHERE seq = 1").fetchone()
    assert json.loads(entry)["analyst"] == ANALYST


def test_a_case_file_from_before_is_migrated_with_its_danger_reports_unseen(kit):
    kit.bundle([(HANDLED, False, D1), (BUSY, True, D1)])
    ids = kit.ids()
    handled, busy = ids[HANDLED], ids[BUSY]
    ok("case", "assess", "--case", kit.case, *A, "--verdict", "baseline", handled)
    ok("case", "status", "--case", kit.case, *A, "--set", "removed", handled)
    kit.bundle([(HANDLED, True, D2), (HANDLED, False, D2)])
    # Back to the case file version 3 (before this): no counters, no looked_at.
    with db(kit.case) as conn:
        as_version(conn, 3)
    queue = kit.queue()
    assert [(a["case_id"], a["re_reported"], a["danger_not_looked_at"]) for a in queue] == [
        (handled, 2, 1),
        (busy, 0, 1),
    ]
    ok("case", "verify", "--case", kit.case)
    with db(kit.case) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == VERSION


def test_verify_finds_a_counter_or_a_look_changed_beside_the_log(kit):
    kit.bundle([(HANDLED, True, D1)])
    handled = kit.ids()[HANDLED]
    with db(kit.case) as conn:
        conn.execute("UPDATE addresses SET unseen_danger = 0")
    result = run("case", "verify", "--case", kit.case)
    assert result.exit_code == 1 and f"address {handled}: its counts" in result.stderr
    with db(kit.case) as conn:
        conn.execute("UPDATE addresses SET unseen_danger = 1")
        conn.execute("INSERT INTO looked_at SELECT id, 1 FROM reports")
    result = run("case", "verify", "--case", kit.case)
    assert result.exit_code == 1 and "marked looked at are not the ones" in result.stderr


def test_every_view_counts_the_rows_it_lists_each_once(kit):
    urls = [f"http://v{n}.test/" for n in range(6)]
    kit.bundle([(u, n == 5, D1) for n, u in enumerate(urls)])
    ids = [kit.ids()[u] for u in urls]
    ok("case", "assess", "--case", kit.case, *A, "--verdict", "baseline", *map(str, ids[1:4]))
    ok("case", "status", "--case", kit.case, *A, "--set", "removed", str(ids[2]), str(ids[3]))
    kit.bundle([(urls[2], False, D2), (urls[3], True, D2), (urls[1], True, D2)])
    ok("case", "seen", "--case", kit.case, *A, str(ids[1]))
    expected = {
        "triage": {ids[0], ids[2], ids[3], ids[5]},
        "re-reported": {ids[2], ids[3]},
        "new": {ids[0], ids[4], ids[5]},
        "assessed": {ids[1]},
        "removed": {ids[2], ids[3]},
        "all": set(ids),
        "notice-sent": set(),
    }
    ok("case", "assess", "--case", kit.case, *A, "--verdict", "gone", str(ids[4]))
    expected["new"].discard(ids[4])
    expected["assessed"].add(ids[4])
    for view, want in expected.items():
        doc = json.loads(ok("case", "queue", "--case", kit.case, "--status", view, "--format", "json").stdout)
        listed = [a["case_id"] for a in doc["addresses"]]
        assert (set(listed), len(listed), doc["total"]) == (want, len(want), len(want)), view
        for offset in range(len(want)):  # page by page, the same rows in the same order
            page = json.loads(
                ok(
                    "case",
                    "queue",
                    "--case",
                    kit.case,
                    "--status",
                    view,
                    "--format",
                    "json",
                    "--limit",
                    1,
                    "--page-from",
                    offset,
                ).stdout
            )["addresses"]
            assert [a["case_id"] for a in page] == listed[offset : offset + 1], (view, offset)
    ok("case", "verify", "--case", kit.case)
