"""What imports derive, replayed by `verify`: each report's columns from its answers, each
address's count, days, danger flag and shown spelling from the reports that name it.

Only imports write reports, mentions and these columns of an address (assessments and statuses
touch other columns, replayed from their own entries in crypto/case/verify.py), so whatever the
replay finds different is a change no audited step explains. Messages name reports and
addresses by id only: what a reporter typed is never printed here.

Imports recorded before their entries carried digests (crypto/case/digests.py) are also checked
here for their mentions: each report must name exactly the addresses its answers list, under
today's normalisation (crypto/case/normalise.py), unchanged since the case file was introduced.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from typing import Any

from crypto.case.digests import REPORT_COLUMNS
from crypto.case.normalise import address_key, keys_of


def check(
    conn: sqlite3.Connection, legacy_imports: Collection[int], checked_elsewhere: Collection[str] = ()
) -> list[str]:
    """One line per report or address that differs; legacy_imports: entries without digests;
    checked_elsewhere: reports whose mentions a retention entry records, since their answers no
    longer list their addresses (crypto/case/retention_log.py)."""
    problems: list[str] = []
    reports: dict[str, tuple[str, int, int, dict[str, Any] | None]] = {}  # id -> (day, seq, danger, answers)
    for row in conn.execute(f"SELECT {REPORT_COLUMNS}, audit_seq FROM reports ORDER BY id"):
        answers = _answers(row[8])
        problems += [f"report {row[0]}: {p}" for p in _columns(row, answers)]
        reports[row[0]] = (row[2], row[9], row[4], answers)
    addresses = {
        r[0]: r[1:] for r in conn.execute("SELECT id, key, url, reports, first_day, last_day, danger FROM addresses")
    }
    named: dict[int, list[tuple[str, int, str, str, int]]] = {aid: [] for aid in addresses}
    by_report: dict[str, dict[str, str]] = {}  # report -> {address key: original}
    for aid, rid, original in conn.execute("SELECT address, report, original FROM mentions ORDER BY address, report"):
        if rid not in reports:
            problems.append(f"address {aid}: a mention of it names report {rid}, which the case file does not hold")
        elif aid not in addresses:
            problems.append(f"report {rid}: it names address {aid}, which the case file does not hold")
        else:
            day, seq, danger, _ = reports[rid]
            named[aid].append((day, seq, rid, original, danger))
            by_report.setdefault(rid, {})[addresses[aid][0]] = original
    for rid, (_, seq, _, answers) in reports.items():
        if seq not in legacy_imports or rid in checked_elsewhere:
            continue
        if not _same_mentions(by_report.get(rid, {}), _expected_mentions(answers)):
            problems.append(f"report {rid}: the addresses it names (its mentions) are not the ones in its answers")
    for aid in sorted(addresses):
        problems += [f"address {aid}: {p}" for p in _address(addresses[aid], named[aid])]
    return problems


def _answers(text: Any) -> dict[str, Any] | None:
    try:
        answers = json.loads(text)
    except (TypeError, ValueError):
        return None
    return answers if isinstance(answers, dict) else None


def _columns(row: tuple, answers: dict[str, Any] | None) -> list[str]:
    """The columns the import copied out of the answers, where they no longer agree with them."""
    if answers is None:
        return ["its stored answers are not a JSON object"]
    kinds = answers.get("kinds")
    copies = (
        ("receipt code", row[3], answers.get("receipt")),
        ("child-in-danger answer", row[4], 1 if answers.get("child_in_danger") else 0),
        ("where-found answer", row[5], answers.get("found_on")),
        (
            "kinds",
            row[6],
            ";".join(kinds) if isinstance(kinds, list) and all(isinstance(k, str) for k in kinds) else None,
        ),
        ("language", row[7], answers.get("language")),
    )
    return [f"its {name} is not the one in its stored answers" for name, column, answer in copies if column != answer]


def _expected_mentions(answers: dict[str, Any] | None) -> dict[str, str] | None:
    urls = (answers or {}).get("urls")
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        return None
    expected: dict[str, str] = {}
    for url in urls:
        try:
            expected.setdefault(address_key(url), url)  # as the import counts two spellings once
        except ValueError:  # an edited answer may hold anything; no import made that key
            return None
    return expected


def _same_mentions(have: dict[str, str], want: dict[str, str] | None) -> bool:
    """The stored mentions against the answers' keys; a mention an older meldpunt keyed by its
    Unicode host (crypto/case/normalise.legacy_key) matches under that key."""
    if want is None:
        return False
    relaxed = {key: original for key, original in have.items()}
    for key, original in have.items():
        if key not in want and address_key(original) in want and key in keys_of(original):
            relaxed[address_key(original)] = relaxed.pop(key)
    return relaxed == want


def _address(row: tuple, mentions: list[tuple[str, int, str, str, int]]) -> list[str]:
    _, url, count, first_day, last_day, danger = row
    if not mentions:
        return ["no report in the case file names it"]
    days = [m[0] for m in mentions]
    problems = []
    if count != len(mentions):
        problems.append(f"its count of reports ({count}) is not the number of reports that name it ({len(mentions)})")
    if (first_day, last_day) != (min(days), max(days)):
        problems.append(f"its days ({first_day} to {last_day}) are not its reports' ({min(days)} to {max(days)})")
    if danger != max(m[4] for m in mentions):
        problems.append("its child-in-danger flag is not the one its reports' answers give")
    # The import keeps the spelling of the first report of the earliest day: imports in order,
    # each one's reports in id order.
    if url != min(mentions)[3]:
        problems.append("its shown spelling is not the one of the earliest report naming it")
    return problems
