"""`meldpunt case …`: the analysts' commands on the offline case file (crypto/case/).

Each command parses its arguments, calls crypto/case and prints; its failures are
crypto.errors.Error, turned into one line by the group in meldpunt/cli/__init__.py.
"""

from __future__ import annotations

import contextlib
import os
import sys

import click

from crypto import files
from crypto.case import attention, corrections, handoff, idlists, letters, pages, queue, statuses, terminal
from crypto.case.decisions import AGE_GROUPS, VERDICTS, Assessment, assess, seen, set_status
from crypto.case.importing import import_bundles
from crypto.case.schema import STATUSES, database_errors, open_case, private_dir
from crypto.case.verify import verify
from crypto.envelope.report import FOUND_ON, KINDS
from crypto.errors import Error, FileError
from crypto.files import write_output
from crypto.periods.keyring import load_identities as load_identity_file
from crypto.staff import folder
from crypto.staff.display import visible
from crypto.status import keys as status_keys
from crypto.status.states import MESSAGES, STATES
from meldpunt.cli import passphrase
from meldpunt.cli.stats_commands import stats_command


class CaseCheckFailed(Error):
    """`case verify` found a broken entry, or `case import` could not open some reports."""


_case = click.option("--case", "case_dir", required=True, envvar="MELDPUNT_CASE", type=click.Path(file_okay=False),
                     help="The case file's folder (or MELDPUNT_CASE).")
_analyst = click.option("--analyst", required=True, envvar="MELDPUNT_ANALYST",
                        help="Your name, as it goes into the audit log (or MELDPUNT_ANALYST).")
_ids = click.argument("address_ids", metavar="ID...", nargs=-1)
_ids_from = click.option("--ids-from", type=click.File("r", encoding="utf-8"),
                         help="Read address ids from this file (- for standard input): ids, ranges, or a "
                              "`case queue --format csv` file.")
_force = click.option("--force", is_flag=True, help="Replace --out if it exists.")


def _address_ids(items: tuple[str, ...], ids_from) -> list[int]:
    """ID... as `14 15`, `14-20` or `14,15`, and those of --ids-from; at least one."""
    ids = idlists.parse(list(items))
    if ids_from is not None:
        ids = idlists.parse([",".join(map(str, ids)), ",".join(map(str, idlists.parse_text(ids_from.read())))])
    if not ids:
        raise click.UsageError("give address ids (14 15, 14-20, 14,15) or --ids-from FILE")
    return ids


def _refuse_existing(out_path: str, force: bool) -> None:
    # Checked before any work (a status file's version is recorded before it is written).
    if out_path != "-" and not force and os.path.lexists(out_path):
        raise FileError(f"{out_path} already exists; not overwriting it (--force replaces it)")


def _write_out(out_path: str, data: bytes, force: bool) -> None:
    # Without --force, a file that appeared since _refuse_existing is not replaced either.
    if force or out_path == "-":
        write_output(out_path, data)
    else:
        files.create_private(out_path, data)


def _bundle_failures(bundle: str, failures: list[tuple[str, str]]) -> list[str]:
    """One line per reason rather than per report: a wrong key is one line, not one per report."""
    by_reason: dict[str, list[str]] = {}
    for rid, reason in failures:
        by_reason.setdefault(reason, []).append(rid)
    lines = []
    for reason, ids in by_reason.items():
        hint = " (wrong staff key?)" if "another key" in reason and len(ids) == len(failures) else ""
        shown = " ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        lines.append(f"  {visible(bundle)}: {len(ids)} report(s) not opened, {visible(reason)}{hint}: {shown}")
    return lines


@contextlib.contextmanager
def _opened(case_dir: str):
    conn = open_case(case_dir)
    try:
        with database_errors(case_dir):
            yield conn
    finally:
        conn.close()


@click.group("case", short_help="The offline case file: import, triage, assess, hand off.")
def case() -> None:
    """The case file on the offline machine: reports from every bundle, each address once, the
    analysts' assessments and statuses, hand-offs and the audit log."""


@case.command("import", short_help="Import bundles into the case file.")
@_case
@click.option("-i", "--identity", "identity_files", multiple=True, required=True,
              type=click.Path(dir_okay=False), help="Identity file (plain or passphrase-protected); repeatable.")
