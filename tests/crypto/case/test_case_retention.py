"""`meldpunt case retention`: the dry run changes nothing, --apply removes exactly what the policy
makes due (reports' content, contact answers, addresses not assessed illegal) and records it
without content, and `case verify` accepts exactly those removals and still finds any other edit."""

from __future__ import annotations

import datetime
import json
import secrets
import shutil

import pytest

from crypto.case.retention import KEPT, MARK
from tests.crypto.case.casekit import case_state, db, ok, run, strip_digests
from tests.crypto.staff.staffkit import make_report, new_identity, seal, write_bundle

TODAY = datetime.date.today()  # the day `case retention` reads (crypto/case/decisions.today)
A = ("--analyst", "Analyst One")


def _ago(days: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days)


# name -> (days ago, addresses, contact answer, child in danger)
REPORTS = {
    "old": (800, ("http://gone.test/", "http://illegal.test/", "http://shared.test/"), "old@example.test", False),
    "mid": (400, ("http://mid.test/",), "mid@example.test", False),
    "recent": (100, ("http://recent.test/",), "recent@example.test", False),
    "new": (10, ("http://shared.test/",), "new@example.test", False),
    "danger": (800, ("http://danger.test/",), "danger@example.test", True),
}


class Kit:
    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.case = tmp_path / "case"
        self.identity, self.key = new_identity(tmp_path)
        self.reports = {
            name: make_report(
                urls=urls,
                contact=contact,
                child_in_danger=danger,
                description=f"description of {name} {secrets.token_hex(4)}",
            )
            for name, (_, urls, contact, danger) in REPORTS.items()
        }
        self.rid: dict[str, str] = {}

    def bundle(self, names, name="b.tar"):
        items = [
            (secrets.token_bytes(16), seal(self.reports[n], [self.identity.recipient()]), _ago(REPORTS[n][0]))
            for n in names
        ]
        self.rid.update({n: rid.hex() for n, (rid, _, _) in zip(names, items, strict=True)})
        write_bundle(self.tmp / name, items)
        ok("case", "import", "--case", self.case, "-i", self.key, self.tmp / name)

    def fields(self) -> dict[str, dict]:
        with db(self.case) as conn:
            by_id = {rid: json.loads(text) for rid, text in conn.execute("SELECT id, fields FROM reports")}
        return {n: by_id[rid] for n, rid in self.rid.items()}

    def address(self, url: str) -> int | None:
        with db(self.case) as conn:
            row = conn.execute("SELECT id FROM addresses WHERE url = ?", (url,)).fetchone()
        return row[0] if row else None

    def entries(self, action: str = "retention") -> list[dict]:
        with db(self.case) as conn:
            found = [json.loads(t) for (t,) in conn.execute("SELECT entry FROM audit ORDER BY seq")]
        return [e for e in found if e["action"] == action]


@pytest.fixture
def kit(tmp_path):
    kit = Kit(tmp_path)
    kit.bundle(list(REPORTS))
    ok("case", "assess", "--case", kit.case, *A, "--verdict", "baseline", kit.address("http://illegal.test/"))
    ok("case", "assess", "--case", kit.case, *A, "--verdict", "not-illegal", kit.address("http://gone.test/"))
    return kit


def test_the_dry_run_says_what_is_due_and_changes_nothing(kit):
    before = case_state(kit.case)
    out = ok("case", "retention", "--case", kit.case).stdout
    assert case_state(kit.case) == before
    assert "Dry run: nothing removed. Run again with --apply." in out
    assert f"the content of 2 report(s) received on or before {_ago(365)}" in out
    assert f"the contact answers of 1 more, received on or before {_ago(90)}" in out
    assert f"1 address(es) last reported on or before {_ago(730)} ({kit.address('http://gone.test/')})" in out
    assert "Held back until an analyst has looked at them (`case queue` shows them first): 1 report(s)" in out
    assert f"and 1 address(es) they name ({kit.address('http://danger.test/')})." in out
    # Without an analyst's name a dry run still runs; nothing that writes does.
    assert run("case", "retention", "--case", kit.case, "--apply", env={"MELDPUNT_ANALYST": ""}).exit_code == 2
    assert case_state(kit.case) == before


