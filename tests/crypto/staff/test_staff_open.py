"""`meldpunt open` and `meldpunt find`: outputs, failures, reruns, and nothing outside DIR."""

from __future__ import annotations

import csv
import datetime
import html.parser
import io
import json
import secrets
from pathlib import Path

import pytest

from crypto.staff.ack import parse_ack
from crypto.staff.bundle import read_index
from tests.crypto.staff.staffkit import make_report, new_identity, run, seal, sealed_bundle, tree, write_bundle


def _ack_ids(out: Path) -> set[str]:
    return {rid.hex() for rid, _, _ in parse_ack((out / "ack").read_bytes())}


@pytest.mark.parametrize("count", [5, 40])  # 5 opens inline, 40 in worker processes
def test_open_writes_every_output(tmp_path, staff_key, count):
    identity, key = staff_key
    reports = [make_report(i) for i in range(count)]
    opened = sealed_bundle(tmp_path / "b.tar", reports, [identity.recipient()])
    out = tmp_path / "out"
    result = run("open", tmp_path / "b.tar", "-i", key, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"Opened {count} of {count} reports" in result.stdout
    assert (out.stat().st_mode & 0o777) == 0o700

    entries = {e.id: e for e in read_index(tmp_path / "b.tar")}
    for rid, report in opened:
        record = json.loads((out / "reports" / f"{rid}.json").read_text())
        assert record["id"] == rid and record["day"] == "2026-11-20"
        assert record["sha256"] == entries[rid].sha256
        assert record["report"]["receipt"] == report.receipt
        assert record["report"]["urls"] == list(report.urls)
        assert record["report"]["description"] == report.description  # the canary, intact
        assert ((out / "reports" / f"{rid}.json").stat().st_mode & 0o777) == 0o600

    page = (out / "index.html").read_text()
    for rid, report in opened:
        assert f'id="r-{rid}"' in page and report.urls[0] in page and report.receipt in page

    rows = list(csv.DictReader(io.StringIO((out / "reports.csv").read_text(), newline="")))
    assert len(rows) == sum(len(r.urls) for r in reports)
    assert {row["receipt"] for row in rows} == {r.receipt for r in reports}

    urls = [line.split("\t") for line in (out / "urls.txt").read_text().splitlines()]
    assert sorted(u for _, u in urls) == sorted({u for r in reports for u in r.urls})
    assert all(n == "1" for n, _ in urls)

    # The ack reveals each report's purge secret, found only by decrypting it.
    secret_of = {rid: bytes.fromhex(report.purge_secret) for rid, report in opened}
    assert parse_ack((out / "ack").read_bytes()) == sorted(
        (bytes.fromhex(e.id), bytes.fromhex(e.sha256), secret_of[e.id]) for e in entries.values()
    )
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_urls_txt_counts_reports_naming_each_url(tmp_path, staff_key):
    identity, key = staff_key
    shared = "http://shared.onion/x"
    reports = [make_report(i, urls=(shared, f"http://only{i}.onion/")) for i in range(3)]
    reports.append(make_report(9, urls=(shared,)))
    sealed_bundle(tmp_path / "b.tar", reports, [identity.recipient()])
    assert run("open", tmp_path / "b.tar", "-i", key, "--out", tmp_path / "out").exit_code == 0
    lines = (tmp_path / "out" / "urls.txt").read_text().splitlines()
    assert lines[0] == f"4\t{shared}"
    assert sorted(lines[1:]) == sorted(f"1\thttp://only{i}.onion/" for i in range(3))


HOSTILE_URLS = (
    "javascript:alert(1)",
    '"><img src="http://tracker.test/p.png"><a href="http://evil.test/">click</a>',
    "<script>alert(1)</script>",
    "http://x.test/</style><script src=http://evil.test/s.js></script>",
    "http://bidi.test/\u202egnp.exe",
    '=HYPERLINK("http://evil.test","x")',
    "http://ctl.test/\x1b[2J\x07",
)


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def test_index_has_no_links_images_or_scripts(tmp_path, staff_key):
    identity, key = staff_key
    reports = [
        make_report(
            0,
            urls=HOSTILE_URLS[:4],
            description="</pre><a href='http://x.test/'>x</a>",
            contact="<img src=x onerror=alert(1)>",
        ),
        make_report(1, urls=HOSTILE_URLS[4:]),
    ]
    sealed_bundle(tmp_path / "b.tar", reports, [identity.recipient()])
    assert run("open", tmp_path / "b.tar", "-i", key, "--out", tmp_path / "out").exit_code == 0
    page = (tmp_path / "out" / "index.html").read_text()
    lowered = page.lower()
    for forbidden in (
        "<a ",
        "<a>",
        "<img",
        "<script",
        "<link",
        "<iframe",
        "<object",
        "<embed",
        "url(",
        "@import",
        "\x1b",
        "\u202e",
    ):
        assert forbidden not in lowered, forbidden
    parser = _Tags()
    parser.feed(page)
    assert {tag for tag, _ in parser.tags} <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "h1",
        "h2",
        "h3",
        "p",
        "code",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "main",
        "section",
        "article",
        "span",
        "dl",
        "dt",
        "dd",
        "ul",
        "li",
    }
    assert all(
        name in ("id", "class", "lang", "charset", "http-equiv", "content", "name")
        for _, attrs in parser.tags
        for name, _ in attrs
    )
    assert "default-src &#x27;none&#x27;" in page or "default-src 'none'" in page
    assert "http://bidi.test/&lt;U+202E&gt;gnp.exe" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_csv_guards_formula_cells(tmp_path, staff_key):
    identity, key = staff_key
    report = make_report(
        0,
        urls=('=HYPERLINK("http://evil.test")', "+cmd|' /C calc'!A0", "http://fine.test/"),
        description="@SUM(A1)",
        contact="-2+3",
    )
    sealed_bundle(tmp_path / "b.tar", [report], [identity.recipient()])
    assert run("open", tmp_path / "b.tar", "-i", key, "--out", tmp_path / "out").exit_code == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "reports.csv").read_text(), newline="")))
    assert [r["url"] for r in rows] == ['\'=HYPERLINK("http://evil.test")', "'+cmd|' /C calc'!A0", "http://fine.test/"]
    assert {r["description"] for r in rows} == {"'@SUM(A1)"}
    assert {r["contact"] for r in rows} == {"'-2+3"}