@click.option("--passphrase-file", type=click.Path(dir_okay=False),
              help="Read the identity files' passphrase from this file instead of asking.")
@_analyst
@click.argument("bundles", metavar="BUNDLE...", nargs=-1, required=True, type=click.Path(dir_okay=False))
def import_command(case_dir: str, identity_files: tuple[str, ...], passphrase_file: str | None, analyst: str,
                   bundles: tuple[str, ...]) -> None:
    """Import bundles (read as hostile) into the case file; write each one's acknowledgement."""
    identities = []
    for path in identity_files:
        identities += load_identity_file(path, passphrase.provider(passphrase_file, f"Passphrase for {path}"))
    with contextlib.ExitStack() as stack:
        bar: list = []

        def on_start(name: str, total: int) -> None:
            bar.clear()
            if sys.stderr.isatty() and total:
                bar.append(stack.enter_context(click.progressbar(
                    length=total, label=f"Opening {visible(name)}", file=sys.stderr, show_pos=True)))

        results = import_bundles(case_dir, bundles, identities, analyst=analyst, on_start=on_start,
                                 on_progress=lambda n: bar[0].update(n) if bar else None)
    failed = 0
    for r in results:
        click.echo(f"{visible(r.bundle)}: {r.reports} reports, {r.added} new to the case file, "
                   f"{r.already} already in it, {len(r.failures)} could not be opened.")
        again = r.arrivals
        if again.danger_total:
            click.echo(f"  {again.danger_total} new report(s) say a child is in immediate danger: at the top of "
                       "`case queue` until an analyst has looked at them.")
        if again.addresses:
            click.echo(f"  Re-reported: {again.addresses} address(es) already decided on are named by {again.reports} "
                       f"new report(s), {again.danger} of them saying a child is in immediate danger; "
                       "`case queue` shows them.")
        if r.ack_path:
            click.echo(f"  Acknowledgement: {r.ack_path}: carry it to the server and run "
                       "`meldpunt purge --config FILE --ack ACK`.")
        for line in _bundle_failures(r.bundle, r.failures):
            click.echo(line, err=True)
        failed += len(r.failures)
    if failed:
        where = ", ".join(f"{visible(r.bundle)}: {len(r.failures)}" for r in results if r.failures)
        raise CaseCheckFailed(f"{failed} report(s) could not be opened ({where}); they are not acknowledged and "
                              "stay on the server for the next export")


@case.command("urls", short_help="Every address once, as CSV.")
@_case
def urls_command(case_dir: str) -> None:
    """Print every de-duplicated address as CSV (url, reports, first and last day, status, id)."""
    with _opened(case_dir) as conn:
        click.echo(handoff.urls_csv(conn), nl=False)


@case.command("queue", short_help="The triage queue.")
@_case
@click.option("--status", type=click.Choice((*queue.STATES, *STATUSES, "all")), default="triage", show_default=True,
              help="triage: new, re-reported, or with a danger report not looked at; re-reported: new reports "
                   "since the last decision; or one status.")
@click.option("--day", help="Only addresses a report received that day names (YYYY-MM-DD).")
@click.option("--since", help="Only addresses a report received on that day or later names (YYYY-MM-DD).")
@click.option("--kind", type=click.Choice(KINDS), help="Only addresses reported with this kind of content.")
@click.option("--found-on", type=click.Choice(FOUND_ON), help="Only addresses reported as found there.")
@click.option("--page-from", "offset", type=click.IntRange(0), default=0, help="Skip this many addresses.")
@click.option("--limit", type=click.IntRange(1, queue.MAX_PAGE), default=queue.PAGE, show_default=True)
@click.option("--format", "fmt", type=click.Choice(("text", "csv", "json")), default="text", show_default=True)
def queue_command(case_dir: str, status: str, day: str | None, since: str | None, kind: str | None,
                  found_on: str | None, offset: int, limit: int, fmt: str) -> None:
    """Addresses to triage: danger reports no analyst has looked at first, then re-reported
    addresses, then the rest; within each, a child in immediate danger, most reports, oldest."""
    filters = queue.Filters(None if status == "all" else status, day, since, kind, found_on)
    with _opened(case_dir) as conn:
        rows = queue.triage(conn, filters, limit=limit, offset=offset)
        total = queue.count(conn, filters)
        unseen, unseen_ids = attention.unseen_total(conn)
    if fmt == "csv":
        click.echo(handoff.queue_csv(rows), nl=False)
    elif fmt == "json":
        click.echo(handoff.queue_json(rows, total, offset), nl=False)
    else:
        shown = {a.id for a in rows} if offset == 0 else set()
        click.echo("\n".join(terminal.unseen_warning(unseen, unseen_ids, shown)
                             + terminal.queue_lines(rows, total, offset)))
    if fmt != "text":
        for line in terminal.unseen_warning(unseen, unseen_ids, {a.id for a in rows}):
            click.echo(line, err=True)


