"""What the retention entries of the audit log record, for `verify` and for reading.

Retention (crypto/case/retention.py) changes rows that imports recorded: a report's answers lose
their content or contact answer, an address goes with its mentions. Each retention entry carries
the digest of every report row and every report's mentions as retention left them, the ids of
the addresses it removed, and the policy. `verify` takes, for each report, the last digest any
entry recorded (an import's, or a later retention entry's): a change a retention entry records is
accepted, exactly that change, and any other edit still differs. Removed addresses must be absent
(their assessments too), and listed in `retention_removed`; the stored policy must be the one
the policy entries set.

`lines` says what each retention entry removed, when, by whom and under which policy: counts,
days and address ids, never content.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from crypto.case.digests import REPORT_COLUMNS, mentions_digest, report_digest
from crypto.case.retention import KINDS
from crypto.staff.display import visible

ACTIONS = ("retention", "retention-policy")


@dataclass
class Recorded:
    rows: dict[str, tuple[str, int]] = field(default_factory=dict)  # report -> (row digest, entry)
    mentions: dict[str, tuple[str, int]] = field(default_factory=dict)  # report -> (mentions digest, entry)
    removed: dict[int, int] = field(default_factory=dict)  # address -> entry
    policy: dict[str, tuple[Any, int]] = field(default_factory=dict)  # kind -> (days as recorded, entry)

    def amend(self, content: Any) -> Any:
        """An import's recorded content as retention has changed it since (crypto/case/digests.py)."""
        if not isinstance(content, dict):
            return content  # digests.check names it as a form it does not know
        out = dict(content)
        for kind, later in (("reports", self.rows), ("mentions", self.mentions)):
            recorded = content.get(kind)
            if isinstance(recorded, dict):
                out[kind] = {rid: later[rid][0] if rid in later else d for rid, d in recorded.items()}
        added = content.get("addresses")
        if isinstance(added, dict):
            out["addresses"] = {aid: d for aid, d in added.items() if not (aid.isdigit() and int(aid) in self.removed)}
        return out


def replay(entries: Iterable[dict[str, Any]]) -> Recorded:
    """The retention entries' record, in order: a later entry's digest replaces an earlier one."""
    r = Recorded()
    for e in entries:
        data = e.get("data") or {}
        if e.get("action") == "retention-policy":
            for kind, change in _mapping(data.get("changed")).items():
                r.policy[kind] = (change[1] if isinstance(change, list) and len(change) == 2 else None, e["seq"])
        elif e.get("action") == "retention":
            # An entry of another shape (edited by hand) records nothing: what it claims is then
            # not accepted, and the tables differ from the import entries.
            step = data.get("step")
            for rid, value in _mapping(data.get("reports")).items():
                if step == "content" and isinstance(value, list) and len(value) == 2:
                    r.rows[rid], r.mentions[rid] = (value[0], e["seq"]), (value[1], e["seq"])
                elif step == "contact":
                    r.rows[rid] = (value, e["seq"])
            for rid, value in _mapping(data.get("mentions")).items():
                r.mentions[rid] = (value, e["seq"])
            addresses = data.get("addresses")
            for aid in addresses if isinstance(addresses, list) else ():
                if isinstance(aid, int):
                    r.removed[aid] = e["seq"]
    return r


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def check(conn: sqlite3.Connection, recorded: Recorded, legacy_imports: Collection[int]) -> list[str]:
    """What differs from the retention entries, one line each. Reports of imports that carry
    digests are checked through `Recorded.amend`; those of older imports here."""
    problems = []
    stored = {k: (days, seq) for k, days, seq in conn.execute("SELECT kind, days, seq FROM retention_policy")}
    if stored != recorded.policy:
        problems.append("the retention policy stored is not the one its audit entries set")
    if dict(conn.execute("SELECT address, seq FROM retention_removed")) != recorded.removed:
        problems.append("the addresses listed as removed by retention are not the ones its audit entries list")
    for table, what in (("addresses", "it is in the case file"), ("assessments", "its assessment is in the case file")):
        column = "id" if table == "addresses" else "address"
        for (aid,) in conn.execute(f"SELECT {column} FROM {table} ORDER BY {column}"):
            if aid in recorded.removed:
                problems.append(f"address {aid}: retention entry {recorded.removed[aid]} removed it, yet {what}")
    reports = set(recorded.rows) | set(recorded.mentions)
    named: dict[str, list[tuple[int, str]]] = {}
    for rid, aid, original in conn.execute("SELECT report, address, original FROM mentions"):
        if rid in reports:
            named.setdefault(rid, []).append((aid, original))
    for row in conn.execute(f"SELECT {REPORT_COLUMNS}, audit_seq FROM reports ORDER BY id"):
        rid = row[0]
        if rid not in reports or row[-1] not in legacy_imports:
            continue
        if rid in recorded.rows and report_digest(row[:-1]) != recorded.rows[rid][0]:
            problems.append(
                f"report {rid}: its stored row is not what retention entry {recorded.rows[rid][1]} recorded"
            )
        if rid in recorded.mentions and mentions_digest(named.get(rid, [])) != recorded.mentions[rid][0]:
            problems.append(
                f"report {rid}: the addresses it names (its mentions) are not what retention entry "
                f"{recorded.mentions[rid][1]} recorded"
            )
    return problems


