"""`meldpunt case export | letters | signing-key | report-status | statuses`: what leaves the
offline machine: hand-offs, letters to providers, and what reporters are told."""

from __future__ import annotations

import os

import click

from crypto import files
from crypto.case import handoff, idlists, letters, queue, statuses
from crypto.case.decisions import set_status
from crypto.case.display import line as display_line
from crypto.case.schema import STATUSES, private_dir
from crypto.case.tracks import TRACKS
from crypto.errors import FileError
from crypto.staff import folder
from crypto.staff.display import visible
from crypto.status import keys as status_keys
from crypto.status.states import MESSAGES, STATES
from meldpunt.cli import passphrase
from meldpunt.cli.case_options import (
    force_option,
    opened,
    refuse_existing,
    write_out,
)
from meldpunt.cli.options import analyst_option, case_option, file_option, folder_option, passphrase_file_option


@click.command("export", short_help="Hand-off for the police or a partner hotline.")
@case_option
@analyst_option
@click.option(
    "--status", type=click.Choice(STATUSES), help="The addresses with this status (default: every address assessed)."
)
@click.option("--track", type=click.Choice(tuple(TRACKS)), help="Only addresses on this track.")
@click.option("--country", help="Only addresses hosted in this country (ISO 3166-1 alpha-2: NL, GB, …).")
@click.option("--since", help="Only addresses reported or decided on from this day (YYYY-MM-DD).")
@click.option("--format", "fmt", type=click.Choice(("csv", "json")), default="csv", show_default=True)
@file_option("--out", "out_path", required=True, help="File to write (mode 0600), or - for standard output.")
@force_option
def export_command(
    case_dir: str,
    analyst: str,
    status: str | None,
    track: str | None,
    country: str | None,
    since: str | None,
    fmt: str,
    out_path: str,
    force: bool,
) -> None:
    """Write everything known about the chosen addresses (assessment with its INHOPE, IWF and NCMEC
    categories, note, spellings, each report with what its reporter typed, marked so) as CSV or
    JSON (docs/handoff.schema.json); the export is recorded in the audit log."""
    refuse_existing(out_path, force)
    filters = handoff.HandoffFilters(status, country, since, track)
    with opened(case_dir) as conn:
        written = handoff.handoff(conn, filters, fmt)
        write_out(out_path, written.text.encode("utf-8"), force)
        seq = handoff.record_export(conn, written, filters, fmt, analyst=analyst)
    if out_path != "-":
        click.echo(f"{out_path}: {len(written.address_ids)} address(es); audit entry {seq}.")


LETTERS_STATUS_HELP = "Addresses with this status, on any track (and an illegal verdict)."
LETTERS_CONFIG_HELP = "TOML file with a [letters] table: sender, reply_to, reference_prefix (or MELDPUNT_LETTERS)."


@click.command("letters", short_help="Notice-and-takedown letters per hosting provider.")
@case_option
@click.option("--status", type=click.Choice(STATUSES), default="assessed", show_default=True, help=LETTERS_STATUS_HELP)
@click.option("--lang", "language", type=click.Choice(("nl", "fr", "de", "en")), default="en", show_default=True)
@file_option("--config", "config_path", envvar="MELDPUNT_LETTERS", help=LETTERS_CONFIG_HELP)
@click.option("--sender", help="The hotline's name, as it signs the letters (instead of the configuration's).")
@click.option("--reply-to", help="The address providers answer to (instead of the configuration's).")
@folder_option("--out", "out_dir", required=True, help="Folder for the letters (created, mode 0700).")
@click.option("--force", is_flag=True, help="Remove letters of another run from --out first.")
@click.option(
    "--mark-sent",
    is_flag=True,
    help="Once written, set exactly these letters' addresses notice-sent, each with its letter's reference.",
)
@click.option("--analyst", envvar="MELDPUNT_ANALYST", help="Your name, for --mark-sent (or MELDPUNT_ANALYST).")
def letters_command(
    case_dir: str,
    status: str,
    language: str,
    config_path: str | None,
    sender: str | None,
    reply_to: str | None,
    out_dir: str,
    force: bool,
    mark_sent: bool,
    analyst: str | None,
) -> None:
    """Write one plain-text letter per hosting provider, each with a reference, the reply address
    and a stable file name, and DIR/index.txt; list the addresses no letter can carry, with why."""
    if mark_sent and analyst is None:
        raise click.UsageError("--mark-sent records a decision: give --analyst (or MELDPUNT_ANALYST)")
    chosen = letters.settings(config_path, sender, reply_to, None)
    with opened(case_dir) as conn:
        batch = letters.letters(conn, status=status, language=language, settings=chosen)
    for r in batch.refused:
        click.echo(f"Not in any letter: address {r.address_id} ({visible(display_line(r.url))}): {r.reason}.", err=True)
    if not batch.letters:
        click.echo("No letter to write: no address with that status has an illegal verdict and a hosting provider.")
        return
    private_dir(out_dir, create=True)
    names = {letter.file_name for letter in batch.letters}
    stale = sorted(n for n in os.listdir(out_dir) if n not in names and n != letters.INDEX)
    if stale and not force:
        raise FileError(
            f"{out_dir} holds other files ({', '.join(stale[:5])}{' …' if len(stale) > 5 else ''}): "
            "an older run's letters? --force removes those letters, or choose an empty folder"
        )
    for name in stale:
        if not letters.FILE_NAME.fullmatch(name):
            raise FileError(f"{out_dir} holds {name}, which is not a letter; not removing it")
        os.remove(os.path.join(out_dir, name))
    for letter in batch.letters:
        folder.write_file(out_dir, letter.file_name, letter.text.encode("utf-8"))
        click.echo(
            f"{os.path.join(out_dir, letter.file_name)}: {letter.reference}, {visible(letter.provider)}, "
            f"addresses {' '.join(map(str, letter.address_ids))}"
        )
    folder.write_file(out_dir, letters.INDEX, batch.index().encode("utf-8"))
    if mark_sent:
        with opened(case_dir) as conn:
            for letter in batch.letters:
                set_status(
                    conn,
                    letter.address_ids,
                    "notice-sent",
                    analyst=str(analyst),
                    track="takedown",
                    reference=letter.reference,
                )
        click.echo(
            f"{sum(len(x.address_ids) for x in batch.letters)} address(es) now notice-sent, each with its "
            "letter's reference."
        )
    else:
        click.echo("Once sent: run again with --mark-sent, or `case status --set notice-sent --reference REF ID...`.")