def _bundle_with_bad_reports(tmp_path, identity):
    """Five good reports, one tampered (hash updated), one whose manifest hash is wrong."""
    recipients = [identity.recipient()]
    day = datetime.date(2026, 11, 21)
    items = [(secrets.token_bytes(16), seal(make_report(i), recipients), day) for i in range(7)]
    tampered = bytearray(items[5][1])
    tampered[-40] ^= 1  # in the payload: the STREAM tag fails
    items[5] = (items[5][0], bytes(tampered), day)
    write_bundle(tmp_path / "b.tar", items)
    # Corrupt one byte of report 6 after the manifest was written: its hash no longer matches.
    data = bytearray((tmp_path / "b.tar").read_bytes())
    entry = next(e for e in read_index(tmp_path / "b.tar") if e.id == items[6][0].hex())
    data[entry.offset + 100] ^= 1
    (tmp_path / "b.tar").write_bytes(bytes(data))
    return [rid.hex() for rid, _, _ in items]


def test_bad_reports_fail_alone_and_are_not_acknowledged(tmp_path, staff_key):
    identity, key = staff_key
    ids = _bundle_with_bad_reports(tmp_path, identity)
    out = tmp_path / "out"
    result = run("open", tmp_path / "b.tar", "-i", key, "--out", out)
    assert result.exit_code == 1
    assert "Opened 5 of 7 reports" in result.stdout
    assert "do not match the manifest's SHA-256" in result.stderr and ids[6] in result.stderr
    assert "cannot be opened" in result.stderr and ids[5] in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("meldpunt: 2 of 7 reports could not be opened")
    assert _ack_ids(out) == set(ids[:5])
    assert sorted(p.name for p in (out / "reports").iterdir()) == sorted(f"{i}.json" for i in ids[:5])


def test_wrong_identity_opens_nothing_and_writes_no_ack(tmp_path, staff_key):
    identity, _ = staff_key
    _, other_key = new_identity(tmp_path, "other")
    sealed_bundle(tmp_path / "b.tar", [make_report(i) for i in range(3)], [identity.recipient()])
    out = tmp_path / "out"
    result = run("open", tmp_path / "b.tar", "-i", other_key, "--out", out)
    assert result.exit_code == 1
    assert "3 report(s): none of the given identities can open it" in result.stderr
    assert not (out / "ack").exists()
    assert list((out / "reports").iterdir()) == []


def test_reopening_is_harmless_and_a_later_bundle_adds_to_the_overview(tmp_path, staff_key):
    identity, key = staff_key
    first = sealed_bundle(tmp_path / "1.tar", [make_report(i) for i in range(3)], [identity.recipient()])
    out = tmp_path / "out"
    assert run("open", tmp_path / "1.tar", "-i", key, "--out", out).exit_code == 0
    snapshot = tree(out)
    assert run("open", tmp_path / "1.tar", "-i", key, "--out", out).exit_code == 0
    assert tree(out) == snapshot

    second = sealed_bundle(
        tmp_path / "2.tar", [make_report(10)], [identity.recipient()], day=datetime.date(2026, 11, 22)
    )
    # A report file edited by hand into something else is left out of the overview, with a warning.
    edited = out / "reports" / f"{first[2][0]}.json"
    record = json.loads(edited.read_text())
    record["report"]["urls"] = "not a list"
    edited.write_text(json.dumps(record))
    result = run("open", tmp_path / "2.tar", "-i", key, "--out", out)
    assert result.exit_code == 0 and "(3 reports there in all)" in result.stdout
    assert f"warning: {edited} is not a report file meldpunt wrote" in result.stderr
    assert f'id="r-{first[2][0]}"' not in (out / "index.html").read_text()
    edited.write_bytes(snapshot[f"reports/{first[2][0]}.json"])
    result = run("open", tmp_path / "2.tar", "-i", key, "--out", out)
    assert result.exit_code == 0 and "(4 reports there in all)" in result.stdout
    assert _ack_ids(out) == {second[0][0]}
    page = (out / "index.html").read_text()
    assert all(f'id="r-{rid}"' in page for rid, _ in first + second)
    # Newest day first.
    assert page.index(f'id="r-{second[0][0]}"') < min(page.index(f'id="r-{rid}"') for rid, _ in first)