@case.command("show", short_help="One address: its reports, assessment and history.")
@_case
@click.option("--brief", is_flag=True, help="The address, its history and a summary of its reports, not each report.")
@click.argument("address", metavar="ID|URL")
def show_command(case_dir: str, brief: bool, address: str) -> None:
    """Show an address by its id in the queue, or by a URL in any spelling: its assessment, history,
    a summary of its reports, then each report."""
    with _opened(case_dir) as conn:
        aid = int(address) if address.isdigit() else queue.find_address(conn, address).id
        click.echo("\n".join(terminal.address_lines(queue.details(conn, aid), brief=brief)))


@case.command("report", short_help="One report by its receipt code.")
@_case
@click.argument("receipt")
def report_command(case_dir: str, receipt: str) -> None:
    """Show the report with this receipt code (any case, dashes optional) and its addresses' ids."""
    with _opened(case_dir) as conn:
        for fields, ids in queue.report_by_receipt(conn, receipt):
            lines = terminal.report_lines(fields, fields["id"], fields["day"])
            state, message, since = statuses.current(conn, fields["id"])
            told = f"{state}" + (f" ({message})" if message else "") + f" since {since}"
            click.echo("\n".join(lines + [f"Address ids:    {' '.join(map(str, ids))}",
                                          f"Reporter sees:  {told} (once the next status file is on the server)"]))


@case.command("assess", short_help="Record an assessment of addresses.")
@_case
@_analyst
@click.option("--verdict", type=click.Choice(tuple(VERDICTS)),
              help="baseline: illegal under the international baseline; national: illegal nationally; "
                   "not-illegal; gone: not found or already gone. Required for a first assessment.")
@click.option("--age-group", type=click.Choice(AGE_GROUPS), help="Apparent age group (unknown at first).")
@click.option("--country", help="Hosting country, ISO 3166 code (NL, BE, …); \"\" empties it.")
@click.option("--provider", help="Hosting provider, as you found it; \"\" empties it.")
@click.option("--note", help="A note for the case file; \"\" empties it.")
@_ids_from
@_ids
def assess_command(case_dir: str, analyst: str, verdict: str | None, age_group: str | None, country: str | None,
                   provider: str | None, note: str | None, ids_from, address_ids: tuple[str, ...]) -> None:
    """Assess addresses: only the fields given change, the others stay (a new address becomes
    "assessed"). Every change, old and new value, goes to the audit log, and so does every danger
    report of these addresses, now looked at."""
    ids = _address_ids(address_ids, ids_from)
    with _opened(case_dir) as conn:
        changed = assess(conn, ids, Assessment(verdict, age_group, country, provider, note), analyst=analyst)
    for aid, changes in changed:
        click.echo(f"Address {aid}: {terminal.change_text(changes)}.")


@case.command("status", short_help="Set the status of addresses.")
@_case
@_analyst
@click.option("--set", "status", required=True, type=click.Choice(STATUSES[1:]),
              help="The new status.")
@_ids_from
@_ids
def status_command(case_dir: str, analyst: str, status: str, ids_from, address_ids: tuple[str, ...]) -> None:
    """Move addresses to a status (notice sent, forwarded, removed, …); written to the audit log."""
    ids = _address_ids(address_ids, ids_from)
    with _opened(case_dir) as conn:
        changed = set_status(conn, ids, status, analyst=analyst)
    for aid, changes in changed:
        click.echo(f"Address {aid}: {terminal.change_text(changes)}.")
    click.echo(f"{len(ids)} address(es) now {status}.")


