"""The case file as an analyst reads it on a terminal: the queue, one address, one report.

Every value that came from a report or an analyst goes through `visible` (crypto/staff/display.py),
so that no report can move the cursor, retitle the terminal or dress one address up as another.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from crypto.case import retention
from crypto.case.classification import EXTRA, categories
from crypto.case.decisions import VERDICTS
from crypto.case.display import line as address_line
from crypto.case.display import percent_encode_hidden
from crypto.case.queue import Address, Details
from crypto.staff.display import visible
from crypto.staff.fields import Answers
from crypto.staff.lookup import field_lines

_INDENT = 16


def queue_lines(addresses: list[Address], total: int, offset: int) -> list[str]:
    if not addresses:
        return ["The queue is empty for these filters."]
    lines = [
        f"{'id':>8}  {'!':2}  {'reports':>7}  {'first':10}  {'last':10}  {'state':30}  {'since':10}  "
        f"{'verdict':11}  {'cc':2}  address"
    ]
    for a in addresses:
        flag = "!!" if a.unseen_danger else "!" if a.danger else ""
        state = a.state + (f" +{a.fresh}" if a.fresh else "")
        s = a.assessment or {}
        lines.append(
            f"{a.id:>8}  {flag:2}  {a.reports:>7}  {a.first_day:10}  {a.last_day:10}  {state:30}  "
            f"{a.status_day or '':10}  {s.get('verdict', ''):11}  {visible(s.get('country', '')):2}  "
            f"{visible(address_line(a.url))}"
        )
    shown_to = offset + len(addresses)
    lines.append(
        f"{offset + 1}-{shown_to} of {total}; ! marks a child in immediate danger, !! one no analyst has "
        "looked at yet (`case show`, then `case assess` or `case seen`); +N: reports since the last decision."
        + (f" Next page: --page-from {shown_to}." if shown_to < total else "")
    )
    return lines


def flood_lines(items: list) -> list[str]:
    """The floods not dismissed (crypto/case/floods.py), one item each, before the addresses."""
    lines = []
    for f in items:
        danger = f", !! {f.unseen_danger} saying a child is in immediate danger" if f.unseen_danger else ""
        grown = f" ({f.reports - f.dismissed_reports} since it was dismissed)" if f.dismissed_reports else ""
        sample = " ".join(f.description.split())[:60]
        lines.append(
            f"flood {f.id}: {f.reports} reports alike on {f.day}{grown}{danger}, naming {f.addresses} "
            f"address(es) only they name; found on {visible(f.found_on)}, e.g. {visible(address_line(f.url))} "
            f'"{visible(sample)}"'
        )
    if lines:
        lines.append(
            "A flood is one item: `case flood N` shows a sample, `case dismiss-flood N` dismisses "
            "it in one audited step; addresses real reports also name stay in the queue below."
        )
    return lines


def unseen_warning(unseen_reports: int, address_ids: list[int], shown: set[int]) -> list[str]:
    """The danger reports not looked at that a filtered queue leaves out, so none is ever hidden."""
    missing = [aid for aid in address_ids if aid not in shown]
    if not unseen_reports or not missing:
        return []
    listed = " ".join(map(str, missing[:20])) + (" …" if len(missing) > 20 else "")
    return [
        f"!! {unseen_reports} report(s) saying a child is in immediate danger are not looked at yet; "
        f"not in this view: address(es) {listed}. `case queue` shows them first."
    ]


def change_text(changes: dict) -> str:
    """A decision's changes as "field old -> new; …" for the echo and the history."""
    if not changes:
        return "unchanged"
    return "; ".join(f"{k.replace('_', ' ')} {_shown(old)} -> {_shown(new)}" for k, (old, new) in changes.items())


def _shown(value: object) -> str:
    if value in (None, ""):
        return "(none)"
    return visible(repr(value) if isinstance(value, str) and " " in value else str(value))


def _line(label: str, text: object) -> str:
    return f"{label + ':':<{_INDENT}}{visible(str(text))}"


def summary_lines(d: Details) -> list[str]:
    """The reports at a glance, before them one by one: an address may have hundreds."""

    def tally(values) -> str:
        counts = Counter(values)
        return ", ".join(f"{visible(str(k))} {n}" for k, n in counts.most_common(8)) + (
            f", {len(counts) - 8} more" if len(counts) > 8 else ""
        )

    reports = [m.report for m in d.reports]
    danger = sum(1 for r in reports if r.answer("child_in_danger"))
    return [
        "Summary:",
        _line(
            "  Danger",
            f"{danger} of {len(reports)} report(s) say a child is in immediate danger"
            + (f", {d.address.unseen_danger} not looked at yet" if d.address.unseen_danger else ""),
        ),
        _line("  Days", tally(r.day for r in reports)),
        _line("  Found on", tally(r.answer("found_on") for r in reports)),
        _line("  Content", tally(k for r in reports for k in r.answer("kinds") or ())),
        _line("  Languages", tally(r.answer("language") for r in reports)),
        _line("  Spellings", tally(address_line(m.original) for m in d.reports)),
    ]


