"""A flood that got through is one item (issue 28.8): a thousand near-identical reports beside a
few real ones; the flood is grouped with its count, dismissed in one audited step, and the real
reports stay visible and separate."""

from __future__ import annotations

import datetime
import json
import secrets

import pytest

from crypto.age.keys import load_identity_file
from tests.crypto.case.casekit import as_version, db, ok, run
from tests.crypto.staff.staffkit import make_report, new_identity, seal, write_bundle

DAY = datetime.date(2026, 11, 20)
A = ("--analyst", "Analyst One")
FLOOD = 1000
SHARED = "http://spam7.test/p/7"  # a flood address that a real report names as well


def _fake(n: int):
    # What a script varies: a number in the text and in the address; all say "child in danger",
    # as a flood meant to bury the real ones at the top of the queue would.
    return make_report(
        n,
        urls=(f"http://spam{n}.test/p/{n}",),
        description=f"URGENT see http://spam{n}.test now {n}",
        found_on="website",
        kinds=("images",),
        access="open",
        child_in_danger=True,
        language="en",
    )


REAL = (
    make_report(
        1, urls=("http://real-one.test/gallery",), description="a boy, maybe 8, in a bedroom", child_in_danger=True
    ),
    make_report(2, urls=("http://real-two.test/x",), description="forum thread with pictures", child_in_danger=False),
    make_report(
        3, urls=(SHARED, "http://real-three.test/"), description="found via a spam link", child_in_danger=False
    ),
)


@pytest.fixture(scope="module")
def flooded(tmp_path_factory):
    """A bundle of FLOOD fakes and the real reports, sealed once for the module (x25519: fast)."""
    tmp = tmp_path_factory.mktemp("flood")
    identity, key = new_identity(tmp, kind="x25519")
    items = [
        (secrets.token_bytes(16), seal(r, [identity.recipient()]), DAY)
        for r in [_fake(n) for n in range(FLOOD)] + list(REAL)
    ]
    write_bundle(tmp / "b.tar", items)
    later = [(secrets.token_bytes(16), seal(_fake(FLOOD + n), [identity.recipient()]), DAY) for n in range(30)]
    write_bundle(tmp / "later.tar", later)
    return tmp, key


@pytest.fixture
def case(flooded, tmp_path):
    tmp, key = flooded
    case = tmp_path / "case"
    out = ok("case", "import", "--case", case, "-i", key, tmp / "b.tar").stdout
    assert f"flood 1: {FLOOD} reports alike" in out  # the import says so at once
    return case


def _ids(case):
    with db(case) as conn:
        return {url: aid for aid, url in conn.execute("SELECT id, url FROM addresses")}


def _queue(case, *extra):
    return json.loads(ok("case", "queue", "--case", case, "--format", "json", *extra).stdout)


def _entries(case):
    with db(case) as conn:
        return [json.loads(e) for (e,) in conn.execute("SELECT entry FROM audit ORDER BY seq")]


def test_a_flood_is_one_item_and_the_real_reports_stay_separate(case):
    ids = _ids(case)
    q = _queue(case)
    assert [(f["reports"], f["addresses"], f["danger_not_looked_at"]) for f in q["floods"]] == [
        (FLOOD, FLOOD - 1, FLOOD)
    ]
    # The real ones, each on its own: the danger one first, and the flood address a real report
    # also names stays in the queue (its flood danger report not looked at puts it on top too).
    got = [a["case_id"] for a in q["addresses"]]
    assert set(got) == {
        ids["http://real-one.test/gallery"],
        ids["http://real-two.test/x"],
        ids[SHARED],
        ids["http://real-three.test/"],
    }
    assert got[0] in (ids["http://real-one.test/gallery"], ids[SHARED]) and q["total"] == 4
    text = ok("case", "queue", "--case", case).stdout
    assert len(text.splitlines()) < 12 and f"flood 1: {FLOOD} reports alike" in text
    assert "real-one.test" in text and "spam12.test" not in text
    # The page too: one flood line, not a thousand addresses.
    ok("case", "page", "--case", case)
    page = (case / "pages" / "queue.html").read_text()
    assert page.count("Flood 1:") == 1 and "spam12.test" not in page and "real-two.test" in page
    sample = ok("case", "flood", "--case", case, "1").stdout
    assert sample.count("Report id:") == 3


