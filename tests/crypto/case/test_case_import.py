"""`meldpunt case import` on bundles sealed here: days, counts, duplicates, modes, acknowledgements."""

from __future__ import annotations

import datetime
import os
import secrets
import stat

from crypto.case.importing import import_bundles
from crypto.staff.ack import parse_ack
from tests.crypto.case.casekit import db, ok, run
from tests.crypto.staff.staffkit import make_report, new_identity, seal, write_bundle

D1, D2, D3 = datetime.date(2026, 11, 1), datetime.date(2026, 11, 8), datetime.date(2026, 11, 15)


def _items(identity, specs):
    """specs: (day, urls, danger) -> [(id, sealed, day)]."""
    out = []
    for n, (day, urls, danger) in enumerate(specs):
        report = make_report(n, urls=tuple(urls), child_in_danger=danger, received_on=day.isoformat())
        out.append((secrets.token_bytes(16), seal(report, [identity.recipient()]), day))
    return out


def test_addresses_once_across_bundles_with_counts_days_and_every_report(tmp_path):
    identity, key = new_identity(tmp_path)
    one = _items(
        identity,
        [
            (D2, ["http://Shared.test:80/a?utm_source=mail", "https://only-once.test/x"], False),
            (D2, ["shared.test/a"], False),
        ],
    )
    two = _items(
        identity,
        [
            (D1, ["HTTP://shared.test./a#", "magnet:?xt=urn:btih:" + "AB" * 20 + "&dn=x"], True),
            (D3, ["ab" * 20, "http://shared.test/A"], False),
        ],
    )
    write_bundle(tmp_path / "one.tar", one)
    write_bundle(tmp_path / "two.tar", two + one[:1])  # a re-export: one report again
    case = tmp_path / "case"
    out = ok("case", "import", "--case", case, "-i", key, tmp_path / "one.tar", tmp_path / "two.tar")
    assert "2 new to the case file, 1 already in it" in out.stdout

    with db(case) as conn:
        assert conn.execute("SELECT count(*) FROM reports").fetchone() == (4,)
        rows = {
            key: rest for key, *rest in conn.execute("SELECT key, reports, first_day, last_day, danger FROM addresses")
        }
        spellings = {
            key: {
                o
                for (o,) in conn.execute(
                    "SELECT original FROM mentions JOIN addresses ON id = address WHERE key = ?", (key,)
                )
            }
            for key in rows
        }
        shown = dict(conn.execute("SELECT key, url FROM addresses"))
    assert rows == {
        # The fragment-less "#", the trailing dot, the default port and the tracking parameter go.
        "http://shared.test/a": [3, "2026-11-01", "2026-11-08", 1],
        "https://only-once.test/x": [1, "2026-11-08", "2026-11-08", 0],
        "btih:" + "ab" * 20: [2, "2026-11-01", "2026-11-15", 1],
        "http://shared.test/A": [1, "2026-11-15", "2026-11-15", 0],  # a path's case stays
    }
    # Every reporter's spelling is kept; the address shows the one of its earliest report.
    assert spellings["http://shared.test/a"] == {
        "http://Shared.test:80/a?utm_source=mail",
        "shared.test/a",
        "HTTP://shared.test./a#",
    }
    assert spellings["btih:" + "ab" * 20] == {"magnet:?xt=urn:btih:" + "AB" * 20 + "&dn=x", "ab" * 20}
    assert shown["http://shared.test/a"] == "HTTP://shared.test./a#"
    assert shown["btih:" + "ab" * 20] == "magnet:?xt=urn:btih:" + "AB" * 20 + "&dn=x"
    urls = ok("case", "urls", "--case", case).stdout.splitlines()
    assert urls[0].startswith("url,reports,")
    # A child in danger first, then most reports: the two flagged addresses lead, three reports before two.
    assert urls[1].startswith("HTTP://shared.test./a#,3,") and urls[2].startswith("magnet:?xt=urn:btih:")
    assert len(urls) == 5

    # The acknowledgements list exactly each bundle's reports, the re-exported one included.
    acks = sorted((case / "acks").iterdir())
    assert len(acks) == 2
    listed = [{rid.hex() for rid, *_ in parse_ack(p.read_bytes())} for p in acks]
    assert sorted(map(len, listed)) == [2, 3]
    assert set().union(*listed) == {rid.hex() for rid, _, _ in one + two}

    # Modes: the folder 0700, every file 0600.
    assert stat.S_IMODE(os.stat(case).st_mode) == 0o700
    for dirpath, dirnames, filenames in os.walk(case):
        for name in dirnames:
            assert stat.S_IMODE(os.stat(os.path.join(dirpath, name)).st_mode) == 0o700
        for name in filenames:
            assert stat.S_IMODE(os.stat(os.path.join(dirpath, name)).st_mode) == 0o600, name


