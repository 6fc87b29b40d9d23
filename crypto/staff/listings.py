"""DIR/reports.csv and DIR/urls.txt: the opened reports in the shapes other tools take in.

reports.csv has one row per reported URL, for import into the hotline's case system (RFC 4180,
UTF-8 without a byte-order mark, CRLF line ends). A spreadsheet treats a cell that starts with
`=`, `+`, `-`, `@`, a tab or a carriage return as a formula, and a reporter could use that to run
one on a staff machine (CSV injection): such cells get a leading apostrophe, which spreadsheets
hide and case systems keep as text. Strip it on import if the system has no formula engine.

urls.txt lists each distinct URL once with how many reports name it, most reported first, as
`<count><TAB><url>`; characters that would break a line (controls, separators) are %-encoded.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from typing import Iterable

from crypto.staff.overview import Record, sort_key

COLUMNS = (
    "id", "receipt", "day", "received_on", "url", "found_on", "kinds", "access",
    "seen_on", "child_in_danger", "language", "contact", "description",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]")


def guard_cell(value: str) -> str:
    """Neutralises a cell a spreadsheet would evaluate as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def render_csv(records: Iterable[Record]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for rec in sorted(records, key=sort_key):
        r = rec["report"]
        base = {
            "id": rec["id"],
            "receipt": r.get("receipt", ""),
            "day": rec["day"],
            "received_on": r.get("received_on", ""),
            "found_on": r.get("found_on", ""),
            "kinds": ";".join(r.get("kinds", ())),
            "access": r.get("access", ""),
            "seen_on": r.get("seen_on", ""),
            "child_in_danger": "yes" if r.get("child_in_danger") else "no",
            "language": r.get("language", ""),
            "contact": r.get("contact", ""),
            "description": r.get("description", ""),
        }
        # A report without a URL still gets its row, so that no report is missing from the case system.
        for url in r.get("urls", ()) or ("",):
            row = {**base, "url": url}
            writer.writerow([guard_cell(str(row[c])) for c in COLUMNS])
    return buf.getvalue()


def _one_line(url: str) -> str:
    return _LINE_BREAKING.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), url)


def render_urls(records: Iterable[Record]) -> str:
    counts: Counter[str] = Counter()
    for rec in records:
        # A report that names one URL twice counts once for it.
        counts.update(set(rec["report"].get("urls", ())))
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "".join(f"{n}\t{_one_line(url)}\n" for url, n in ordered)
