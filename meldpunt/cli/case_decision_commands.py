"""`meldpunt case assess | status | seen | undo`: the analysts' decisions on addresses, each an
audit entry (crypto/case/decisions.py, tracks.py, corrections.py)."""

from __future__ import annotations

import click

from crypto.case import corrections, terminal
from crypto.case.classification import ACTIVITIES, COMMERCIAL, CONTENT_TYPES, GENDERS, SITE_TYPES, VIRTUAL
from crypto.case.decisions import AGE_GROUPS, VERDICTS, Assessment, assess, seen, set_status
from crypto.case.schema import STATUSES
from crypto.case.tracks import TRACKS
from meldpunt.cli.case_options import (
    ids_argument,
    ids_from_option,
    opened,
    parse_address_ids,
)
from meldpunt.cli.options import analyst_option, case_option

_VERDICT_HELP = (
    "baseline: illegal under the international baseline; national: illegal nationally; "
    "not-illegal; gone: not found or already gone. Required for a first assessment."
)


@click.command("assess", short_help="Record an assessment of addresses.")
@case_option
@analyst_option
@click.option("--verdict", type=click.Choice(tuple(VERDICTS)), help=_VERDICT_HELP)
@click.option("--age-group", type=click.Choice(AGE_GROUPS), help="Apparent age group (unknown at first).")
@click.option("--country", help='Hosting country, ISO 3166 code (NL, BE, …); "" empties it.')
@click.option("--provider", help='Hosting provider, as you found it; "" empties it.')
@click.option("--note", help='A note for the case file; "" empties it.')
@click.option(
    "--activity",
    type=click.Choice(tuple(ACTIVITIES)),
    help="What it shows (gives the IWF category and NCMEC's 1/2): "
    + "; ".join(f"{k}: {v}" for k, v in ACTIVITIES.items())
    + ".",
)
@click.option("--gender", type=click.Choice(GENDERS), help="The children's gender, where assessed.")
@click.option("--content-type", type=click.Choice(CONTENT_TYPES))
@click.option("--virtual", type=click.Choice(VIRTUAL), help="Real, virtual (drawn, rendered) or AI-generated.")
@click.option("--site-type", type=click.Choice(SITE_TYPES))
@click.option("--commercial", type=click.Choice(COMMERCIAL), help="Sold or behind payment.")
@ids_from_option
@ids_argument
def assess_command(
    case_dir: str,
    analyst: str,
    verdict: str | None,
    age_group: str | None,
    country: str | None,
    provider: str | None,
    note: str | None,
    activity: str | None,
    gender: str | None,
    content_type: str | None,
    virtual: str | None,
    site_type: str | None,
    commercial: str | None,
    ids_from,
    address_ids: tuple[str, ...],
) -> None:
    """Assess addresses: only the fields given change, the others stay (a new address becomes
    "assessed"). Every change, old and new value, goes to the audit log, and so does every danger
    report of these addresses, now looked at."""
    ids = parse_address_ids(address_ids, ids_from)
    with opened(case_dir) as conn:
        given = Assessment(
            verdict,
            age_group,
            country,
            provider,
            note,
            gender=gender,
            content_type=content_type,
            virtual=virtual,
            site_type=site_type,
            commercial=commercial,
            activity=activity,
        )
        changed = assess(conn, ids, given, analyst=analyst)
    for aid, changes in changed:
        click.echo(f"Address {aid}: {terminal.change_text(changes)}.")


@click.command("status", short_help="Set the status of addresses.")
@case_option
@analyst_option
@click.option(
    "--set",
    "status",
    type=click.Choice(STATUSES[1:]),
    help="The new status; takedown (notice-sent, removed, still-online), police (forwarded-police) and "
    "hotline (forwarded-hotline) statuses go on their own track, side by side.",
)
@click.option(
    "--track",
    type=click.Choice(tuple(TRACKS)),
    help="The track (default: the status's own); hotline with removed or still-online records the "
    "partner hotline's answer. Without --set, changes only the track's --reference or --note.",
)
@click.option("--reference", help='The police case number, provider ticket or letter reference; "" empties it.')
@click.option("--note", help='A note on this track; "" empties it.')
@ids_from_option
@ids_argument
def status_command(
    case_dir: str,
    analyst: str,
    status: str | None,
    track: str | None,
    reference: str | None,
    note: str | None,
    ids_from,
    address_ids: tuple[str, ...],
) -> None:
    """Move addresses to a status on its track, with a reference and a note; the other tracks stay.
    Written to the audit log."""
    ids = parse_address_ids(address_ids, ids_from)
    with opened(case_dir) as conn:
        changed = set_status(conn, ids, status, analyst=analyst, track=track, reference=reference, note=note)
    for aid, changes in changed:
        click.echo(f"Address {aid}: {terminal.change_text(changes)}.")
    if status:
        click.echo(f"{len(ids)} address(es) now {status}.")


@click.command("seen", short_help="Record that you have looked at addresses' reports.")
@case_option
@analyst_option
@ids_from_option
@ids_argument
def seen_command(case_dir: str, analyst: str, ids_from, address_ids: tuple[str, ...]) -> None:
    """Record, in the audit log, that you have read these addresses' reports (`case show`) and
    their status stands: their danger reports are looked at and they leave the re-reported state."""
    ids = parse_address_ids(address_ids, ids_from)
    with opened(case_dir) as conn:
        done = seen(conn, ids, analyst=analyst)
    for aid, looked, fresh in done:
        click.echo(f"Address {aid}: {len(looked)} danger report(s) looked at, {fresh} re-reported report(s) seen.")


@click.command("undo", short_help="Take back an assessment or status change, as a new audit entry.")
@case_option
@analyst_option
@click.argument("seq", metavar="ENTRY", type=click.IntRange(1))
def undo_command(case_dir: str, analyst: str, seq: int) -> None:
    """Put an address back as it was before audit entry ENTRY (its number in `case show`'s history);
    the entry stays, and the undo is a new one. Only an address's latest change can be undone."""
    with opened(case_dir) as conn:
        aid, changes = corrections.undo(conn, seq, analyst=analyst)
    click.echo(f"Address {aid}: undid entry {seq}: {terminal.change_text(changes)}.")


COMMANDS = (
    assess_command,
    status_command,
    seen_command,
    undo_command,
)