def entries(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The retention entries of the log, without reading every import's digests."""
    # Canonical JSON (crypto/case/audit.py) spells an action exactly so; json.loads then decides.
    found = [
        json.loads(text)
        for (text,) in conn.execute(
            'SELECT entry FROM audit WHERE address IS NULL AND entry LIKE \'%"action":"retention%\' ORDER BY seq'
        )
    ]
    return [e for e in found if e.get("action") in ACTIONS]


def lines(log: Iterable[dict[str, Any]]) -> list[str]:
    """One line per retention entry: what went, when, by whom, under which policy."""
    out = []
    for e in log:
        if e.get("action") not in ACTIONS:
            continue
        data = e.get("data") or {}
        head = f"entry {e.get('seq')}, {visible(str(e.get('day')))}, {visible(str(e.get('analyst')))}: "
        if e["action"] == "retention-policy":
            pairs = sorted(_mapping(data.get("changed")).items(), key=_order)
            changed = "; ".join(
                f"{visible(str(k))} {v[0]} -> {v[1]} days" for k, v in pairs if isinstance(v, list) and len(v) == 2
            )
            out.append(head + f"retention policy set: {changed}")
            continue
        out.append(head + _step(data) + f" (policy: {_policy(data.get('policy'))})")
    return out


def _step(data: dict[str, Any]) -> str:
    step, count, last = data.get("step"), data.get("count"), visible(str(data.get("last_day")))
    held = f"; {data['held']} held back until an analyst has looked at them" if data.get("held") else ""
    if step == "content":
        return f"removed the content of {count} report(s) received on or before {last}" + held
    if step == "contact":
        return f"removed the contact answers of {count} report(s) received on or before {last}"
    if step == "addresses":
        ids = [str(a) for a in data.get("addresses") or ()]
        shown = " ".join(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
        return (
            f"removed {count} address(es) not assessed illegal, last reported on or before {last}, with their "
            f"{data.get('mentions_removed')} mention(s): {shown}" + held
        )
    if step == "keys":
        periods = ", ".join(visible(str(p)) for p in data.get("periods") or ())
        return f"destroyed the keys of {count} period(s) ending by {visible(str(data.get('before')))}: {periods}"
    return f"an unknown retention step {visible(str(step))}"


def _policy(policy: Any) -> str:
    if not isinstance(policy, dict):
        return "not recorded"
    return ", ".join(f"{visible(str(k))} {visible(str(v))} days" for k, v in sorted(policy.items(), key=_order))


def _order(item: tuple[str, Any]) -> tuple[int, str]:
    """The kinds in the order people read them (reports, contact, addresses), not the JSON's."""
    return (KINDS.index(item[0]) if item[0] in KINDS else len(KINDS), str(item[0]))
