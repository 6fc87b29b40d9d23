"""Reports filed through the running form, exported in three bundles with a purge between them,
imported into one case file (one bundle twice): every report once, every address once with the
right counts and days, and the acknowledgements purge exactly what was imported."""

from __future__ import annotations

import re
import sqlite3

import pytest

from crypto.age import keys
from crypto.staff.ack import parse_ack
from crypto.staff.bundle import read_index
from tests.clirun import meldpunt
from tests.crypto.case.casekit import ok
from tests.formkit import report_fields
from tests.harness import Server, write_config
from tests.kit import RECEIPT, TOKEN

# Each report's addresses, in the spellings a reporter types; the comment is the address they name.
WAVE_A = [
    ["http://Shared.test/page?utm_source=x", "https://a-only.test/1"],  # shared.test/page; a-only
    ["shared.test./page", "http://a-only-two.test/"],  # shared.test/page; a-only-two
]
WAVE_B = [
    ["HTTP://SHARED.TEST:80/page", "magnet:?xt=urn:btih:" + "CD" * 20],  # shared.test/page; the torrent
    ["http://b-only.test/"],
]
WAVE_C = [
    ["cd" * 20, "http://shared.test/page#top"],  # the torrent; a fragment keeps its own address
]


def _file(server: Server, urls: list[str], danger: bool) -> str:
    status, _, page = server.request("GET", "/en/")
    assert status == 200
    status, _, text = server.post_form(
        "en",
        report_fields(
            TOKEN.search(page).group(1),
            urls="\n".join(urls),
            description="filed for the case-file test",
            danger="yes" if danger else "no",
        ),
    )
    assert status == 200, text[-2000:]
    return RECEIPT.search(text).group(1)


def _export(config, path):
    meldpunt("export", "--config", str(config), "--out", str(path), check=True)
    entries = read_index(path)
    DAYS.update(e.day for e in entries)
    return {e.id for e in entries}


DAYS: set[str] = set()  # the days the server gave the reports (its UTC day)


def _purge(config, ack) -> str:
    return meldpunt("purge", "--config", str(config), "--ack", str(ack), check=True).stdout.decode()


@pytest.mark.slow  # several seconds: in make test, not make check
def test_three_bundles_with_purges_into_one_case_file(tmp_path, staff):
    DAYS.clear()
    key = tmp_path / "staff.key"
    key.write_text(keys.identity_file_text(staff.identities[0]))
    config = write_config(tmp_path / "meldpunt.toml", tmp_path / "data", staff.recipient, form_min_seconds=0)
    case = tmp_path / "case"
    receipts = []
    with Server(config, tmp_path / "logs") as server:
        receipts += [_file(server, urls, n == 0) for n, urls in enumerate(WAVE_A)]
        one = _export(config, tmp_path / "one.tar")
        ok("case", "import", "--case", case, "-i", key, tmp_path / "one.tar")
        (ack1,) = (case / "acks").iterdir()
        assert "Deleted 2 of the 2 acknowledged reports." in _purge(config, ack1)

        receipts += [_file(server, urls, False) for urls in WAVE_B]
        two = _export(config, tmp_path / "two.tar")  # B only: A was purged
        receipts += [_file(server, urls, False) for urls in WAVE_C]
        three = _export(config, tmp_path / "three.tar")  # B again (not yet purged), and C
    assert not one & two and two < three and len(three) == 3

    # Bundle two twice, and three (which holds two's reports again).
    ok("case", "import", "--case", case, "-i", key, tmp_path / "two.tar", tmp_path / "three.tar", tmp_path / "two.tar")
    acks = {p.name: {rid.hex() for rid, *_ in parse_ack(p.read_bytes())} for p in (case / "acks").iterdir()}
    assert sorted(map(sorted, acks.values())) == sorted(map(sorted, (one, two, three)))
    # Purging three's acknowledgement deletes everything left; two's then finds nothing.
    (ack3,) = [case / "acks" / n for n, ids in acks.items() if ids == three]
    (ack2,) = [case / "acks" / n for n, ids in acks.items() if ids == two]
    out = _purge(config, ack3)
    assert "Deleted 3 of the 3 acknowledged reports." in out and "0 reports remain" in out
    assert "Deleted 0 of the 2 acknowledged reports." in _purge(config, ack2)

    if len(DAYS) != 1:
        pytest.skip("the server's day changed while the test ran (midnight UTC)")
    (today,) = DAYS
    with sqlite3.connect(case / "case.sqlite3") as conn:
        assert sorted(r for (r,) in conn.execute("SELECT receipt FROM reports")) == sorted(receipts)
        assert {rid for (rid,) in conn.execute("SELECT id FROM reports")} == one | three
        addresses = {
            key: rest for key, *rest in conn.execute("SELECT key, reports, first_day, last_day, danger FROM addresses")
        }
    assert addresses == {
        "http://shared.test/page": [3, today, today, 1],
        "https://a-only.test/1": [1, today, today, 1],
        "http://a-only-two.test/": [1, today, today, 0],
        "btih:" + "cd" * 20: [2, today, today, 0],
        "http://b-only.test/": [1, today, today, 0],
        "http://shared.test/page#top": [1, today, today, 0],
    }
    csv_lines = ok("case", "urls", "--case", case).stdout.splitlines()
    assert csv_lines[0].startswith("url,reports,") and len(csv_lines) == 1 + 6
    # The server removes well-known tracking parameters before sealing (onion_service/web/tracking.py).
    # The host in lower case, as the one display rule shows it (crypto/case/display.py).
    assert re.match(r"http://shared\.test/page,3,|shared\.test\./page,3,|HTTP://shared\.test:80/page,3,", csv_lines[1])
    ok("case", "verify", "--case", case)
