"""`meldpunt open` and `meldpunt find`: outputs, failures, reruns, and nothing outside DIR."""

from __future__ import annotations

import csv
import datetime
import hashlib
import html.parser
import io
import json
import os
import re
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner

from crypto.age import keys
from crypto.staff.ack import parse_ack
from crypto.staff.bundle import read_index
from meldpunt.cli import main
from tests.crypto.staff.staffkit import make_report, new_identity, seal, sealed_bundle, tree, write_bundle


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def staff_key(tmp_path, staff):
    """The session's staff key (tests/conftest.py) and that key as an identity file, for `-i`."""
    identity = staff.identities[0]
    key = tmp_path / "staff.key"
    key.write_text(keys.identity_file_text(identity))
    return identity, key


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
    'javascript:alert(1)',
    '"><img src="http://tracker.test/p.png"><a href="http://evil.test/">click</a>',
    "<script>alert(1)</script>",
    "http://x.test/</style><script src=http://evil.test/s.js></script>",
    "http://bidi.test/\u202egnp.exe",
    "=HYPERLINK(\"http://evil.test\",\"x\")",
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
        make_report(0, urls=HOSTILE_URLS[:4], description="</pre><a href='http://x.test/'>x</a>",
                    contact="<img src=x onerror=alert(1)>"),
        make_report(1, urls=HOSTILE_URLS[4:]),
    ]
    sealed_bundle(tmp_path / "b.tar", reports, [identity.recipient()])
    assert run("open", tmp_path / "b.tar", "-i", key, "--out", tmp_path / "out").exit_code == 0
    page = (tmp_path / "out" / "index.html").read_text()
    lowered = page.lower()
    for forbidden in ("<a ", "<a>", "<img", "<script", "<link", "<iframe", "<object",
                      "<embed", "url(", "@import", "\x1b", "\u202e"):
        assert forbidden not in lowered, forbidden
    parser = _Tags()
    parser.feed(page)
    assert {tag for tag, _ in parser.tags} <= {
        "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "code",
        "table", "thead", "tbody", "tr", "th", "td", "main", "section", "article", "span", "dl",
        "dt", "dd", "ul", "li",
    }
    assert all(name in ("id", "class", "lang", "charset", "http-equiv", "content", "name")
               for _, attrs in parser.tags for name, _ in attrs)
    assert "default-src &#x27;none&#x27;" in page or "default-src 'none'" in page
    assert "http://bidi.test/&lt;U+202E&gt;gnp.exe" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_csv_guards_formula_cells(tmp_path, staff_key):
    identity, key = staff_key
    report = make_report(0, urls=("=HYPERLINK(\"http://evil.test\")", "+cmd|' /C calc'!A0", "http://fine.test/"),
                         description="@SUM(A1)", contact="-2+3")
    sealed_bundle(tmp_path / "b.tar", [report], [identity.recipient()])
    assert run("open", tmp_path / "b.tar", "-i", key, "--out", tmp_path / "out").exit_code == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "reports.csv").read_text(), newline="")))
    assert [r["url"] for r in rows] == ["'=HYPERLINK(\"http://evil.test\")", "'+cmd|' /C calc'!A0", "http://fine.test/"]
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

    second = sealed_bundle(tmp_path / "2.tar", [make_report(10)], [identity.recipient()],
                           day=datetime.date(2026, 11, 22))
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


def test_planted_links_never_send_plaintext_outside_dir(tmp_path, staff_key):
    identity, key = staff_key
    opened = sealed_bundle(tmp_path / "b.tar", [make_report(0)], [identity.recipient()])
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim"
    victim.write_text("untouched")
    out = tmp_path / "out"
    (out / "reports").mkdir(parents=True)
    (out / "reports" / f"{opened[0][0]}.json").symlink_to(victim)
    (out / "index.html").symlink_to(victim)
    result = run("open", tmp_path / "b.tar", "-i", key, "--out", out)
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "untouched" and list(outside.iterdir()) == [victim]
    assert not (out / "index.html").is_symlink()
    assert not (out / "reports" / f"{opened[0][0]}.json").is_symlink()

    # A link at the temp name is refused, and then no acknowledgement is written.
    out2 = tmp_path / "out2"
    out2.mkdir()
    (out2 / ".urls.txt.tmp").symlink_to(victim)
    result = run("open", tmp_path / "b.tar", "-i", key, "--out", out2)
    assert result.exit_code == 1 and "symbolic link" in result.stderr
    assert victim.read_text() == "untouched" and not (out2 / "ack").exists()
    # The same for the page, which is written by a child process.
    out3 = tmp_path / "out3"
    out3.mkdir()
    (out3 / ".index.html.tmp").symlink_to(victim)
    result = run("open", tmp_path / "b.tar", "-i", key, "--out", out3)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [
        f"meldpunt: cannot write {out3 / 'index.html'}: a symbolic link is in the way"]
    assert victim.read_text() == "untouched" and not (out3 / "ack").exists()


def test_reports_dir_that_is_a_link_is_refused(tmp_path, staff_key):
    identity, key = staff_key
    sealed_bundle(tmp_path / "b.tar", [make_report(0)], [identity.recipient()])
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "reports").symlink_to(outside)
    result = run("open", tmp_path / "b.tar", "-i", key, "--out", out)
    assert result.exit_code == 1 and "symbolic link" in result.stderr
    assert list(outside.iterdir()) == [] and not (out / "ack").exists()


