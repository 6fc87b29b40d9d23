"""Retention: how long the case file keeps what reporters gave, and removing it once due.

Three limits in days, stored in the case file and changed only by an audited `case retention --set`:

- reports: a report's content goes this many days after the report's day. Its answers keep only
  what counts, statistics, statuses and `verify` need (KEPT: receipt code, child-in-danger answer,
  where found, kinds, language, the day, how it came (channel, via, campaign), and the purge secret
  with which a bundle imported again is acknowledged again); the description, the addresses as
  typed, access, the day seen and the contact answer go. The report's row (id, hash, day) stays,
  so its receipt code still shows a status and every import still verifies.
- contact: the reporter's contact answer alone goes sooner, this many days after the report's day.
- addresses: an address no analyst assessed illegal goes, with its mentions (which report named it,
  spelled how), this many days after the last report naming it. Addresses assessed illegal stay:
  they are the hotline's URL list. An address's id is never given to another one (NEXT_ADDRESS_ID),
  since the audit log names addresses by id.

contact <= reports <= addresses: a report's content includes its contact answer and the
addresses it names, so neither can outlive it, nor can an address go while a report still names it.

Nothing goes that no analyst has read: a report saying a child is in immediate danger that no
analyst has looked at (crypto/case/attention.py) keeps its content and contact, and the addresses
it names stay, "held back" until one has.

Each step is one audit entry (action "retention", its "step") written in the transaction that
removes: the policy applied, the last day that was due, the ids and counts (never content) and the
digest of each changed row as it now stands, from which `verify` accepts exactly these changes
(crypto/case/retention_log.py). The period keys step is recorded once the identity file is rewritten.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from crypto.case import audit, digests
from crypto.case.decisions import ILLEGAL, analyst_name, today
from crypto.case.errors import CaseError, InputError
from crypto.case.schema import transaction

KINDS = ("reports", "contact", "addresses")
# The defaults, justified in README.md ("Retention"): a year for a report's content covers its
# assessment, notice, takedown and the checks after; three months for contact answers, asked only to
# reach the reporter about this report; two years for an address not found illegal, so that one
# reported again is recognised as such.
DEFAULTS = {"reports": 365, "contact": 90, "addresses": 730}
# At least a day, so nothing is removed before an analyst could read it; at most a century, beyond
# which a number is a typing error rather than a policy.
MIN_DAYS, MAX_DAYS = 1, 36500

# The answers a report keeps once its content is removed: what every count and check needs.
KEPT = (
    "campaign",
    "channel",
    "child_in_danger",
    "found_on",
    "kinds",
    "language",
    "purge_secret",
    "receipt",
    "received_on",
    "version",
    "via",
)
MARK = "retention"  # in the answers: {"content": day} or {"contact": day}, the day each was removed

# The id a new address gets in an import: above every address held and every one removed.
NEXT_ADDRESS_ID = (
    "(SELECT max(coalesce((SELECT max(id) FROM addresses), 0),"
    " coalesce((SELECT max(address) FROM retention_removed), 0)) + 1)"
)

_NOT_LOOKED_AT = "r.child_in_danger = 1 AND NOT EXISTS (SELECT 1 FROM looked_at l WHERE l.report = r.id)"


@dataclass(frozen=True)
class Policy:
    reports: int
    contact: int
    addresses: int

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in KINDS}


@dataclass(frozen=True)
class Due:
    """What a policy makes due on a day; `last_day[kind]`: reports (or an address's last report)
    of that day or earlier are due."""

    policy: Policy
    last_day: dict[str, str]
    content: list[str]  # report ids whose content goes
    contact: list[str]  # report ids whose contact answer alone goes
    addresses: list[int]
    held: list[str]  # danger reports due but not looked at yet
    held_addresses: list[int]


def policy(conn: sqlite3.Connection) -> Policy:
    stored = dict(conn.execute("SELECT kind, days FROM retention_policy"))
    return Policy(**{k: stored.get(k, DEFAULTS[k]) for k in KINDS})


def parse_settings(items: Sequence[str]) -> dict[str, int]:
    """`reports=365`, `contact=90`, `addresses=730` as given to --set."""
    out: dict[str, int] = {}
    for item in items:
        kind, sep, days = (part.strip() for part in item.partition("="))
        if not sep or kind not in KINDS:
            raise InputError(f"{item!r}: give KIND=DAYS, KIND one of {', '.join(KINDS)}")
        if not days.isdigit() or not MIN_DAYS <= int(days) <= MAX_DAYS:
            raise InputError(f"{item!r}: the days are a whole number from {MIN_DAYS} to {MAX_DAYS}")
        out[kind] = int(days)
    return out


def set_policy(
    conn: sqlite3.Connection, settings: dict[str, int], *, analyst: str, day: str | None = None
) -> tuple[Policy, dict[str, tuple[int, int]]]:
    """The new policy and what changed (kind -> (old, new)); one audit entry when anything did."""
    analyst = analyst_name(analyst)
    with transaction(conn):
        old = policy(conn)
        new = Policy(**{**old.as_dict(), **settings})
        if not new.contact <= new.reports <= new.addresses:
            raise InputError(
                f"contact ({new.contact}) <= reports ({new.reports}) <= addresses ({new.addresses}) "
                "days: a report's content holds its contact answer and the addresses it names"
            )
        changed = {k: (getattr(old, k), getattr(new, k)) for k in KINDS if getattr(old, k) != getattr(new, k)}
        if changed:
            seq = audit.append(
                conn,
                action="retention-policy",
                analyst=analyst,
                day=day or today(),
                data={"policy": new.as_dict(), "changed": {k: list(v) for k, v in changed.items()}},
            )
            conn.executemany(
                "INSERT OR REPLACE INTO retention_policy (kind, days, seq) VALUES (?, ?, ?)",
                [(k, new_days, seq) for k, (_, new_days) in changed.items()],
            )
    return new, changed


def last_due_day(on: str, days: int) -> str:
    """Data kept `days` days after day D is due on D + days: the last due day is `on` - days."""
    return (datetime.date.fromisoformat(on) - datetime.timedelta(days=days)).isoformat()


def keys_before(on: str, reports_days: int) -> datetime.date:
    """For crypto/periods/keyring.retire_before: a period ending on or before this day holds only
    reports whose content is due."""
    return datetime.date.fromisoformat(last_due_day(on, reports_days)) + datetime.timedelta(days=1)


def find_due(conn: sqlite3.Connection, on: str) -> Due:
    p = policy(conn)
    last = {k: last_due_day(on, getattr(p, k)) for k in KINDS}
    content: list[str] = []
    contact: list[str] = []
    held: list[str] = []
    # Content due includes contact due (contact <= reports): one pass over the reports of both.
    for rid, day, text, unseen in conn.execute(
        f"SELECT r.id, r.day, r.fields, {_NOT_LOOKED_AT} FROM reports r WHERE r.day <= ? ORDER BY r.id",
        (last["contact"],),
    ):
        answers = _answers(rid, text)
        if "content" in answers.get(MARK, {}):
            continue  # its content went in an earlier run
        if day <= last["reports"]:
            (held if unseen else content).append(rid)
        elif answers.get("contact"):
            (held if unseen else contact).append(rid)
    addresses: list[int] = []
    held_addresses: list[int] = []
    for aid, unseen in conn.execute(
        # An address on a takedown or referral track (crypto/case/tracks.py) is held: a track is
        # a case still followed with a provider or the police, whatever its verdict.
        "SELECT a.id, a.unseen_danger > 0 OR EXISTS (SELECT 1 FROM tracks t WHERE t.address = a.id)"
        " FROM addresses a LEFT JOIN assessments s ON s.address = a.id"
        f" WHERE a.last_day <= ? AND coalesce(s.verdict, '') NOT IN ({', '.join('?' * len(ILLEGAL))})"
        " ORDER BY a.id",
        (last["addresses"], *ILLEGAL),
    ):
        (held_addresses if unseen else addresses).append(aid)
    return Due(p, last, content, contact, addresses, held, held_addresses)


def apply(conn: sqlite3.Connection, *, analyst: str, day: str | None = None) -> tuple[Due, list[int]]:
    """Removes what is due on `day` in one transaction; returns it and the audit entries written."""
    analyst = analyst_name(analyst)
    day = day or today()
    written = []
    with transaction(conn):
        due = find_due(conn, day)
        common = {"policy": due.policy.as_dict()}
        if due.content:
            written.append(
                _redact_step(
                    conn,
                    "content",
                    due.content,
                    day,
                    analyst,
                    {**common, "last_day": due.last_day["reports"], "held": len(due.held)},
                    lambda rid: [_row_digest(conn, rid), _mentions_digest(conn, rid)],
                )
            )
        if due.contact:
            written.append(
                _redact_step(
                    conn,
                    "contact",
                    due.contact,
                    day,
                    analyst,
                    {**common, "last_day": due.last_day["contact"]},
                    lambda rid: _row_digest(conn, rid),
                )
            )
        if due.addresses:
            written.append(_remove_addresses(conn, due, analyst, day))
    return due, written


def _redact_step(
    conn: sqlite3.Connection,
    step: str,
    ids: list[str],
    day: str,
    analyst: str,
    data: dict[str, Any],
    digest: Callable[[str], Any],
) -> int:
    """Redacts `step` ("content" or "contact") of these reports, then writes the entry recording it,
    with each report's digest as it is after."""
    for rid in ids:
        _redact(conn, rid, step, day)
    return audit.append(
        conn,
        action="retention",
        analyst=analyst,
        day=day,
        data={**data, "step": step, "count": len(ids), "reports": {rid: digest(rid) for rid in ids}},
    )


def record_keys(
    conn: sqlite3.Connection,
    firsts: Sequence[datetime.date],
    before: datetime.date,
    applied: Policy,
    *,
    analyst: str,
    day: str | None = None,
) -> int:
    """The entry for period keys destroyed (their first days), once the identity file is rewritten."""
    analyst = analyst_name(analyst)
    with transaction(conn):
        return audit.append(
            conn,
            action="retention",
            analyst=analyst,
            day=day or today(),
            data={
                "policy": applied.as_dict(),
                "step": "keys",
                "before": before.isoformat(),
                "count": len(firsts),
                "periods": [d.isoformat() for d in firsts],
            },
        )


def _answers(rid: str, text: Any) -> dict[str, Any]:
    try:
        answers = json.loads(text)
    except (TypeError, ValueError):
        answers = None
    if not isinstance(answers, dict) or not isinstance(answers.get(MARK, {}), dict):
        raise CaseError(f"report {rid}: its stored answers are not a JSON object; `case verify` first")
    return answers


def _redact(conn: sqlite3.Connection, rid: str, what: str, day: str) -> None:
    (text,) = conn.execute("SELECT fields FROM reports WHERE id = ?", (rid,)).fetchone()
    answers = _answers(rid, text)
    removed = {**answers.get(MARK, {}), what: day}  # a report's contact may have gone before its content
    if what == "content":
        answers = {k: v for k, v in answers.items() if k in KEPT}
    else:
        answers.pop("contact", None)
    answers[MARK] = removed
    conn.execute(
        "UPDATE reports SET fields = ? WHERE id = ?",
        (json.dumps(answers, ensure_ascii=True, sort_keys=True, separators=(",", ":")), rid),
    )


def _remove_addresses(conn: sqlite3.Connection, due: Due, analyst: str, day: str) -> int:
    named: set[str] = set()
    mentions = 0
    for aid in due.addresses:
        reports = [rid for (rid,) in conn.execute("SELECT report FROM mentions WHERE address = ?", (aid,))]
        named.update(reports)
        mentions += len(reports)
        conn.execute("DELETE FROM mentions WHERE address = ?", (aid,))
        conn.execute("DELETE FROM assessments WHERE address = ?", (aid,))
        conn.execute("DELETE FROM addresses WHERE id = ?", (aid,))
    seq = audit.append(
        conn,
        action="retention",
        analyst=analyst,
        day=day,
        data={
            "policy": due.policy.as_dict(),
            "step": "addresses",
            "last_day": due.last_day["addresses"],
            "count": len(due.addresses),
            "held": len(due.held_addresses),
            "addresses": due.addresses,
            "mentions_removed": mentions,
            "mentions": {rid: _mentions_digest(conn, rid) for rid in sorted(named)},
        },
    )
    conn.executemany("INSERT INTO retention_removed (address, seq) VALUES (?, ?)", [(a, seq) for a in due.addresses])
    return seq


def _row_digest(conn: sqlite3.Connection, rid: str) -> str:
    row = conn.execute(f"SELECT {digests.REPORT_COLUMNS} FROM reports WHERE id = ?", (rid,)).fetchone()
    return digests.report_digest(row)


def _mentions_digest(conn: sqlite3.Connection, rid: str) -> str:
    return digests.mentions_digest(
        [
            (aid, original)
            for aid, original in conn.execute("SELECT address, original FROM mentions WHERE report = ?", (rid,))
        ]
    )
