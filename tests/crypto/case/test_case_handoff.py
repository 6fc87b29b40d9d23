"""Hand-offs police and hotlines can use (issue 28.4): everything known about an address and its
reports, filtered by country and day, validated against the published schema, recorded in the
audit log; one assessment gives the INHOPE, IWF and NCMEC categories."""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
from pathlib import Path

import pytest

from crypto.case.classification import EXTRA, categories
from crypto.case.decisions import Assessment, assess
from crypto.case.normalise import address_key
from crypto.case.schema import open_case
from tests.crypto.case.casekit import case_assess, db, imported_case, ok, run
from tests.crypto.case.schemakit import errors
from tests.crypto.staff.staffkit import make_report

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "docs" / "handoff.schema.json").read_text())
D1, D2 = datetime.date(2026, 11, 1), datetime.date(2026, 11, 20)
A = ("--analyst", "Analyst One")
NL_NEW, NL_OLD, DE = "http://nl-new.test/g", "http://nl-old.test/", "http://de.test/"


@pytest.fixture
def case(tmp_path):
    specs = [
        (
            make_report(
                1,
                urls=(NL_NEW,),
                description="two girls\nabout 6",
                access="password: hunter2",
                seen_on="2026-11-18",
                found_on="forum",
                kinds=("images", "videos"),
                contact="reporter@example.test",
                child_in_danger=True,
            ),
            D2,
        ),
        (
            make_report(
                2, urls=("HTTP://NL-NEW.test/g?utm_source=x",), description="same gallery", access="open", contact=""
            ),
            D2,
        ),
        (make_report(3, urls=(NL_OLD,), description="old one", contact=""), D1),
        (make_report(4, urls=(DE,), description="german host", contact=""), D2),
    ]
    case = imported_case(tmp_path, specs, kind="x25519")
    with db(case) as conn:
        by_key = dict(conn.execute("SELECT key, id FROM addresses"))
    ids = {url: by_key[address_key(url)] for url in (NL_NEW, NL_OLD, DE)}
    conn = open_case(str(case))
    try:
        full = Assessment(
            "baseline",
            "prepubescent",
            "NL",
            "Host B.V.",
            "reported to NL police 2026-11-20",
            gender="female",
            content_type="images-and-videos",
            virtual="real",
            site_type="forum",
            commercial="no",
            activity="penetrative",
        )
        assess(conn, [ids[NL_NEW]], full, analyst="Analyst One", day=D2.isoformat())
        assess(
            conn,
            [ids[NL_OLD]],
            Assessment("national", "pubescent", "NL", activity="exhibition"),
            analyst="Analyst One",
            day=D1.isoformat(),
        )
        assess(conn, [ids[DE]], Assessment("baseline", country="DE"), analyst="Analyst One", day=D2.isoformat())
    finally:
        conn.close()
    return case, ids


def _export(case, *args):
    return ok("case", "export", "--case", case, *A, "--out", "-", *args).stdout


def test_a_handoff_for_one_country_since_a_day_validates_and_carries_everything(case):
    case, ids = case
    doc = json.loads(_export(case, "--format", "json", "--country", "nl", "--since", "2026-11-15"))
    assert errors(SCHEMA, doc) == []
    assert [a["case_id"] for a in doc["addresses"]] == [ids[NL_NEW]]  # not the older NL one, not the German
    a = doc["addresses"][0]
    assert (a["inhope"], a["iwf_category"], a["ncmec_category"]) == ("baseline", "A", "A1")
    assert {k: a[k] for k in EXTRA} == {
        "gender": "female",
        "content_type": "images-and-videos",
        "virtual": "real",
        "site_type": "forum",
        "commercial": "no",
        "activity": "penetrative",
    }
    assert (a["age_group"], a["hosting_country"], a["hosting_provider"], a["note"]) == (
        "prepubescent",
        "NL",
        "Host B.V.",
        "reported to NL police 2026-11-20",
    )
    assert len(a["spellings"]) == 2 and a["reports"] and len(a["reports"]) == 2
    first = next(r for r in a["reports"] if r["reporter_supplied"]["access"] == "password: hunter2")
    assert first["reporter_supplied"]["description"] == "two girls\nabout 6"
    assert (first["found_on"], first["kinds"], first["seen_on"], first["received_on"], first["child_in_danger"]) == (
        "forum",
        ["images", "videos"],
        "2026-11-18",
        D2.isoformat(),
        True,
    )
    assert "reporter" in doc["reporter_supplied"] and "unverified" in doc["reporter_supplied"]
    # Never the reporter's contact or receipt code.
    text = json.dumps(doc)
    assert "reporter@example.test" not in text and "receipt" not in text
    with db(case) as conn:
        receipts = [r for (r,) in conn.execute("SELECT receipt FROM reports")]
    assert not any(r in text for r in receipts)
    # The older NL one comes with an earlier --since; the German one with --country DE only.
    doc = json.loads(_export(case, "--format", "json", "--country", "NL"))
    assert {x["case_id"] for x in doc["addresses"]} == {ids[NL_NEW], ids[NL_OLD]}
    old = next(x for x in doc["addresses"] if x["case_id"] == ids[NL_OLD])
    assert (old["inhope"], old["iwf_category"], old["ncmec_category"]) == ("national", "C", "B2")
    assert errors(SCHEMA, doc) == []