def test_the_same_bundle_twice_adds_nothing_and_writes_the_same_ack(tmp_path):
    identity, key = new_identity(tmp_path)
    write_bundle(tmp_path / "b.tar", _items(identity, [(D1, ["http://a.test/"], False)] * 3))
    case = tmp_path / "case"
    ok("case", "import", "--case", case, "-i", key, tmp_path / "b.tar")
    (ack,) = (case / "acks").iterdir()
    first = ack.read_bytes()
    with db(case) as conn:
        before = conn.execute("SELECT count(*), max(seq) FROM audit").fetchone()
    out = ok("case", "import", "--case", case, "-i", key, tmp_path / "b.tar")
    assert "0 new to the case file, 3 already in it" in out.stdout
    assert [p.read_bytes() for p in (case / "acks").iterdir()] == [first]
    with db(case) as conn:
        assert conn.execute("SELECT reports FROM addresses").fetchall() == [(3,)]
        assert conn.execute("SELECT count(*), max(seq) FROM audit").fetchone() == before


def test_a_known_id_with_other_bytes_and_a_foreign_key_are_refused_and_not_acknowledged(tmp_path):
    identity, key = new_identity(tmp_path)
    other, _ = new_identity(tmp_path, "other")
    rid = secrets.token_bytes(16)
    write_bundle(tmp_path / "a.tar", [(rid, seal(make_report(1), [identity.recipient()]), D1)])
    foreign = secrets.token_bytes(16)
    write_bundle(
        tmp_path / "b.tar",
        [
            (rid, seal(make_report(2), [identity.recipient()]), D1),
            (foreign, seal(make_report(3), [other.recipient()]), D1),
        ],
    )
    case = tmp_path / "case"
    ok("case", "import", "--case", case, "-i", key, tmp_path / "a.tar")
    result = run("case", "import", "--case", case, "-i", key, tmp_path / "b.tar")
    assert result.exit_code == 1 and "2 report(s) could not be opened" in result.stderr
    assert "already in the case file" in result.stderr and "another key" in result.stderr
    assert len(list((case / "acks").iterdir())) == 1  # b.tar acknowledged nothing
    with db(case) as conn:
        assert conn.execute("SELECT count(*) FROM reports").fetchone() == (1,)


def test_many_reports_go_through_the_worker_processes(tmp_path):
    identity, key = new_identity(tmp_path)
    specs = [
        (D1 + datetime.timedelta(days=n % 5), [f"http://host{n % 10}.test/", f"http://u{n}.test/"], n == 7)
        for n in range(80)
    ]
    write_bundle(tmp_path / "b.tar", _items(identity, specs))
    (result,) = import_bundles(str(tmp_path / "case"), [str(tmp_path / "b.tar")], [identity], analyst="A", workers=2)
    assert (result.added, result.failures) == (80, [])
    with db(tmp_path / "case") as conn:
        assert conn.execute("SELECT count(*) FROM addresses").fetchone() == (90,)
        assert conn.execute("SELECT reports, danger FROM addresses WHERE key = 'http://host7.test/'").fetchone() == (
            8,
            1,
        )


def test_a_case_folder_others_can_enter_is_refused(tmp_path):
    identity, key = new_identity(tmp_path)
    write_bundle(tmp_path / "b.tar", _items(identity, [(D1, ["http://a.test/"], False)]))
    case = tmp_path / "case"
    case.mkdir(mode=0o755)
    os.chmod(case, 0o755)
    result = run("case", "import", "--case", case, "-i", key, tmp_path / "b.tar")
    assert result.exit_code == 1 and "chmod 700" in result.stderr
    assert list(case.iterdir()) == []
