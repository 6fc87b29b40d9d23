"""`meldpunt case retention`: the case file's retention policy, what it makes due, removing it,
and destroying the period keys of reports past it (crypto/case/retention.py, crypto/periods/).

Registered on the `case` group by meldpunt/cli/case_commands.py.
"""

from __future__ import annotations

import datetime
import sqlite3

import click

from crypto.case import retention, retention_log
from crypto.case.decisions import today
from crypto.case.schema import database_errors, open_case
from crypto.periods import keyring as keyring_module
from meldpunt.cli.key_commands import read_keyring, write_keyring
from meldpunt.cli.options import ANALYST_HELP, case_option, file_option, passphrase_file_option

_SHOWN = 20  # ids listed in one line; the audit entry and --history hold them all


@click.command("retention", short_help="Retention: what is due, removing it, destroying old period keys.")
@case_option
@click.option("--analyst", envvar="MELDPUNT_ANALYST", help=ANALYST_HELP + "; needed with --set and --apply.")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KIND=DAYS",
    help="Change the policy (audited): reports=DAYS (a report's content), contact=DAYS (its contact "
    "answer), addresses=DAYS (after its last report, unless assessed illegal); repeatable.",
)
@click.option("--apply", "apply", is_flag=True, help="Remove what is due (without it: only say what is due).")
@file_option(
    "-i",
    "--identity",
    help="A period identity file (meldpunt keygen --periods): with --apply, destroy the keys of the "
    "periods whose reports are all past the reports' limit, rewriting it in place.",
)
@passphrase_file_option("The identity file's passphrase.")
@click.option("--history", is_flag=True, help="Only list what retention removed so far, when and under which policy.")
def retention_command(
    case_dir: str,
    analyst: str | None,
    settings: tuple[str, ...],
    apply: bool,
    identity: str | None,
    passphrase_file: str | None,
    history: bool,
) -> None:
    """Show what the retention policy makes due today (a dry run), or remove it with --apply:
    reports' content, contact answers, addresses not assessed illegal, and with -i the period keys
    of those reports. Each step is an audit entry with ids and counts, never content; `case verify`
    still passes after it. Import every bundle of a period before its key is destroyed."""
    if history and (settings or apply or identity):
        raise click.UsageError("--history goes alone")
    if (settings or apply) and not analyst:
        raise click.UsageError("--set and --apply write the audit log: give --analyst (or MELDPUNT_ANALYST)")
    changes = retention.parse_settings(settings)
    # The identity file is read (its passphrase asked for) before anything is written.
    ring, secret = read_keyring(identity, passphrase_file) if identity else (None, None)
    on = today()
    conn = open_case(case_dir)
    try:
        with database_errors(case_dir):
            if history:
                shown = retention_log.lines(retention_log.entries(conn))
                click.echo("\n".join(shown) if shown else "Retention has removed nothing from this case file.")
                return
            if changes:
                assert analyst is not None  # checked above
                _, changed = retention.set_policy(conn, changes, analyst=analyst, day=on)
                click.echo(
                    "Policy changed: " + "; ".join(f"{k} {a} -> {b} days" for k, (a, b) in changed.items())
                    if changed
                    else "Policy unchanged."
                )
            before = retention.keys_before(on, retention.policy(conn).reports)
            periods: list[datetime.date] = []
            if ring is not None:
                ring, periods = keyring_module.retire_before(ring, before, datetime.date.fromisoformat(on))
            if not apply:
                due = retention.find_due(conn, on)
                click.echo(
                    "\n".join(
                        _due_lines(due, periods, identity)
                        + [
                            "Dry run: nothing removed."
                            + (" Run again with --apply." if _anything(due, periods) else "")
                        ]
                    )
                )
                return
            assert analyst is not None
            due, _ = retention.apply(conn, analyst=analyst, day=on)
            click.echo("\n".join(_done_lines(due)))
            if identity and ring is not None and periods:
                # The case file first: were the identity file not writable, nothing would be lost.
                write_keyring(identity, ring, secret)
                retention.record_keys(conn, periods, before, due.policy, analyst=analyst, day=on)
                click.echo(
                    f"Destroyed the keys of the periods starting {_days(periods)}: they are gone from "
                    f"{identity}, and every copy of those periods' reports can no longer be opened."
                )
            elif identity:
                click.echo(f"No period key is due in {identity}.")
    finally:
        conn.close()


def removed_lines(conn: sqlite3.Connection) -> list[str]:
    """For `case verify`: what retention removed, when and under which policy, if anything."""
    shown = retention_log.lines(retention_log.entries(conn))
    if not shown:
        return []
    return ["Removed under the retention policy, as the audit log records:", *(f"  {line}" for line in shown)]


def _anything(due: retention.Due, periods: list[datetime.date]) -> bool:
    return bool(due.content or due.contact or due.addresses or periods)


def _ids(ids: list) -> str:
    return " ".join(map(str, ids[:_SHOWN])) + (f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else "")


def _days(days: list[datetime.date]) -> str:
    return ", ".join(d.isoformat() for d in days)


def _policy_line(due: retention.Due) -> str:
    p = due.policy
    return (
        f"Policy: a report's content {p.reports} days, its contact answer {p.contact} days, an address not "
        f"assessed illegal {p.addresses} days after its last report."
    )


def _held_lines(due: retention.Due) -> list[str]:
    if not due.held and not due.held_addresses:
        return []
    addresses = f", and {len(due.held_addresses)} address(es) they name ({_ids(due.held_addresses)})"
    return [
        f"Held back until an analyst has looked at them (`case queue` shows them first): {len(due.held)} "
        f"report(s) saying a child is in immediate danger ({_ids(due.held)})"
        + (addresses if due.held_addresses else "")
        + "."
    ]


def _due_lines(due: retention.Due, periods: list[datetime.date], identity: str | None) -> list[str]:
    lines = [
        _policy_line(due),
        f"Due: the content of {len(due.content)} report(s) received on or before {due.last_day['reports']}; "
        f"the contact answers of {len(due.contact)} more, received on or before {due.last_day['contact']}; "
        f"{len(due.addresses)} address(es) last reported on or before {due.last_day['addresses']}"
        + (f" ({_ids(due.addresses)})." if due.addresses else "."),
    ]
    if identity:
        lines.append(
            f"Period keys due in {identity}: " + (f"the periods starting {_days(periods)}." if periods else "none.")
        )
    return lines + _held_lines(due)


def _done_lines(due: retention.Due) -> list[str]:
    if not (due.content or due.contact or due.addresses):
        return [_policy_line(due), "Nothing was due in the case file."] + _held_lines(due)
    return [
        _policy_line(due),
        f"Removed: the content of {len(due.content)} report(s), the contact answers of {len(due.contact)} more, "
        f"{len(due.addresses)} address(es)"
        + (f" ({_ids(due.addresses)})" if due.addresses else "")
        + "; each step is in the audit log (`case retention --history`).",
    ] + _held_lines(due)