def test_a_flood_is_dismissed_in_one_audited_step(case, flooded):
    ids = _ids(case)
    before = len(_entries(case))
    out = ok("case", "dismiss-flood", "--case", case, *A, "1").stdout
    assert f"Flood 1: {FLOOD} reports dismissed, {FLOOD - 1} address(es) out of triage, {FLOOD} danger" in out
    entries = _entries(case)
    assert len(entries) == before + 1
    e = entries[-1]
    assert (e["action"], e["analyst"], e["data"]["reports"], len(e["data"]["looked_at"])) == (
        "dismiss-flood",
        "Analyst One",
        FLOOD,
        FLOOD,
    )
    q = _queue(case)
    assert q["floods"] == []
    # The real ones are all still there, the danger one on top; the shared address stays too.
    assert q["addresses"][0]["case_id"] == ids["http://real-one.test/gallery"]
    assert {a["case_id"] for a in q["addresses"]} == {
        ids["http://real-one.test/gallery"],
        ids["http://real-two.test/x"],
        ids[SHARED],
        ids["http://real-three.test/"],
    }
    assert "entries verify" in ok("case", "verify", "--case", case).stdout
    # Nothing hidden: the flooded addresses are still in the case file, in every-status views.
    assert _queue(case, "--status", "new", "--limit", "1000")["total"] == FLOOD + 3
    # More of the same shape that day bring the flood back, with only the new ones to dismiss.
    tmp, key = flooded
    ok("case", "import", "--case", case, "-i", key, tmp / "later.tar")
    q = _queue(case)
    assert [(f["flood_id"], f["reports"], f["dismissed_reports"]) for f in q["floods"]] == [(1, FLOOD + 30, FLOOD)]
    assert "30 since it was dismissed" in ok("case", "queue", "--case", case).stdout
    ok("case", "dismiss-flood", "--case", case, *A, "1")
    assert _queue(case)["floods"] == []
    ok("case", "verify", "--case", case)


def test_verify_checks_floods_and_an_older_case_file_gets_them(case):
    with db(case) as conn:
        conn.execute("UPDATE addresses SET flooded = 0 WHERE url = 'http://spam5.test/p/5'")
    result = run("case", "verify", "--case", case)
    assert result.exit_code != 0 and "flooded flag" in result.output
    with db(case) as conn:
        conn.execute("UPDATE addresses SET flooded = 1 WHERE url = 'http://spam5.test/p/5'")
        conn.execute("UPDATE floods SET dismissed_reports = 5")
    result = run("case", "verify", "--case", case)
    assert result.exit_code != 0 and "flood 1: its dismissal" in result.output
    with db(case) as conn:
        conn.execute("UPDATE floods SET dismissed_reports = 0")
        as_version(conn, 5)  # a case file from before floods: opening it groups them
    assert [f["reports"] for f in _queue(case)["floods"]] == [FLOOD]
    ok("case", "verify", "--case", case)


def test_unknown_flood_is_refused(case):
    result = run("case", "dismiss-flood", "--case", case, *A, "7")
    assert result.exit_code != 0 and "no flood 7" in result.output


def test_many_reports_alike_on_one_address_are_not_a_flood(flooded, tmp_path):
    # A link passed around: real reporters write alike about it. It is one queue item already,
    # and dismissing it as a flood would bury it; only many addresses alike make a flood.
    _, key = flooded
    identity = load_identity_file(str(key), lambda: b"")[0]
    viral = [
        make_report(n, urls=("http://viral.test/v/1",), description="", access="", child_in_danger=False)
        for n in range(40)
    ]
    write_bundle(tmp_path / "v.tar", [(secrets.token_bytes(16), seal(r, [identity.recipient()]), DAY) for r in viral])
    case = tmp_path / "case"
    ok("case", "import", "--case", case, "-i", key, tmp_path / "v.tar")
    q = _queue(case)
    assert q["floods"] == [] and [(a["url"], a["reports"]) for a in q["addresses"]] == [("http://viral.test/v/1", 40)]
    ok("case", "verify", "--case", case)