@click.command("signing-key", short_help="Make the key that signs status files.")
@file_option("-o", "--output", required=True, help="Key file to create (mode 0600); never overwritten.")
@click.option("--no-passphrase", is_flag=True, help="Write the key unprotected.")
@passphrase_file_option("Protect the key with the first line of this file instead of asking.")
def signing_key_command(output: str, no_passphrase: bool, passphrase_file: str | None) -> None:
    """Make an Ed25519 key for status files; print its public key for the server's [status] public_key."""
    if no_passphrase and passphrase_file:
        raise click.UsageError("--no-passphrase and --passphrase-file exclude each other")
    if os.path.lexists(output):  # fail before asking for a passphrase; create_private re-checks
        raise FileError(f"{output} already exists; not overwriting it")
    key = status_keys.SigningKey.generate()
    text = status_keys.key_file_text(key)
    if no_passphrase:
        data = text.encode("utf-8")
    else:
        from crypto.age.keys import protect

        ask = passphrase.provider(passphrase_file, "Passphrase for the new status key", confirm=True)
        data = protect(text, passphrase.check_new(ask()), work_factor=passphrase.work_factor())
    files.create_private(output, data)
    click.echo(key.public().encode())
    click.echo(f"meldpunt: status signing key written to {output} (mode 0600); keep a backup", err=True)


@click.command("report-status", short_help="Set what a reporter is told about a report.")
@case_option
@analyst_option
@click.option(
    "--message",
    type=click.Choice(tuple(MESSAGES)),
    default=None,
    help="One message from the fixed list: " + "; ".join(f"{k}: {v}" for k, v in MESSAGES.items()) + ".",
)
@click.option(
    "--address", "addresses", multiple=True, help="Every report naming these addresses (14, 14-20, 14,15); repeatable."
)
@click.option(
    "--receipts-from",
    type=click.File("r", encoding="utf-8"),
    help="Receipt codes from this file (- for standard input), one a line.",
)
@click.argument("receipts", metavar="[RECEIPT...]", nargs=-1)
@click.argument("state", metavar="STATE", type=click.Choice(tuple(STATES)))
def report_status_command(
    case_dir: str,
    analyst: str,
    message: str | None,
    addresses: tuple[str, ...],
    receipts_from,
    receipts: tuple[str, ...],
    state: str,
) -> None:
    """Set the status reporters see: received, in-review, forwarded, removed or closed, for the
    reports with these RECEIPT codes and/or every report on --address; it reaches the server with
    the next `case statuses`."""
    codes = list(receipts)
    if receipts_from is not None:
        codes += [line.strip() for line in receipts_from.read(idlists.MAX_TEXT).splitlines() if line.strip()]
    if len(codes) == 1 and not addresses:  # one code, as before
        with opened(case_dir) as conn:
            ids = statuses.set_report_status(conn, codes[0], state, message, analyst=analyst)
        click.echo(f"Report {' '.join(ids)} now shows {state}" + (f" ({message})." if message else "."))
        return
    if not codes and not addresses:
        raise click.UsageError("give receipt codes, --receipts-from FILE or --address IDS")
    with opened(case_dir) as conn:
        ids = statuses.reports_of(conn, idlists.parse(list(addresses)))
        for code in codes:
            ids += [report.id for report, _ in queue.report_by_receipt(conn, code)]
        changed, already = statuses.set_statuses(conn, ids, state, message, analyst=analyst)
    click.echo(
        f"{changed} report(s) now show {state}" + (f" ({message})" if message else "") + f"; {already} already did."
    )


@click.command("statuses", short_help="Write the signed status file for the server.")
@case_option
@analyst_option
@file_option("--sign-key", "key_path", required=True, help="The status signing key (`case signing-key`).")
@passphrase_file_option("Read the key's passphrase from this file instead of asking.")
@file_option("--out", "out_path", required=True, help="Status file to write (mode 0600), e.g. on the removable medium.")
@force_option
def statuses_command(
    case_dir: str, analyst: str, key_path: str, passphrase_file: str | None, out_path: str, force: bool
) -> None:
    """Sign every report's status, keyed by its receipt code's hash, with a new version; carry the
    file to the server and run `meldpunt statuses import`."""
    refuse_existing(out_path, force)
    key = status_keys.load_key_file(key_path, passphrase.provider(passphrase_file, f"Passphrase for {key_path}"))
    with opened(case_dir) as conn:
        written = statuses.write_status_file(conn, key, analyst=analyst)
    write_out(out_path, written.data, force)
    click.echo(f"Status file version {written.version}: {written.entries} reports, sha256 {written.sha256}.")
    click.echo("Carry it to the server and run `meldpunt statuses import --config FILE STATUSFILE`.")


COMMANDS = (
    export_command,
    letters_command,
    signing_key_command,
    report_status_command,
    statuses_command,
)