def test_apply_removes_exactly_what_is_due_and_records_it_without_content(kit):
    before = kit.fields()
    gone, illegal = kit.address("http://gone.test/"), kit.address("http://illegal.test/")
    kept_addresses = {
        u: kit.address(u)
        for u in (
            "http://illegal.test/",
            "http://shared.test/",
            "http://mid.test/",
            "http://recent.test/",
            "http://danger.test/",
        )
    }
    ok("case", "retention", "--case", kit.case, *A, "--apply")
    after = kit.fields()
    for name in ("old", "mid"):  # content due: only what counts and checks need stays
        assert set(after[name]) == {*KEPT, MARK}
        assert after[name][MARK] == {"content": TODAY.isoformat()}
        assert {k: after[name][k] for k in KEPT} == {k: before[name][k] for k in KEPT}
    # contact due only: that answer alone goes
    assert after["recent"] == {
        **{k: v for k, v in before["recent"].items() if k != "contact"},
        MARK: {"contact": TODAY.isoformat()},
    }
    assert after["new"] == before["new"]
    assert after["danger"] == before["danger"]  # held back: no analyst has looked at it
    shown = ok("case", "report", "--case", kit.case, kit.reports["old"].receipt).stdout
    assert f"Removed:        content on {TODAY.isoformat()} (retention policy)" in shown
    assert kit.reports["old"].description not in shown and kit.reports["old"].receipt in shown
    assert kit.address("http://gone.test/") is None
    assert {u: kit.address(u) for u in kept_addresses} == kept_addresses
    with db(kit.case) as conn:
        assert conn.execute("SELECT count(*) FROM mentions WHERE address = ?", (gone,)).fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM assessments WHERE address = ?", (gone,)).fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM assessments WHERE address = ?", (illegal,)).fetchone()[0] == 1
        # the old report still names the addresses that stay: their counts and days are intact
        assert conn.execute("SELECT count(*) FROM mentions WHERE report = ?", (kit.rid["old"],)).fetchone()[0] == 2

    entries = kit.entries()
    assert [e["data"]["step"] for e in entries] == ["content", "contact", "addresses"]
    assert sorted(entries[0]["data"]["reports"]) == sorted([kit.rid["old"], kit.rid["mid"]])
    assert entries[0]["data"]["held"] == 1 and entries[1]["data"]["count"] == 1
    assert entries[2]["data"]["addresses"] == [gone] and entries[2]["data"]["mentions_removed"] == 1
    assert all(e["data"]["policy"] == {"reports": 365, "contact": 90, "addresses": 730} for e in entries)
    log = json.dumps(entries)
    for name, report in kit.reports.items():
        for text in (report.description, report.contact, *report.urls):
            assert text not in log, (name, text)

    # Applied again, nothing more is due and nothing is written.
    state = case_state(kit.case)
    assert "Nothing was due in the case file." in ok("case", "retention", "--case", kit.case, *A, "--apply").stdout
    assert case_state(kit.case) == state
    # Once an analyst has looked at the danger report, it and its address go in turn.
    ok("case", "seen", "--case", kit.case, *A, kit.address("http://danger.test/"))
    ok("case", "retention", "--case", kit.case, *A, "--apply")
    assert set(kit.fields()["danger"]) == {*KEPT, MARK}
    assert kit.address("http://danger.test/") is None
    history = ok("case", "retention", "--case", kit.case, "--history").stdout
    assert len(history.splitlines()) == 5 and "removed the content of 2 report(s)" in history
    assert f"removed 1 address(es) not assessed illegal, last reported on or before {_ago(730)}" in history