def test_every_export_is_audited_and_verify_still_passes(case, tmp_path):
    case, ids = case
    out = tmp_path / "nl.json"
    said = ok(
        "case",
        "export",
        "--case",
        case,
        *A,
        "--format",
        "json",
        "--country",
        "NL",
        "--since",
        "2026-11-15",
        "--out",
        out,
    ).stdout
    assert "1 address(es); audit entry" in said
    with db(case) as conn:
        entry = json.loads(conn.execute("SELECT entry FROM audit ORDER BY seq DESC LIMIT 1").fetchone()[0])
    assert (
        entry["action"],
        entry["analyst"],
        entry["data"]["country"],
        entry["data"]["since"],
        entry["data"]["addresses"],
    ) == ("export", "Analyst One", "NL", "2026-11-15", [ids[NL_NEW]])
    assert entry["data"]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    _export(case, "--status", "assessed")
    with db(case) as conn:
        assert conn.execute('SELECT count(*) FROM audit WHERE entry LIKE \'%"action":"export"%\'').fetchone() == (2,)
    ok("case", "verify", "--case", case)


@pytest.mark.parametrize(
    ("code", "hint"), [("UK", "GB"), ("EU", "member state"), ("XX", "leave it empty"), ("QQ", "ISO 3166-1")]
)
def test_countries_are_iso_3166_checked(case, code, hint):
    case, ids = case
    result = run("case", "export", "--case", case, *A, "--country", code, "--out", "-")
    assert result.exit_code != 0 and hint in result.output and "not an ISO 3166-1" in result.output
    result = run("case", "assess", "--case", case, *A, "--country", code, ids[DE])
    assert result.exit_code != 0 and hint in result.output


def test_the_csv_handoff_carries_the_same(case):
    case, ids = case
    rows = list(csv.DictReader(io.StringIO(_export(case, "--country", "NL", "--since", "2026-11-15"))))
    assert [r["case_id"] for r in rows] == [str(ids[NL_NEW])]
    r = rows[0]
    assert (r["iwf_category"], r["ncmec_category"], r["inhope"], r["gender"]) == ("A", "A1", "baseline", "female")
    assert "two girls\nabout 6" in r["reporter_supplied_descriptions"]
    assert "password: hunter2" in r["reporter_supplied_access"]
    assert len(r["report_ids"].split()) == 2


def test_one_assessment_three_schemes():
    assert categories({"verdict": "baseline", "age_group": "infant", "activity": "sadism-bestiality"}) == {
        "inhope": "baseline",
        "iwf": "A",
        "ncmec": "A1",
    }
    assert categories({"verdict": "national", "age_group": "pubescent", "activity": "non-penetrative"}) == {
        "inhope": "national",
        "iwf": "B",
        "ncmec": "B1",
    }
    assert categories({"verdict": "baseline", "age_group": "unknown", "activity": "exhibition"}) == {
        "inhope": "baseline",
        "iwf": "C",
        "ncmec": "",
    }  # no age, no NCMEC grid cell: never guessed
    assert categories({"verdict": "not-illegal", "age_group": "pubescent", "activity": "exhibition"}) == {
        "inhope": "not illegal",
        "iwf": "",
        "ncmec": "",
    }
    assert categories({"verdict": "baseline", "age_group": "pubescent", "activity": "other-indecent"})["ncmec"] == ""
    assert categories(None) == {"inhope": "", "iwf": "", "ncmec": ""}


def test_the_published_schema_knows_the_values_the_code_writes():
    props = SCHEMA["properties"]["addresses"]["items"]["properties"]
    for name, values in EXTRA.items():
        assert props[name]["enum"] == ["", *values], name
    # And the validator can fail: a missing field, a wrong type, an unknown value.
    bad = {
        "format": "meldpunt-handoff",
        "version": 2,
        "filters": {"status": "", "track": "", "country": "uk", "since": ""},
        "reporter_supplied": "",
        "addresses": [{"case_id": "1", "iwf_category": "D"}],
    }
    found = errors(SCHEMA, bad)
    assert any("country" in e for e in found) and any("case_id: not an integer" in e for e in found)
    assert any("iwf_category" in e for e in found) and any("url is missing" in e for e in found)


def test_assess_takes_the_classification_fields_and_undo_restores_them(case):
    case, ids = case
    out = case_assess(
        case,
        *A,
        "--activity",
        "non-penetrative",
        "--age-group",
        "pubescent",
        "--gender",
        "male",
        "--virtual",
        "ai-generated",
        "--site-type",
        "image-host",
        "--commercial",
        "yes",
        "--content-type",
        "image",
        ids[DE],
    ).stdout
    assert "activity (none) -> non-penetrative" in out and "virtual (none) -> ai-generated" in out
    shown = ok("case", "show", "--case", case, "--brief", ids[DE]).stdout
    assert "INHOPE baseline, IWF B, NCMEC B1" in shown and "virtual ai-generated" in shown
    with db(case) as conn:
        seq = conn.execute("SELECT max(seq) FROM audit").fetchone()[0]
    ok("case", "undo", "--case", case, *A, seq)
    doc = json.loads(_export(case, "--format", "json", "--country", "DE"))
    assert (doc["addresses"][0]["activity"], doc["addresses"][0]["iwf_category"]) == ("", "")
    ok("case", "verify", "--case", case)
    result = run("case", "assess", "--case", case, *A, "--activity", "bad", ids[DE])
    assert result.exit_code != 0
