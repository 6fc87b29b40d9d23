"""DIR/index.html: one self-contained page to read the opened reports, newest day first.

The page is written for a machine that must never reach the internet and for people reading
hostile material: it has no JavaScript, loads nothing, and contains no link or image at all, so
no reported URL can be opened by a click or fetched by the browser. Every value is HTML-escaped
and invisible characters are shown as marks (crypto/staff/display.py). A Content-Security-Policy in the
page forbids loading anything, as a second wall should an escape ever fail. Each report sits on
its own anchor (`index.html#r-<id>`) and each day on `#day-YYYY-MM-DD`, to be typed after the
file's address.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable

from crypto.staff.display import visible
from crypto.staff.fields import FIELD, SHOWN
from crypto.staff.page_head import page_start
from crypto.staff.record import Record

STYLE = """
body { font: 16px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem;
       color: #111; background: #fff; }
h1 { font-size: 1.5rem; } h2 { border-bottom: 2px solid #555; margin-top: 2.5rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #bbb; padding: .2rem .6rem; text-align: left; }
article { border: 1px solid #bbb; border-radius: 4px; margin: 1rem 0; padding: .5rem 1rem; }
article.danger { border: 3px solid #b00; }
.flag { background: #b00; color: #fff; font-weight: bold; padding: 0 .4rem; }
.doubt { border-left: 4px solid #a60; padding-left: .5rem; font-weight: bold; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0; }
dt { font-weight: bold; } dd { margin: 0; min-width: 0; }
.v, .urls li { overflow-wrap: anywhere; word-break: break-all; white-space: pre-wrap; }
.urls { margin: 0; padding-left: 1.2rem; } .urls li { font-family: ui-monospace, monospace; }
.muted { color: #555; font-size: .85rem; }
"""


def _e(text: object, *, keep_newlines: bool = False) -> str:
    return html.escape(visible(str(text), keep_newlines=keep_newlines), quote=True)


def sort_key(record: Record) -> tuple[str, bool, str, str]:
    """Newest day first; within a day, children in immediate danger first."""
    return _inverted(record.day), not record.report.child_in_danger, record.report.receipt, record.id


def _inverted(day: str) -> str:
    # Sorting ascending on the digit-wise complement puts the newest ISO day first.
    return day.translate(str.maketrans("0123456789", "9876543210"))


def _field(label: str, value: str) -> str:
    return f'<dt>{label}</dt><dd class="v">{value}</dd>'


def doubts(records: list[Record]) -> dict[str, list[str]]:
    """What a reader should not take on trust, by record id: the bundle's manifest is written by the
    server, so a day that differs from the one sealed inside, or one ciphertext or receipt under
    two ids (a replayed or copied report), is shown rather than silently believed."""
    same_sealed = Counter(rec.sha256 for rec in records)
    same_receipt = Counter(rec.report.receipt for rec in records)
    found: dict[str, list[str]] = {}
    for rec in records:
        notes = []
        sealed_day = rec.report.received_on
        if sealed_day and sealed_day != rec.day:
            notes.append(f"the server's day {rec.day} differs from the day sealed inside, {sealed_day}")
        if same_sealed[rec.sha256] > 1:
            notes.append("the same sealed bytes are stored under another id")
        if same_receipt[rec.report.receipt] > 1:
            notes.append("the same receipt code is in another report")
        if notes:
            found[rec.id] = notes
    return found


def _article(record: Record, notes: Iterable[str] = ()) -> str:
    receipt = FIELD["receipt"]
    danger = record.report.child_in_danger
    parts = [
        f'<article id="r-{_e(record.id)}" class="{"report danger" if danger else "report"}">',
        f"<h3>{receipt.label} {_e(receipt.shown(record))}"
        + (' <span class="flag">child in immediate danger</span>' if danger else "")
        + "</h3>",
    ]
    parts += [f'<p class="doubt">Check: {_e(note)}</p>' for note in notes]
    parts.append("<dl>")
    for field in SHOWN:
        if field is receipt:
            continue  # the article's heading
        if field.key == "urls":
            urls = "".join(f"<li>{_e(u)}</li>" for u in record.report.urls)
            parts.append(f'<dt>{field.label}</dt><dd><ul class="urls">{urls or f"<li>{field.empty}</li>"}</ul></dd>')
        else:
            parts.append(_field(field.label, _e(field.shown(record), keep_newlines=field.multiline)))
    parts += [
        "</dl>",
        f'<p class="muted">id {_e(record.id)} · sealed SHA-256 {_e(record.sha256)}</p>',
        "</article>",
    ]
    return "\n".join(parts)


def render(records: Iterable[Record]) -> str:
    """The whole page for the given records, sorted newest day first."""
    ordered = sorted(records, key=sort_key)
    per_day = Counter(rec.day for rec in ordered)
    danger_per_day = Counter(rec.day for rec in ordered if rec.report.child_in_danger)
    total_danger = sum(danger_per_day.values())
    flagged = doubts(ordered)
    out = [
        *page_start(f"meldpunt: {len(ordered)} reports", STYLE),
        "<header><h1>meldpunt: opened reports</h1>",
        f"<p>{len(ordered)} reports, {total_danger} marked as a child in immediate danger. "
        "Reported URLs are shown as text only: nothing on this page is a link or an image. "
        "Each report's anchor is <code>index.html#r-&lt;id&gt;</code>; "
        "<code>meldpunt find RECEIPT DIR</code> finds one by its receipt code.</p>",
        (
            f'<p class="doubt">{len(flagged)} reports are marked "Check": a day that differs from the one '
            "sealed inside, or a ciphertext or receipt found under two ids.</p>"
            if flagged
            else ""
        ),
        "<table><thead><tr><th>Day</th><th>Reports</th><th>Child in danger</th></tr></thead><tbody>",
    ]
    for day in sorted(per_day, key=_inverted):
        out.append(f"<tr><td>{_e(day)}</td><td>{per_day[day]}</td><td>{danger_per_day[day]}</td></tr>")
    out.append("</tbody></table></header><main>")
    current = None
    for rec in ordered:
        if rec.day != current:
            if current is not None:
                out.append("</section>")
            current = rec.day
            n = per_day[current]
            out.append(f'<section id="day-{_e(current)}"><h2>{_e(current)} ({n} report{"" if n == 1 else "s"})</h2>')
        out.append(_article(rec, flagged.get(rec.id, [])))
    if current is not None:
        out.append("</section>")
    out.append("</main></body></html>\n")
    return "\n".join(out)
