"""Addresses shown safely everywhere (issue 28.5): one display rule for the terminal, the page, the
CSVs, letters and hand-offs; hosts compared and shown in IDNA with the Unicode form beside;
a warning on hosts that mix scripts."""

from __future__ import annotations

import csv
import datetime
import io
import json
import secrets

import pytest

from crypto.case.display import shown
from crypto.case.normalise import address_key
from tests.crypto.case.casekit import case_assess, db, imported_case, ok
from tests.crypto.staff.staffkit import make_report, seal, write_bundle

DAY = datetime.date(2026, 11, 20)
A = ("--analyst", "Analyst One")
RLO = "https://evil.example/\u202egpj.exe"
UNICODE, PUNY = "http://b\u00fccher.example/a", "http://xn--bcher-kva.example/a"
LOOKALIKE = "http://img-host.ex\u0430mple/x"  # a Cyrillic a


def test_the_rule():
    assert shown(RLO).text == "https://evil.example/%E2%80%AEgpj.exe"
    s = shown(UNICODE)
    assert (s.text, s.unicode_host, s.mixed) == (PUNY, "b\u00fccher.example", ())
    assert s.line() == PUNY + " (host b\u00fccher.example)"
    assert shown(PUNY) == s  # typed in punycode, shown the same
    assert shown(LOOKALIKE).mixed == ("Cyrillic", "Latin") and "look-alike" in shown(LOOKALIKE).line()
    assert shown("http://img-host.example/x").mixed == ()
    assert shown("http://\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444/").mixed == ()  # all Cyrillic: no mix
    assert shown("http://a\u200bb.test/").text == "http://a%E2%80%8Bb.test/"  # never hidden inside punycode
    assert shown("HTTP://User@B\u00dcCHER.Example:8080/P?q#f").text == "HTTP://User@xn--bcher-kva.example:8080/P?q#f"
    assert shown("magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=a\u202eb").text.endswith("&dn=a%E2%80%AEb")
    assert shown("http://a.test/x y").text == "http://a.test/x%20y"
    # Compared in IDNA, but without IDNA 2003's folding: two registrable names stay two.
    assert address_key(UNICODE) == address_key(PUNY) == address_key("B\u00dcCHER.example/a")
    assert address_key("http://stra\u00dfe.example/") != address_key("http://strasse.example/")


@pytest.fixture
def case(tmp_path):
    reports = [
        make_report(1, urls=(UNICODE,), child_in_danger=False),
        make_report(2, urls=(PUNY, RLO), child_in_danger=False),
        make_report(3, urls=(LOOKALIKE, "http://img-host.example/x"), child_in_danger=False),
    ]
    case = imported_case(tmp_path, [(r, DAY) for r in reports], kind="x25519")
    return case


def _ids(case):
    """By each spelling the tests use: the stored one is the earliest report's, in id order."""
    with db(case) as conn:
        by_key = dict(conn.execute("SELECT key, id FROM addresses"))
    return {
        url: by_key[address_key(url)]
        for url in (UNICODE, PUNY, RLO, LOOKALIKE, "http://img-host.example/x")
        if address_key(url) in by_key
    }


def test_one_rule_in_every_output(case, tmp_path):
    ids = _ids(case)
    assert len(set(ids.values())) == 4 and ids[UNICODE] == ids[PUNY]  # bücher once
    rows = {r["case_id"]: r for r in csv.DictReader(io.StringIO(ok("case", "urls", "--case", case).stdout))}
    bucher = rows[str(ids[UNICODE])]
    assert (bucher["url"], bucher["host_unicode"], bucher["reports"]) == (PUNY, "b\u00fccher.example", "2")
    assert rows[str(ids[RLO])]["url"] == "https://evil.example/%E2%80%AEgpj.exe"
    assert "Cyrillic and Latin" in rows[str(ids[LOOKALIKE])]["url_warning"]
    assert rows[str(ids["http://img-host.example/x"])]["url_warning"] == ""

    aids = [str(ids[u]) for u in (UNICODE, RLO, LOOKALIKE)]
    case_assess(case, *A, "--verdict", "baseline", "--provider", "Host", *aids)
    outputs = {
        "queue": ok("case", "queue", "--case", case, "--status", "all").stdout,
        "show": ok("case", "show", "--case", case, aids[1]).stdout,
        "csv": ok("case", "export", "--case", case, "--status", "assessed", "--out", "-").stdout,
        "json": ok("case", "export", "--case", case, "--status", "assessed", "--format", "json", "--out", "-").stdout,
    }
    ok("case", "page", "--case", case, "--status", "all")
    outputs["page"] = (case / "pages" / "queue.html").read_text()
    ok(
        "case",
        "letters",
        "--case",
        case,
        "--sender",
        "Meldpunt",
        "--reply-to",
        "ntd@meldpunt.test",
        "--out",
        tmp_path / "letters",
    )
    (letter,) = [p.read_text() for p in (tmp_path / "letters").iterdir() if p.name != "index.txt"]
    outputs["letter"] = letter
    for name, text in outputs.items():
        assert "\u202e" not in text and "<U+202E>" not in text, name
        assert "evil.example/%E2%80%AEgpj.exe" in text, name
    for name in ("queue", "page", "letter"):
        assert f"{PUNY} (host b\u00fccher.example)" in outputs[name], name
        assert "Cyrillic and Latin" in outputs[name], name
    assert letter.count("xn--bcher-kva.example") == 1  # one address, one line
    handoff = json.loads(outputs["json"])["addresses"]
    assert {a["url"] for a in handoff} >= {PUNY, "https://evil.example/%E2%80%AEgpj.exe"}
    assert "b\u00fccher.example" in {a["host_unicode"] for a in handoff}
    # Found by any spelling.
    assert f"Address {ids[UNICODE]}" in ok("case", "show", "--case", case, "XN--BCHER-KVA.example/a").stdout
    ok("case", "verify", "--case", case)


def test_an_address_keyed_before_idna_keeps_its_reports(case, tmp_path):
    # A case file from before: the Unicode host as written in the key. New spellings still find it.
    aid = _ids(case)[UNICODE]
    with db(case) as conn:
        conn.execute("UPDATE addresses SET key = ? WHERE id = ?", ("http://b\u00fccher.example/a", aid))
        assert conn.execute("SELECT count(*) FROM addresses WHERE key = ?", (address_key(PUNY),)).fetchone() == (0,)
    identity_key = tmp_path / "staff.key"
    from crypto.age.keys import load_identity_file

    (identity,) = load_identity_file(str(identity_key), lambda: b"")
    write_bundle(
        tmp_path / "c.tar", [(secrets.token_bytes(16), seal(make_report(4, urls=(PUNY,)), [identity.recipient()]), DAY)]
    )
    ok("case", "import", "--case", case, "-i", identity_key, tmp_path / "c.tar")
    with db(case) as conn:
        assert conn.execute("SELECT reports FROM addresses WHERE id = ?", (aid,)).fetchone()[0] == 3
    assert f"Address {aid}" in ok("case", "show", "--case", case, PUNY).stdout
    with db(case) as conn:
        assert conn.execute("SELECT count(*) FROM addresses").fetchone() == (4,)
