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
from collections.abc import Iterable

from crypto.staff.fields import FIELDS
from crypto.staff.overview import sort_key
from crypto.staff.record import Record

COLUMNS = tuple(f.column for f in FIELDS)

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
        # Lists joined by ";", which a case system splits on; no placeholders for empty values.
        base = {f.column: f.text(rec, joiner=";") for f in FIELDS}
        # One row per URL; a report without a URL still gets its row, so that no report is
        # missing from the case system.
        for url in rec.report.urls or ("",):
            row = {**base, "url": url}
            writer.writerow([guard_cell(row[c]) for c in COLUMNS])
    return buf.getvalue()


def _one_line(url: str) -> str:
    return _LINE_BREAKING.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), url)


def render_urls(records: Iterable[Record]) -> str:
    counts: Counter[str] = Counter()
    for rec in records:
        # A report that names one URL twice counts once for it.
        counts.update(set(rec.report.urls))
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "".join(f"{n}\t{_one_line(url)}\n" for url, n in ordered)