@case.command("seen", short_help="Record that you have looked at addresses' reports.")
@_case
@_analyst
@_ids_from
@_ids
def seen_command(case_dir: str, analyst: str, ids_from, address_ids: tuple[str, ...]) -> None:
    """Record, in the audit log, that you have read these addresses' reports (`case show`) and
    their status stands: their danger reports are looked at and they leave the re-reported state."""
    ids = _address_ids(address_ids, ids_from)
    with _opened(case_dir) as conn:
        done = seen(conn, ids, analyst=analyst)
    for aid, looked, fresh in done:
        click.echo(f"Address {aid}: {len(looked)} danger report(s) looked at, {fresh} re-reported report(s) seen.")


@case.command("undo", short_help="Take back an assessment or status change, as a new audit entry.")
@_case
@_analyst
@click.argument("seq", metavar="ENTRY", type=click.IntRange(1))
def undo_command(case_dir: str, analyst: str, seq: int) -> None:
    """Put an address back as it was before audit entry ENTRY (its number in `case show`'s history);
    the entry stays, and the undo is a new one. Only an address's latest change can be undone."""
    with _opened(case_dir) as conn:
        aid, changes = corrections.undo(conn, seq, analyst=analyst)
    click.echo(f"Address {aid}: undid entry {seq}: {terminal.change_text(changes)}.")


@case.command("export", short_help="Hand-off for the police or a partner hotline.")
@_case
@click.option("--status", required=True, type=click.Choice(STATUSES), help="The addresses with this status.")
@click.option("--format", "fmt", type=click.Choice(("csv", "json")), default="csv", show_default=True)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="File to write (mode 0600), or - for standard output.")
@_force
def export_command(case_dir: str, status: str, fmt: str, out_path: str, force: bool) -> None:
    """Write the addresses with one status and their assessments as CSV or JSON."""
    _refuse_existing(out_path, force)
    with _opened(case_dir) as conn:
        text = handoff.handoff_csv(conn, status) if fmt == "csv" else handoff.handoff_json(conn, status)
    _write_out(out_path, text.encode("utf-8"), force)


@case.command("letters", short_help="Notice-and-takedown letters per hosting provider.")
@_case
@click.option("--status", type=click.Choice(STATUSES), default="assessed", show_default=True,
              help="Addresses with this status (and an illegal verdict).")
@click.option("--lang", "language", type=click.Choice(("nl", "fr", "de", "en")), default="en", show_default=True)
@click.option("--sender", required=True, help="The hotline's name, as it signs the letters.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the letters (created, mode 0700).")
def letters_command(case_dir: str, status: str, language: str, sender: str, out_dir: str) -> None:
    """Write one plain-text letter per hosting provider; mark them sent with `case status`."""
    with _opened(case_dir) as conn:
        written = letters.letters(conn, status=status, language=language, sender=sender)
    if not written:
        click.echo("No address with that status has an illegal verdict and a hosting provider.")
        return
    private_dir(out_dir, create=True)
    for letter in written:
        folder.write_file(out_dir, letter.file_name, letter.text.encode("utf-8"))
        click.echo(f"{os.path.join(out_dir, letter.file_name)}: {visible(letter.provider)}, "
                   f"addresses {' '.join(map(str, letter.address_ids))}")


@case.command("page", short_help="Write the queue as a read-only page.")
@_case
@click.option("--status", type=click.Choice((*queue.STATES, *STATUSES, "all")), default="triage", show_default=True)
def page_command(case_dir: str, status: str) -> None:
    """Write DIR/pages/queue.html: the queue with every report, no links, no scripts."""
    with _opened(case_dir) as conn:
        text = pages.render(conn, queue.Filters(None if status == "all" else status))
    out = os.path.join(case_dir, "pages")
    private_dir(out, create=True)
    folder.write_file(out, "queue.html", text.encode("utf-8"))
    click.echo(f"Wrote {os.path.join(out, 'queue.html')}")


