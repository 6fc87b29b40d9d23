"""DIR/pages/queue.html: the triage queue as one read-only page, for reading a day's work.

Decisions are never made on the page (they are commands: `meldpunt case assess`, `case status`),
so the page needs no form, no script and no server. Like crypto/staff/overview.py it loads
nothing and contains no link or image: a Content-Security-Policy forbids loading anything, every
value is HTML-escaped with invisible characters shown as marks, and each address sits on its own
anchor (`queue.html#a-<id>`) to be typed after the file's address.
"""

from __future__ import annotations

import html
import sqlite3

from crypto.case.attention import unseen_total
from crypto.case.decisions import VERDICTS
from crypto.case.display import line as address_line
from crypto.case.floods import pending
from crypto.case.queue import Filters, count, details, triage
from crypto.staff.display import visible
from crypto.staff.fields import SHOWN, Answers
from crypto.staff.overview import STYLE

MAX_ON_PAGE = 2000  # addresses; a page with their reports stays readable in a browser


def _e(text: object, *, keep_newlines: bool = False) -> str:
    return html.escape(visible(str(text), keep_newlines=keep_newlines), quote=True)


def _dl(pairs: list[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f'<dt>{label}</dt><dd class="v">{value}</dd>' for label, value in pairs) + "</dl>"


def _report(report: Answers) -> str:
    pairs = []
    for field in SHOWN:
        if field.key == "urls":
            urls = "".join(f"<li>{_e(address_line(u))}</li>" for u in report.values.get("urls", ()))
            pairs.append((field.label, f'<ul class="urls">{urls}</ul>'))
        else:
            pairs.append((field.label, _e(field.shown(report), keep_newlines=field.multiline)))
    danger = ' <span class="flag">child in immediate danger</span>' if report.answer("child_in_danger") else ""
    return f'<article class="report"><h4>Report {_e(report.id)}{danger}</h4>{_dl(pairs)}</article>'


def render(conn: sqlite3.Connection, filters: Filters, limit: int = MAX_ON_PAGE) -> str:
    addresses = triage(conn, filters, limit=min(limit, MAX_ON_PAGE))
    total = count(conn, filters)
    what = f"status {filters.status}" if filters.status else "every status"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="referrer" content="no-referrer">',
        f"<title>meldpunt case file: {len(addresses)} of {total} addresses</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<header><h1>Triage queue ({_e(what)})</h1>",
        f"<p>{len(addresses)} of {total} addresses: first those with a report saying a child is in immediate "
        "danger that no analyst has looked at yet (!!), then those re-reported since their last decision (+N "
        "reports), then the rest; in each, children in immediate danger first, then by number of "
        "reports, then the oldest. Addresses are text only: nothing on this page is a link or an image. "
        "Decide with <code>meldpunt case assess</code> and <code>meldpunt case status</code>, then write "
        "this page again.</p>",
        "<table><thead><tr><th>Id</th><th>Reports</th><th>First</th><th>Last</th><th>Status</th>"
        "<th>Address</th></tr></thead><tbody>",
    ]
    for a in addresses:
        flag = " !!" if a.unseen_danger else " !" if a.danger else ""
        state = a.state + (f" +{a.fresh}" if a.fresh else "")
        out.append(
            f"<tr><td>{a.id}{flag}</td><td>{a.reports}</td><td>{_e(a.first_day)}</td><td>{_e(a.last_day)}</td>"
            f'<td>{_e(state)}</td><td class="v">{_e(address_line(a.url))}</td></tr>'
        )
    out.append("</tbody></table>")
    for f in pending(conn):  # a flood is one item, here as in `case queue`
        danger = f", {f.unseen_danger} saying a child is in immediate danger" if f.unseen_danger else ""
        out.append(
            f'<p class="flag">Flood {f.id}: {f.reports} reports alike on {_e(f.day)}{danger}, naming '
            f"{f.addresses} address(es) only they name, e.g. {_e(address_line(f.url))}; not listed one by one. "
            f"<code>meldpunt case flood {f.id}</code>, then <code>case dismiss-flood {f.id}</code>.</p>"
        )
    unseen, unseen_ids = unseen_total(conn)
    left_out = [aid for aid in unseen_ids if aid not in {a.id for a in addresses}]
    if left_out:  # a filtered page says what it leaves out, so no danger report is hidden by a filter
        out.append(
            f'<p class="flag">{unseen} report(s) saying a child is in immediate danger are not looked at yet; '
            f"not on this page: address(es) {' '.join(map(str, left_out))}.</p>"
        )
    out.append("</header><main>")
    for a in addresses:
        d = details(conn, a.id)
        cls = "report danger" if a.danger else "report"
        pairs = [
            ("Address", _e(address_line(a.url))),
            ("Reports", f"{a.reports} ({_e(a.first_day)} to {_e(a.last_day)})"),
            ("Status", _e(a.status + (f" since {a.status_day}" if a.status_day else ""))),
        ]
        for name, t in d.tracks.items():
            text = (
                f"{t['state']} since {t['day']}"
                + (f", reference {t['reference']}" if t["reference"] else "")
                + (f" ({t['note']})" if t["note"] else "")
            )
            pairs.append((f"{name.capitalize()} track", _e(text)))
        if a.fresh:
            pairs.append(("Re-reported", f"{a.fresh} report(s) since the last decision"))
        if a.unseen_danger:
            pairs.append(("Not looked at", f"{a.unseen_danger} report(s) saying a child is in immediate danger"))
        if a.assessment:
            s = a.assessment
            pairs += [
                ("Verdict", _e(VERDICTS.get(s["verdict"], s["verdict"]))),
                ("Age group", _e(s["age_group"])),
                ("Hosting", _e(", ".join(x for x in (s["provider"], s["country"]) if x) or "(not found yet)")),
                ("Assessed", _e(f"by {s['analyst']} on {s['day']}")),
                ("Note", _e(s["note"] or "(none)", keep_newlines=True)),
            ]
        out.append(f'<article id="a-{a.id}" class="{cls}"><h2>Address {a.id}</h2>{_dl(pairs)}')
        out += [_report(m.report) for m in d.reports]
        out.append("</article>")
    out.append("</main></body></html>\n")
    return "\n".join(out)
