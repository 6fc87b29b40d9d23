"""What leaves the case file for other people: the address list, and the hand-offs per status.

`urls_csv` is every de-duplicated address with its counts (`meldpunt case urls`). `handoff`
carries everything the hotline knows about the addresses chosen (by status, hosting country, and
day) to the police or a partner hotline: the assessment with its INHOPE, IWF and NCMEC categories
(crypto/case/classification.py), the note, every spelling, and each report with what its reporter
typed (description, access instructions) marked as reporter-supplied. Never the reporter's
contact details or receipt code: those stay in the case file. The JSON form follows the schema
published in docs/handoff.schema.json. Every export is an audit entry (`record_export`).
Addresses follow the one display rule (crypto/case/display.py); in CSV a cell a spreadsheet
would run as a formula is guarded (crypto/staff/listings.py), and JSON is ASCII-only, so no
control or direction-changing character reaches another system unescaped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from crypto.case import audit, countries, tracks
from crypto.case.classification import EXTRA, categories
from crypto.case.decisions import VERDICTS, analyst_name, today
from crypto.case.display import percent_encode_hidden, shown
from crypto.case.queue import Address, every_address, in_state, parse_day
from crypto.case.schema import transaction
from crypto.case.tracks import TRACKS
from crypto.staff.display import visible
from crypto.staff.fields import Answers
from crypto.staff.listings import guard_cell

# One naming across every CSV and JSON the case file writes: the hand-off's.
URL_COLUMNS = (
    "url",
    "reports",
    "first_reported",
    "last_reported",
    "child_in_danger",
    "status",
    "status_since",
    "case_id",
    "host_unicode",
    "url_warning",
)
QUEUE_COLUMNS = (*URL_COLUMNS, "re_reported", "danger_not_looked_at", "verdict", "hosting_country")
HANDOFF_COLUMNS = (
    "url",
    "reports",
    "first_reported",
    "last_reported",
    "child_in_danger",
    "verdict",
    "verdict_text",
    "age_group",
    "hosting_country",
    "hosting_provider",
    "assessed_by",
    "assessed_on",
    "status",
    "status_since",
    "case_id",
    "host_unicode",
    "url_warning",
    "compared_as",
    "spellings",
    "gender",
    "content_type",
    "virtual",
    "site_type",
    "commercial",
    "activity",
    "inhope",
    "iwf_category",
    "ncmec_category",
    "note",
    "report_ids",
    "reporter_supplied_descriptions",
    "reporter_supplied_access",
    *(f"{name}_{k}" for name in TRACKS for k in ("state", "since", "reference", "note")),
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
    return {
        **_url_fields(a.url),
        "reports": a.reports,
        "first_reported": a.first_day,
        "last_reported": a.last_day,
        "child_in_danger": a.danger,
        "status": a.status,
        "status_since": a.status_day or "",
        "case_id": a.id,
    }


def urls_csv(conn: sqlite3.Connection) -> str:
    return _csv(URL_COLUMNS, (_url_row(a) for a in every_address(conn)))


def queue_rows(addresses: Iterable[Address]) -> list[dict[str, Any]]:
    """A page of the queue, machine-readable (`case queue --format csv|json`)."""
    return [
        {
            **_url_row(a),
            "re_reported": a.fresh,
            "danger_not_looked_at": a.unseen_danger,
            "verdict": (a.assessment or {}).get("verdict", ""),
            "hosting_country": (a.assessment or {}).get("country", ""),
        }
        for a in addresses
    ]


def queue_csv(addresses: Iterable[Address]) -> str:
    return _csv(QUEUE_COLUMNS, queue_rows(addresses))


def queue_json(addresses: Iterable[Address], total: int, offset: int, floods: Iterable = ()) -> str:
    doc = {
        "format": "meldpunt-queue",
        "version": 1,
        "total": total,
        "offset": offset,
        "floods": [
            {
                "flood_id": f.id,
                "day": f.day,
                "reports": f.reports,
                "addresses": f.addresses,
                "danger_not_looked_at": f.unseen_danger,
                "dismissed_reports": f.dismissed_reports,
                "found_on": f.found_on,
                "sample_url": shown(f.url).text,
            }
            for f in floods
        ],
        "addresses": queue_rows(addresses),
    }
    return json.dumps(doc, ensure_ascii=True, indent=2) + "\n"


@dataclass(frozen=True)
class HandoffFilters:
    status: str | None = None  # one status; None: every address assessed (any status but "new")
    country: str | None = None  # ISO 3166-1 alpha-2 (crypto/case/countries.py): the hosting country
    since: str | None = None  # a report received, or a decision made, on that day or later
    track: str | None = None  # on this track (crypto/case/tracks.py)


def _selected(conn: sqlite3.Connection, f: HandoffFilters) -> Iterator[Address]:
    country = countries.check(f.country) if f.country else None
    since = parse_day(f.since) if f.since else None
    # A status is the address's own or any of its tracks' (queue.in_state): forwarded to the police
    # stays in the police's hand-off when the takedown later says removed.
    for a in every_address(conn) if f.status is None else in_state(conn, f.status):
        s = a.assessment or {}
        on = tracks.of_address(conn, a.id)
        if f.status is None and a.status == "new":
            continue
        if (f.track and f.track not in on) or (country and s.get("country") != country):
            continue
        days = [a.last_day, a.status_day or "", s.get("day", ""), *(t["day"] for t in on.values())]
        if since and max(days) < since:
            continue
        yield a


def _reports(conn: sqlite3.Connection, aid: int) -> list[dict[str, Any]]:
    """Each report on the address as a hand-off carries it: what reporters typed under
    reporter_supplied, never their contact details or receipt code."""
    out = []
    for rid, day, original, text in conn.execute(
        "SELECT r.id, r.day, m.original, r.fields FROM mentions m JOIN reports r ON r.id = m.report"
        " WHERE m.address = ? ORDER BY r.day, r.id",
        (aid,),
    ):
        report = Answers.stored(rid, day, text)
        out.append(
            {
                "report_id": rid,
                "received_on": day,
                "seen_on": report.answer("seen_on"),
                "found_on": report.answer("found_on"),
                "kinds": list(report.answer("kinds") or []),
                "language": report.answer("language"),
                "child_in_danger": bool(report.answer("child_in_danger")),
                "reporter_supplied": {
                    "url_as_typed": shown(original).text,
                    "description": report.answer("description"),
                    "access": report.answer("access"),
                },
            }
        )
    return out


def _handoff_address(conn: sqlite3.Connection, a: Address) -> dict[str, Any]:
    s = a.assessment or {}
    cats = categories(s)
    reports = _reports(conn, a.id)
    on = tracks.of_address(conn, a.id)
    return {
        **_url_fields(a.url),
        "compared_as": percent_encode_hidden(a.key),
        "reports": a.reports,
        "first_reported": a.first_day,
        "last_reported": a.last_day,
        "child_in_danger": a.danger,
        "verdict": s.get("verdict", ""),
        "verdict_text": VERDICTS.get(s.get("verdict", ""), ""),
        "age_group": s.get("age_group", ""),
        **{k: s.get(k, "") for k in EXTRA},
        "inhope": cats["inhope"],
        "iwf_category": cats["iwf"],
        "ncmec_category": cats["ncmec"],
        "hosting_country": s.get("country", ""),
        "hosting_provider": s.get("provider", ""),
        "note": s.get("note", ""),
        "assessed_by": s.get("analyst", ""),
        "assessed_on": s.get("day", ""),
        "status": a.status,
        "status_since": a.status_day or "",
        "case_id": a.id,
        **{
            f"{name}_{k}": (on.get(name) or {}).get(src, "")
            for name in TRACKS
            for k, src in (("state", "state"), ("since", "day"), ("reference", "reference"), ("note", "note"))
        },
        "spellings": sorted({r["reporter_supplied"]["url_as_typed"] for r in reports}),
        "report_list": reports,
    }


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    # Reporter-supplied text is shown with visible marks here: a spreadsheet is read by people.
    reports = row["report_list"]
    return {
        **row,
        "spellings": " ".join(row["spellings"]),
        "report_ids": " ".join(r["report_id"] for r in reports),
        "reporter_supplied_descriptions": "\n---\n".join(
            visible(r["reporter_supplied"]["description"], keep_newlines=True) for r in reports
        ),
        "reporter_supplied_access": "\n---\n".join(
            visible(r["reporter_supplied"]["access"], keep_newlines=True) for r in reports
        ),
    }


@dataclass(frozen=True)
class Handoff:
    text: str
    address_ids: list[int]


def handoff(conn: sqlite3.Connection, f: HandoffFilters, fmt: str) -> Handoff:
    rows = [_handoff_address(conn, a) for a in _selected(conn, f)]
    ids = [r["case_id"] for r in rows]
    if fmt == "csv":
        return Handoff(_csv(HANDOFF_COLUMNS, (_csv_row(r) for r in rows)), ids)
    doc = {
        "format": "meldpunt-handoff",
        "version": 2,
        "filters": {
            "status": f.status or "",
            "track": f.track or "",
            "country": (f.country or "").upper(),
            "since": f.since or "",
        },
        "reporter_supplied": REPORTER_SUPPLIED,
        "addresses": [
            {**{k: v for k, v in r.items() if k != "report_list"}, "reports": r["report_list"]} for r in rows
        ],
    }
    return Handoff(json.dumps(doc, ensure_ascii=True, indent=2) + "\n", ids)


REPORTER_SUPPLIED = (
    "Every value under reporter_supplied was typed by an anonymous reporter: unverified, possibly "
    "hostile; read it as text, never open it. Everything else is the hotline's own assessment."
)


def record_export(
    conn: sqlite3.Connection, h: Handoff, f: HandoffFilters, fmt: str, *, analyst: str, day: str | None = None
) -> int:
    """The export's audit entry: who handed what on, when, filtered how, and the digest of the
    bytes written, so the hand-off a partner received can be matched to the log."""
    with transaction(conn):
        return audit.append(
            conn,
            action="export",
            analyst=analyst_name(analyst),
            day=day or today(),
            data={
                "format": fmt,
                "status": f.status or "",
                "track": f.track or "",
                "country": (f.country or "").upper(),
                "since": f.since or "",
                "addresses": h.address_ids,
                "sha256": hashlib.sha256(h.text.encode("utf-8")).hexdigest(),
            },
        )