def test_verify_passes_after_apply_and_still_finds_any_other_edit(kit):
    ok("case", "retention", "--case", kit.case, *A, "--apply")
    out = ok("case", "verify", "--case", kit.case).stdout
    assert "Removed under the retention policy, as the audit log records:" in out
    assert "removed the contact answers of 1 report(s)" in out
    gone = kit.entries()[2]["data"]["addresses"][0]
    refused = run("case", "undo", "--case", kit.case, *A, str(kit.entries("assess")[-1]["seq"]))
    assert refused.exit_code == 1 and "removed under the retention policy" in refused.stderr

    def edited(name: str, *statements: tuple[str, tuple]) -> str:
        copy = kit.tmp / name
        shutil.copytree(kit.case, copy)
        with db(copy) as conn:
            for sql, args in statements:
                conn.execute(sql, args)
        result = run("case", "verify", "--case", copy)
        assert result.exit_code == 1, (name, result.output)
        return result.stderr

    old, recent = kit.rid["old"], kit.rid["recent"]
    restored = json.dumps({**kit.fields()["old"], "description": "back again"}, sort_keys=True, separators=(",", ":"))
    assert f"report {old}: its stored row" in edited(
        "content", ("UPDATE reports SET fields = ? WHERE id = ?", (restored, old))
    )
    assert f"report {recent}: its stored row" in edited(
        "contact", ("UPDATE reports SET fields = json_set(fields, '$.contact', 'x') WHERE id = ?", (recent,))
    )
    assert "the addresses it names" in edited(
        "mention",
        ("DELETE FROM mentions WHERE report = ? AND address = ?", (old, kit.address("http://illegal.test/"))),
        ("UPDATE addresses SET reports = reports - 1 WHERE url = 'http://illegal.test/'", ()),
    )
    assert f"address {gone}: retention entry" in edited(
        "back",
        (
            "INSERT INTO addresses (id, key, url, reports, first_day, last_day, danger)"
            " VALUES (?, 'http://gone.test/', 'http://gone.test/', 0, '2020-01-01', '2020-01-01', 0)",
            (gone,),
        ),
    )
    assert "the retention policy stored" in edited(
        "policy", ("INSERT INTO retention_policy (kind, days, seq) VALUES ('reports', 3650, 1)", ())
    )
    assert "removed by retention are not" in edited("removed", ("DELETE FROM retention_removed", ()))


def test_statistics_count_the_reports_as_before(kit):
    def stats(out: str) -> dict[str, str]:
        ok(
            "case",
            "stats",
            "--case",
            kit.case,
            "--from",
            _ago(900),
            "--to",
            TODAY,
            "--internal",
            "--out",
            kit.tmp / out,
        )
        return {p.name: p.read_text() for p in (kit.tmp / out).glob("reports_by_*.csv")}

    before = stats("before")
    ok("case", "retention", "--case", kit.case, *A, "--apply")
    assert stats("after") == before and len(before) >= 2


def test_the_policy_is_set_audited_and_checked(kit):
    out = ok("case", "retention", "--case", kit.case, *A, "--set", "reports=90", "--set", "contact=30").stdout
    assert "Policy changed: reports 365 -> 90 days; contact 90 -> 30 days" in out
    assert f"the content of 3 report(s) received on or before {_ago(90)}" in out  # the dry run under it
    (entry,) = kit.entries("retention-policy")
    assert entry["data"]["changed"] == {"reports": [365, 90], "contact": [90, 30]}
    state = case_state(kit.case)
    for bad in ("contact=300", "reports=900", "days=3", "reports=0", "reports=ten", "reports"):
        result = run("case", "retention", "--case", kit.case, *A, "--set", bad)
        assert result.exit_code == 1, (bad, result.output)
    assert case_state(kit.case) == state
    assert (
        "retention policy set: reports 365 -> 90 days; contact 90 -> 30 days"
        in ok("case", "retention", "--case", kit.case, "--history").stdout
    )
    ok("case", "retention", "--case", kit.case, *A, "--apply")
    assert kit.entries() and all(e["data"]["policy"]["reports"] == 90 for e in kit.entries())
    ok("case", "verify", "--case", kit.case)


def test_an_older_case_file_without_digests_verifies_after_retention(kit):
    strip_digests(kit.case)  # as written before import entries carried digests
    ok("case", "retention", "--case", kit.case, *A, "--apply")
    ok("case", "verify", "--case", kit.case)
    old = kit.rid["old"]
    with db(kit.case) as conn:
        conn.execute("UPDATE reports SET fields = json_set(fields, '$.description', 'back') WHERE id = ?", (old,))
    result = run("case", "verify", "--case", kit.case)
    assert result.exit_code == 1 and f"report {old}: its stored row is not what retention entry" in result.stderr


def test_a_removed_address_id_is_never_given_again(tmp_path):
    kit = Kit(tmp_path)
    kit.bundle(["old"])  # gone, illegal, shared: the last, with the highest id, goes
    ok("case", "assess", "--case", kit.case, *A, "--verdict", "baseline", kit.address("http://illegal.test/"))
    with db(kit.case) as conn:
        (highest,) = conn.execute("SELECT max(id) FROM addresses").fetchone()
    ok("case", "retention", "--case", kit.case, *A, "--apply")
    with db(kit.case) as conn:
        assert conn.execute("SELECT max(id) FROM addresses").fetchone()[0] < highest  # the highest went
    kit.bundle(["new", "recent"], "c.tar")
    assert kit.address("http://recent.test/") > highest
    ok("case", "verify", "--case", kit.case)
