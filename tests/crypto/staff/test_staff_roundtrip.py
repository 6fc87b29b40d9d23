"""The whole workflow with 1,000 reports filed through the running app:
form -> store -> export -> open (offline) -> ack -> purge, and a report filed in between survives."""

from __future__ import annotations

import json
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from crypto import age
from crypto.staff.ack import parse_ack
from crypto.staff.bundle import read_index, read_sealed
from meldpunt.cli import main
from onion_service.config import load_config
from onion_service.store import open_store
from onion_service.web.app import create_app
from tests.crypto.staff.staffkit import new_identity
from tests.crypto.staff.test_staff_server import _config

REPORTS = 1000
ONION = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx"  # 56 base32 characters
_TOKEN = re.compile(r'name="token" value="([^"]+)"')
_RECEIPT = re.compile(r"<strong>([2-9A-Z]{4}(?:-[2-9A-Z]{4}){3})</strong>")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _file(client, token: str, n: int) -> tuple[str, str]:
    """Files one report through the form; returns (canary, receipt shown to the reporter)."""
    canary = f"canary{n:05d}x{secrets.token_hex(6)}"
    response = client.post(
        "/en/",
        data={
            "urls": f"http://{ONION}.onion/{canary}\nhttps://example.test/{canary}",
            "found_on": "onion",
            "kinds": ["images", "videos"],
            "access": "",
            "seen_on": "",
            "description": f"seen while browsing {canary}",
            "danger": "yes" if n % 10 == 0 else "no",
            "contact": "",
            "token": token,
        },
        headers={"Host": "127.0.0.1"},
    )
    assert response.status_code == 200, response.status_code
    match = _RECEIPT.search(response.get_data(as_text=True))
    assert match, "no receipt on the thanks page"
    return canary, match.group(1)


def _opened(out: Path) -> dict[str, dict]:
    records = [json.loads(p.read_text()) for p in (out / "reports").glob("*.json")]
    return {r["report"]["receipt"]: r for r in records}


@pytest.mark.slow
def test_thousand_reports_round_trip(tmp_path, database_url):
    staff_a, key_a = new_identity(tmp_path, "staff-a")
    staff_b, key_b = new_identity(tmp_path, "staff-b")
    # Two staff keys in the config: every report is sealed to both.
    config_path = _config(tmp_path, database_url, [staff_a.recipient().encode(), staff_b.recipient().encode()])
    config = load_config(config_path)
    store = open_store(config.database_url)
    try:
        app = create_app(config, store=store)

        def file_some(ns: range) -> list[tuple[str, str]]:
            client = app.test_client()

            def token() -> str:  # a form for every report: a token is spent once
                page = client.get("/en/", headers={"Host": "127.0.0.1"}).get_data(as_text=True)
                return _TOKEN.search(page).group(1)

            return [_file(client, token(), n) for n in ns]

        # Eight concurrent reporters, each report committed on its own (no writer process here).
        with ThreadPoolExecutor(8) as pool:
            filed = [x for chunk in pool.map(file_some, [range(i, REPORTS, 8) for i in range(8)]) for x in chunk]
        assert len(filed) == REPORTS and store.count() == REPORTS

        result = run("export", "--config", config_path, "--out", tmp_path / "bundle.tar")
        assert result.exit_code == 0, result.output
        assert store.count() == REPORTS  # exporting deletes nothing

        # Each report is sealed to both staff keys: either one alone opens it.
        snippets = []
        with open(tmp_path / "bundle.tar", "rb") as f:
            for entry in read_index(tmp_path / "bundle.tar")[:10]:
                sealed = read_sealed(f.fileno(), entry)
                assert age.decrypt(sealed, [staff_a]) == age.decrypt(sealed, [staff_b])
                snippets.append(sealed[-200:-100])  # from the payload: random-looking, unique

        late_canary, late_receipt = file_some(range(REPORTS, REPORTS + 1))[0]

        out = tmp_path / "offline"
        result = run("open", tmp_path / "bundle.tar", "-i", key_b, "--out", out)
        assert result.exit_code == 0, result.output
        opened = _opened(out)
        assert len(opened) == REPORTS and late_receipt not in opened
        for canary, receipt in filed:
            report = opened[receipt]["report"]
            assert report["urls"] == [f"http://{ONION}.onion/{canary}", f"https://example.test/{canary}"]
            assert report["description"] == f"seen while browsing {canary}"
            assert report["kinds"] == ["images", "videos"] and report["language"] == "en"
        assert len(parse_ack((out / "ack").read_bytes())) == REPORTS
        page = (out / "index.html").read_text()
        assert "<a " not in page and "<img" not in page.lower() and "<script" not in page.lower()
        assert sum(1 for _ in open(out / "reports.csv")) == 1 + 2 * REPORTS

        found = run("find", filed[123][1].lower().replace("-", " "), out)
        assert found.exit_code == 0 and filed[123][0] in found.stdout

        def stored_bytes() -> bytes:
            return b"".join(p.read_bytes() for p in tmp_path.glob("reports.sqlite3*"))

        if database_url.startswith("sqlite"):
            assert all(s in stored_bytes() for s in snippets)  # the check below looks in the right place

        result = run("purge", "--config", config_path, "--ack", out / "ack")
        assert result.exit_code == 0, result.output
        assert f"Deleted {REPORTS} of the {REPORTS} acknowledged reports." in result.stdout
        # The report filed between export and purge survives, and the next round carries it.
        assert store.count() == 1
        result = run("export", "--config", config_path, "--out", tmp_path / "bundle2.tar")
        assert result.exit_code == 0, result.output
        result = run("open", tmp_path / "bundle2.tar", "-i", key_a, "--out", tmp_path / "offline2")
        assert result.exit_code == 0, result.output
        opened = _opened(tmp_path / "offline2")
        assert opened[late_receipt]["report"]["description"] == f"seen while browsing {late_canary}"
        result = run("purge", "--config", config_path, "--ack", tmp_path / "offline2" / "ack")
        assert result.exit_code == 0 and "0 reports remain" in result.stdout
        assert store.count() == 0
        assert list(store.pending()) == []
        if database_url.startswith("sqlite"):
            # Secure delete: not even the deleted pages or the write-ahead log keep the ciphertext.
            assert not [s for s in snippets if s in stored_bytes()]
    finally:
        store.close()