def address_lines(d: Details, *, brief: bool = False) -> list[str]:
    a = d.address
    lines = [f"Address {a.id}"]
    if a.danger:
        lines.append("!! A reporter says a child is in immediate danger.")
    lines += [
        _line("Address", address_line(a.url)),
        _line("Compared as", percent_encode_hidden(a.key)),
        _line("Reports", f"{a.reports} (first {a.first_day}, last {a.last_day})"),
        _line("Status", a.status + (f" since {a.status_day}" if a.status_day else "")),
    ]
    for name, t in d.tracks.items():
        lines.append(
            _line(
                f"  {name.capitalize()}",
                f"{t['state']} since {t['day']}"
                + (f", reference {t['reference']}" if t["reference"] else "")
                + (f" ({t['note']})" if t["note"] else ""),
            )
        )
    if a.fresh:
        lines.append(f"!! Re-reported: {a.fresh} report(s) since the last decision.")
    if a.unseen_danger:
        lines.append(
            f"!! {a.unseen_danger} report(s) saying a child is in immediate danger not looked at yet: "
            "`case assess` or `case seen` records that you have."
        )
    if a.assessment:
        s = a.assessment
        lines += [
            _line(
                "Verdict", f"{s['verdict']} ({VERDICTS[s['verdict']]})" if s["verdict"] in VERDICTS else s["verdict"]
            ),
            _line("Age group", s["age_group"]),
            _line("Hosting", ", ".join(x for x in (s["provider"], s["country"]) if x) or "(not found yet)"),
            _line("Assessed", f"by {s['analyst']} on {s['day']}"),
        ]
        seen_as = ", ".join(f"{k.replace('_', ' ')} {s[k]}" for k in EXTRA if s.get(k))
        if seen_as:
            lines.append(_line("Seen as", seen_as))
        cats = categories(s)
        lines.append(_line("Categories", ", ".join(f"{k.upper()} {v}" for k, v in cats.items() if v) or "(none)"))
        if s["note"]:
            lines.append("Note:")
            lines += ["  " + line for line in visible(s["note"], keep_newlines=True).split("\n")]
    else:
        lines.append(_line("Assessment", "(none yet)"))
    if d.history:
        lines.append("History:")
        for e in d.history:
            lines.append(
                f"  #{e.get('seq')}  {visible(str(e.get('day')))}  {visible(str(e.get('analyst')))}: {history_text(e)}"
            )
    lines += summary_lines(d)
    if brief:
        return lines
    lines.append(f"Reports naming it ({len(d.reports)}):")
    for m in d.reports:
        lines.append("")
        lines += ["  " + line for line in report_lines(m.report, spelled=m.original)]
    return lines


def history_text(e: dict) -> str:
    data = e.get("data") or {}
    action = e.get("action")
    changed = data.get("changed")
    detail = f" ({change_text({k: tuple(v) for k, v in changed.items()})})" if changed else ""
    looked = f"; looked at {len(data['looked_at'])} danger report(s)" if data.get("looked_at") else ""
    if action == "assess":
        return visible(f"assessed {data.get('verdict', '')}{detail}{looked}")
    if action == "status":
        track = f" ({data['track']} track)" if data.get("track") else ""
        return visible(f"{data.get('status', '')}{track}{detail}")
    if action == "seen":
        return visible(f"seen, {data.get('status')} stands ({data.get('re_reported', 0)} re-reported){looked}")
    if action == "undo":
        return visible(f"undid #{data.get('undoes')}{detail}")
    if action == "dismiss-flood":
        return visible(f"dismissed flood {data.get('flood')} of {data.get('reports')} reports{looked}")
    return visible(str(action))


def report_lines(report: Answers, *, spelled: str | None = None) -> list[str]:
    urls = [address_line(u) for u in report.values.get("urls", ())]  # the one display rule
    lines = field_lines(replace(report, values={**report.values, "urls": urls}), indent=_INDENT)
    removed = report.values.get(retention.MARK)
    if isinstance(removed, dict) and removed:  # so that "(none)" above is not read as the reporter's answer
        lines.append(
            _line("Removed", "; ".join(f"{k} on {v}" for k, v in sorted(removed.items())) + " (retention policy)")
        )
    if spelled is not None:
        lines.append(_line("Spelled here", address_line(spelled)))
    lines.append(_line("Report id", report.id))
    return lines
