"""What leaves the case file for other people: the address list, and the hand-offs per status.

`urls_csv` is every de-duplicated address with its counts (`meldpunt case urls`). `handoff_csv`
and `handoff_json` carry the addresses with one status and their assessments to the police or a
partner hotline, in the fields hotlines exchange through INHOPE. Addresses stay text: in CSV a
cell a spreadsheet would run as a formula is guarded (crypto/staff/listings.py), and JSON is
ASCII-only, so no control or direction-changing character reaches another system unescaped.
The reports' own text (descriptions, contacts) stays in the case file.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from crypto.case.decisions import VERDICTS
from crypto.case.display import shown
from crypto.case.queue import Address, every_address
from crypto.staff.listings import guard_cell

# One naming across every CSV and JSON the case file writes: the hand-off's.
URL_COLUMNS = ("url", "reports", "first_reported", "last_reported", "child_in_danger", "status", "status_since",
               "case_id", "host_unicode", "url_warning")
QUEUE_COLUMNS = (*URL_COLUMNS, "re_reported", "danger_not_looked_at", "verdict", "hosting_country")
HANDOFF_COLUMNS = (
    "url", "reports", "first_reported", "last_reported", "child_in_danger", "verdict", "verdict_text",
    "age_group", "hosting_country", "hosting_provider", "assessed_by", "assessed_on", "status", "status_since",
    "case_id", "host_unicode", "url_warning",
)


def _csv(columns: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([guard_cell(_cell(row[c])) for c in columns])
    return buf.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def _url_fields(url: str) -> dict[str, str]:
    """The address by the one display rule (crypto/case/display.py): what to type, the Unicode host
    beside it, and the mixed-script warning."""
    s = shown(url)
    return {"url": s.text, "host_unicode": s.unicode_host, "url_warning": s.warning}


def _url_row(a: Address) -> dict[str, Any]:
    return {**_url_fields(a.url), "reports": a.reports, "first_reported": a.first_day, "last_reported": a.last_day,
            "child_in_danger": a.danger, "status": a.status, "status_since": a.status_day or "", "case_id": a.id}


def urls_csv(conn: sqlite3.Connection) -> str:
    return _csv(URL_COLUMNS, (_url_row(a) for a in every_address(conn)))


def queue_rows(addresses: Iterable[Address]) -> list[dict[str, Any]]:
    """A page of the queue, machine-readable (`case queue --format csv|json`)."""
    return [{**_url_row(a), "re_reported": a.fresh, "danger_not_looked_at": a.unseen_danger,
             "verdict": (a.assessment or {}).get("verdict", ""),
             "hosting_country": (a.assessment or {}).get("country", "")} for a in addresses]


def queue_csv(addresses: Iterable[Address]) -> str:
    return _csv(QUEUE_COLUMNS, queue_rows(addresses))


def queue_json(addresses: Iterable[Address], total: int, offset: int, floods: Iterable = ()) -> str:
    doc = {"format": "meldpunt-queue", "version": 1, "total": total, "offset": offset,
           "floods": [{"flood_id": f.id, "day": f.day, "reports": f.reports, "addresses": f.addresses,
                       "danger_not_looked_at": f.unseen_danger, "dismissed_reports": f.dismissed_reports,
                       "found_on": f.found_on, "sample_url": shown(f.url).text} for f in floods],
           "addresses": queue_rows(addresses)}
    return json.dumps(doc, ensure_ascii=True, indent=2) + "\n"


def _handoff_row(a: Address) -> dict[str, Any]:
    s = a.assessment or {}
    return {
        **_url_fields(a.url), "reports": a.reports, "first_reported": a.first_day, "last_reported": a.last_day,
        "child_in_danger": a.danger, "verdict": s.get("verdict", ""),
        "verdict_text": VERDICTS.get(s.get("verdict", ""), ""), "age_group": s.get("age_group", ""),
        "hosting_country": s.get("country", ""), "hosting_provider": s.get("provider", ""),
        "assessed_by": s.get("analyst", ""), "assessed_on": s.get("day", ""),
        "status": a.status, "status_since": a.status_day or "", "case_id": a.id,
    }


def handoff_rows(conn: sqlite3.Connection, status: str) -> list[dict[str, Any]]:
    return [_handoff_row(a) for a in every_address(conn, status)]


def handoff_csv(conn: sqlite3.Connection, status: str) -> str:
    return _csv(HANDOFF_COLUMNS, handoff_rows(conn, status))


def handoff_json(conn: sqlite3.Connection, status: str) -> str:
    doc = {"format": "meldpunt-handoff", "version": 1, "status": status, "addresses": handoff_rows(conn, status)}
    return json.dumps(doc, ensure_ascii=True, indent=2) + "\n"
