"""The case file as an analyst reads it on a terminal: the queue, one address, one report.

Every value that came from a report or an analyst goes through `visible` (crypto/staff/display.py),
so that no report can move the cursor, retitle the terminal or dress one address up as another.
"""

from __future__ import annotations

from crypto.case.decisions import VERDICTS
from crypto.case.queue import Address, Details
from crypto.staff.display import visible
from crypto.staff.lookup import field_lines

_INDENT = 16


def queue_lines(addresses: list[Address], total: int, offset: int) -> list[str]:
    if not addresses:
        return ["The queue is empty for these filters."]
    lines = [f"{'id':>8}  {'!':1}  {'reports':>7}  {'first':10}  {'last':10}  {'status':17}  address"]
    for a in addresses:
        lines.append(f"{a.id:>8}  {'!' if a.danger else ' '}  {a.reports:>7}  {a.first_day:10}  {a.last_day:10}  "
                     f"{a.status:17}  {visible(a.url)}")
    shown_to = offset + len(addresses)
    lines.append(f"{offset + 1}-{shown_to} of {total}; ! marks a child in immediate danger."
                 + (f" Next page: --page-from {shown_to}." if shown_to < total else ""))
    return lines


def _line(label: str, text: object) -> str:
    return f"{label + ':':<{_INDENT}}{visible(str(text))}"


def address_lines(d: Details) -> list[str]:
    a = d.address
    lines = [f"Address {a.id}"]
    if a.danger:
        lines.append("!! A reporter says a child is in immediate danger.")
    lines += [
        _line("Address", a.url),
        _line("Compared as", a.key),
        _line("Reports", f"{a.reports} (first {a.first_day}, last {a.last_day})"),
        _line("Status", a.status + (f" since {a.status_day}" if a.status_day else "")),
    ]
    if a.assessment:
        s = a.assessment
        lines += [
            _line("Verdict", f"{s['verdict']} ({VERDICTS[s['verdict']]})" if s["verdict"] in VERDICTS else s["verdict"]),
            _line("Age group", s["age_group"]),
            _line("Hosting", ", ".join(x for x in (s["provider"], s["country"]) if x) or "(not found yet)"),
            _line("Assessed", f"by {s['analyst']} on {s['day']}"),
        ]
        if s["note"]:
            lines.append("Note:")
            lines += ["  " + line for line in visible(s["note"], keep_newlines=True).split("\n")]
    else:
        lines.append(_line("Assessment", "(none yet)"))
    if d.history:
        lines.append("History:")
        for e in d.history:
            data = e.get("data", {})
            what = data.get("status", "") if e.get("action") == "status" else f"assessed {data.get('verdict', '')}"
            lines.append(f"  #{e.get('seq')}  {visible(str(e.get('day')))}  {visible(str(e.get('analyst')))}: {visible(what)}")
    lines.append(f"Reports naming it ({len(d.reports)}):")
    for r in d.reports:
        lines.append("")
        lines += ["  " + line for line in report_lines(r["fields"], r["id"], r["day"], spelled=r["original"])]
    return lines


def report_lines(fields: dict, rid: str, day: str, *, spelled: str | None = None) -> list[str]:
    lines = field_lines({"id": rid, "day": day, "report": fields}, indent=_INDENT)
    if spelled is not None:
        lines.append(_line("Spelled here", spelled))
    lines.append(_line("Report id", rid))
    return lines