@case.command("verify", short_help="Check the audit log and the case file against it.")
@_case
def verify_command(case_dir: str) -> None:
    """Check the audit log's hash chain and replay it against the case file; name the first break."""
    with _opened(case_dir) as conn:
        result = verify(conn)
    if result.problem:
        raise CaseCheckFailed(f"the case file does not verify: {result.problem}")
    click.echo(f"The audit log's {result.entries} entries verify, and the case file matches them. "
               f"Head: {result.head}")


@case.command("signing-key", short_help="Make the key that signs status files.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Key file to create (mode 0600); never overwritten.")
@click.option("--no-passphrase", is_flag=True, help="Write the key unprotected.")
@click.option("--passphrase-file", type=click.Path(dir_okay=False),
              help="Protect the key with the first line of this file instead of asking.")
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


@case.command("report-status", short_help="Set what a reporter is told about a report.")
@_case
@_analyst
@click.option("--message", type=click.Choice(tuple(MESSAGES)), default=None,
              help="One message from the fixed list: " + "; ".join(f"{k}: {v}" for k, v in MESSAGES.items()) + ".")
@click.option("--address", "addresses", multiple=True,
              help="Every report naming these addresses (14, 14-20, 14,15); repeatable.")
@click.option("--receipts-from", type=click.File("r", encoding="utf-8"),
              help="Receipt codes from this file (- for standard input), one a line.")
@click.argument("receipts", metavar="[RECEIPT...]", nargs=-1)
@click.argument("state", metavar="STATE", type=click.Choice(tuple(STATES)))
def report_status_command(case_dir: str, analyst: str, message: str | None, addresses: tuple[str, ...],
                          receipts_from, receipts: tuple[str, ...], state: str) -> None:
    """Set the status reporters see: received, in-review, forwarded, removed or closed, for the
    reports with these RECEIPT codes and/or every report on --address; it reaches the server with
    the next `case statuses`."""
    codes = list(receipts)
    if receipts_from is not None:
        codes += [line.strip() for line in receipts_from.read(idlists.MAX_TEXT).splitlines() if line.strip()]
    if len(codes) == 1 and not addresses:  # one code, as before
        with _opened(case_dir) as conn:
            ids = statuses.set_report_status(conn, codes[0], state, message, analyst=analyst)
        click.echo(f"Report {' '.join(ids)} now shows {state}" + (f" ({message})." if message else "."))
        return
    if not codes and not addresses:
        raise click.UsageError("give receipt codes, --receipts-from FILE or --address IDS")
    with _opened(case_dir) as conn:
        ids = statuses.reports_of(conn, idlists.parse(list(addresses)))
        for code in codes:
            ids += [fields["id"] for fields, _ in queue.report_by_receipt(conn, code)]
        changed, already = statuses.set_statuses(conn, ids, state, message, analyst=analyst)
    click.echo(f"{changed} report(s) now show {state}" + (f" ({message})" if message else "")
               + f"; {already} already did.")


@case.command("statuses", short_help="Write the signed status file for the server.")
@_case
@_analyst
@click.option("--sign-key", "key_path", required=True, type=click.Path(dir_okay=False),
              help="The status signing key (`case signing-key`).")
@click.option("--passphrase-file", type=click.Path(dir_okay=False),
              help="Read the key's passphrase from this file instead of asking.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Status file to write (mode 0600), e.g. on the removable medium.")
@_force
def statuses_command(case_dir: str, analyst: str, key_path: str, passphrase_file: str | None, out_path: str,
                     force: bool) -> None:
    """Sign every report's status, keyed by its receipt code's hash, with a new version; carry the
    file to the server and run `meldpunt statuses import`."""
    _refuse_existing(out_path, force)
    key = status_keys.load_key_file(key_path, passphrase.provider(passphrase_file, f"Passphrase for {key_path}"))
    with _opened(case_dir) as conn:
        written = statuses.write_status_file(conn, key, analyst=analyst)
    _write_out(out_path, written.data, force)
    click.echo(f"Status file version {written.version}: {written.entries} reports, sha256 {written.sha256}.")
    click.echo("Carry it to the server and run `meldpunt statuses import --config FILE STATUSFILE`.")


case.add_command(stats_command)

COMMANDS = (case,)