def test_protected_identity_with_passphrase_file(tmp_path):
    identity = keys.generate("pq")
    key = tmp_path / "staff.key.age"
    key.write_bytes(keys.protect(keys.identity_file_text(identity), "correct horse", work_factor=10))
    (tmp_path / "pass").write_text("correct horse\n")
    (tmp_path / "wrong").write_text("wrong\n")
    sealed_bundle(tmp_path / "b.tar", [make_report(0)], [identity.recipient()])
    result = run("open", tmp_path / "b.tar", "-i", key, "--passphrase-file", tmp_path / "wrong",
                 "--out", tmp_path / "o")
    assert result.exit_code == 1 and result.stderr.startswith("meldpunt: wrong passphrase")
    assert not (tmp_path / "o").exists()
    result = run("open", tmp_path / "b.tar", "-i", key, "--passphrase-file", tmp_path / "pass", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output


def test_key_rotation_reports_before_during_and_after_open_with_the_right_keys(tmp_path):
    old, old_key = new_identity(tmp_path, "old")
    new, new_key = new_identity(tmp_path, "new")
    # Before: config lists the old key; during: both; after: the old recipient removed.
    before = sealed_bundle(tmp_path / "b1.tar", [make_report(1)], [old.recipient()])
    during = sealed_bundle(tmp_path / "b2.tar", [make_report(2)], [old.recipient(), new.recipient()])
    after = sealed_bundle(tmp_path / "b3.tar", [make_report(3)], [new.recipient()])
    expected = {"b1": before, "b2": during, "b3": after}

    def opens(bundle: str, *key_files) -> bool:
        args = ["open", tmp_path / f"{bundle}.tar",
                "--out", tmp_path / f"out-{bundle}-{len(key_files)}-{key_files[0].stem}"]
        for k in key_files:
            args += ["-i", k]
        result = run(*args)
        return result.exit_code == 0

    for bundle in expected:
        assert opens(bundle, old_key, new_key), bundle  # staff keep the old key offline: all open
    assert [opens(b, new_key) for b in expected] == [False, True, True]
    assert [opens(b, old_key) for b in expected] == [True, True, False]


def test_find_by_receipt_in_any_spelling(tmp_path, staff_key):
    identity, key = staff_key
    target = make_report(3, description="line one\n\x1b]0;owned\x07 evil title", urls=("http://x.test/\u202eexe.gnp",))
    sealed_bundle(tmp_path / "b.tar", [make_report(1), target, make_report(2)], [identity.recipient()])
    out = tmp_path / "out"
    assert run("open", tmp_path / "b.tar", "-i", key, "--out", out).exit_code == 0
    typed = target.receipt.replace("-", "").lower()
    result = run("find", typed, out)
    assert result.exit_code == 0, result.output
    assert f"Receipt:      {target.receipt}" in result.stdout
    assert "http://x.test/<U+202E>exe.gnp" in result.stdout
    assert "<U+001B>]0;owned<U+0007> evil title" in result.stdout
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    others = run("find", make_report(0).receipt, out)
    assert others.exit_code == 1 and others.stderr.startswith("meldpunt: no opened report")
    bad = run("find", "not-a-code", out)
    assert bad.exit_code == 1 and bad.stderr.startswith("meldpunt: not a receipt code")


def test_nothing_outside_dir_on_success(tmp_path, staff_key):
    identity, key = staff_key
    sealed_bundle(tmp_path / "b.tar", [make_report(i) for i in range(40)], [identity.recipient()])
    before = tree(tmp_path)
    assert run("open", tmp_path / "b.tar", "-i", key, "--out", tmp_path / "out").exit_code == 0
    after = tree(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("out")} == before
    assert all(k == "out" or k.startswith("out/") for k in set(after) - set(before))
    assert re.fullmatch(r"[0-9a-f]{32}\.json", sorted(os.listdir(tmp_path / "out" / "reports"))[0])
    assert hashlib.sha256((tmp_path / "b.tar").read_bytes()).hexdigest() == hashlib.sha256(before["b.tar"]).hexdigest()


def _run_real(args, *, stderr_tty: bool) -> tuple[int, str, str]:
    """Runs the installed `meldpunt` in a real process; stderr on a pseudo-terminal if asked."""
    import pty
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("meldpunt")
    if not stderr_tty:
        done = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([str(exe), *map(str, args)], stdout=subprocess.PIPE, stderr=slave, text=True)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        stdout = proc.stdout.read()
        proc.stdout.close()
        return proc.wait(timeout=120), stdout, b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(master)


def test_progress_bar_only_on_a_terminal(tmp_path, staff_key):
    identity, key = staff_key
    sealed_bundle(tmp_path / "b.tar", [make_report(i) for i in range(40)], [identity.recipient()])
    code, stdout, stderr = _run_real(["open", tmp_path / "b.tar", "-i", key, "--out", tmp_path / "a"], stderr_tty=True)
    assert code == 0 and "Opened 40 of 40" in stdout
    assert "Opening" in stderr and "40/40" in stderr
    code, stdout, stderr = _run_real(["open", tmp_path / "b.tar", "-i", key, "--out", tmp_path / "b"], stderr_tty=False)
    assert code == 0 and "Opened 40 of 40" in stdout and stderr == ""


def test_real_process_refuses_a_hostile_bundle_in_one_line(tmp_path, staff_key):
    _, key = staff_key
    (tmp_path / "b.tar").write_bytes(b"\0" * 100)
    code, stdout, stderr = _run_real(["open", tmp_path / "b.tar", "-i", key, "--out", tmp_path / "o"], stderr_tty=False)
    assert code == 1 and stdout == ""
    assert stderr == "meldpunt: the bundle is truncated: it ends without the end-of-archive marker\n"
    assert not (tmp_path / "o").exists()
