"""`meldpunt case …`: the analysts' commands on the offline case file (crypto/case/).

Each command parses its arguments, calls crypto/case and prints; its failures are
crypto.errors.Error, turned into one line by the group in meldpunt/cli/__init__.py.
"""

from __future__ import annotations

import contextlib
import os
import sys

import click

from crypto.case import attention, floods, handoff, pages, queue, statuses, terminal
from crypto.case.importing import import_bundles
from crypto.case.schema import STATUSES, private_dir
from crypto.case.tracks import TRACKS
from crypto.case.verify import verify
from crypto.envelope.report import FOUND_ON, KINDS
from crypto.periods.keyring import load_identities as load_identity_file
from crypto.staff import folder
from crypto.staff.display import visible
from meldpunt.cli import case_decision_commands, case_handoff_commands, passphrase
from meldpunt.cli.case_options import (
    CaseCheckFailed,
    bundle_failures,
    opened,
)
from meldpunt.cli.options import analyst_option, case_option, staff_identities_option, staff_passphrase_option
from meldpunt.cli.retention_commands import removed_lines, retention_command
from meldpunt.cli.stats_commands import stats_command


@click.group("case", short_help="The offline case file: import, triage, assess, hand off.")
def case() -> None:
    """The case file on the offline machine: reports from every bundle, each address once, the
    analysts' assessments and statuses, hand-offs and the audit log."""


@case.command("import", short_help="Import bundles into the case file.")
@case_option
@staff_identities_option
@staff_passphrase_option
@analyst_option
@click.argument("bundles", metavar="BUNDLE...", nargs=-1, required=True, type=click.Path(dir_okay=False))
def import_command(
    case_dir: str, identity_files: tuple[str, ...], passphrase_file: str | None, analyst: str, bundles: tuple[str, ...]
) -> None:
    """Import bundles (read as hostile) into the case file; write each one's acknowledgement."""
    identities = []
    for path in identity_files:
        identities += load_identity_file(path, passphrase.provider(passphrase_file, f"Passphrase for {path}"))
    with contextlib.ExitStack() as stack:
        bar: list = []

        def on_start(name: str, total: int) -> None:
            bar.clear()
            if sys.stderr.isatty() and total:
                bar.append(
                    stack.enter_context(
                        click.progressbar(
                            length=total, label=f"Opening {visible(name)}", file=sys.stderr, show_pos=True
                        )
                    )
                )

        results = import_bundles(
            case_dir,
            bundles,
            identities,
            analyst=analyst,
            on_start=on_start,
            on_progress=lambda n: bar[0].update(n) if bar else None,
        )
    with opened(case_dir) as conn:  # a flood is one item from the start (crypto/case/floods.py)
        pending = floods.pending(conn)
    failed = 0
    for r in results:
        click.echo(
            f"{visible(r.bundle)}: {r.reports} reports, {r.added} new to the case file, "
            f"{r.already} already in it, {len(r.failures)} could not be opened."
        )
        again = r.arrivals
        if again.danger_total:
            click.echo(
                f"  {again.danger_total} new report(s) say a child is in immediate danger: at the top of "
                "`case queue` until an analyst has looked at them."
            )
        if again.addresses:
            click.echo(
                f"  Re-reported: {again.addresses} address(es) already decided on are named by {again.reports} "
                f"new report(s), {again.danger} of them saying a child is in immediate danger; "
                "`case queue` shows them."
            )
        if r.ack_path:
            click.echo(
                f"  Acknowledgement: {r.ack_path}: carry it to the server and run "
                "`meldpunt purge --config FILE --ack ACK`."
            )
        for line in bundle_failures(r.bundle, r.failures):
            click.echo(line, err=True)
        failed += len(r.failures)
    for line in terminal.flood_lines(pending):
        click.echo(line)
    if failed:
        where = ", ".join(f"{visible(r.bundle)}: {len(r.failures)}" for r in results if r.failures)
        raise CaseCheckFailed(
            f"{failed} report(s) could not be opened ({where}); they are not acknowledged and "
            "stay on the server for the next export"
        )


@case.command("urls", short_help="Every address once, as CSV.")
@case_option
def urls_command(case_dir: str) -> None:
    """Print every de-duplicated address as CSV (url, reports, first and last day, status, id)."""
    with opened(case_dir) as conn:
        click.echo(handoff.urls_csv(conn), nl=False)


@case.command("queue", short_help="The triage queue.")
@case_option
@click.option(
    "--status",
    type=click.Choice((*queue.STATES, *STATUSES, "all")),
    default="triage",
    show_default=True,
    help="triage: new, re-reported, or with a danger report not looked at; re-reported: new reports "
    "since the last decision; or one status.",
)
@click.option("--day", help="Only addresses a report received that day names (YYYY-MM-DD).")
@click.option("--since", help="Only addresses a report received on that day or later names (YYYY-MM-DD).")
@click.option("--kind", type=click.Choice(KINDS), help="Only addresses reported with this kind of content.")
@click.option("--found-on", type=click.Choice(FOUND_ON), help="Only addresses reported as found there.")
@click.option(
    "--track", type=click.Choice(tuple(TRACKS)), help="Only addresses on this track (with --status all: in any status)."
)
@click.option("--page-from", "offset", type=click.IntRange(0), default=0, help="Skip this many addresses.")
@click.option("--limit", type=click.IntRange(1, queue.MAX_PAGE), default=queue.PAGE, show_default=True)
@click.option("--format", "fmt", type=click.Choice(("text", "csv", "json")), default="text", show_default=True)
def queue_command(
    case_dir: str,
    status: str,
    day: str | None,
    since: str | None,
    kind: str | None,
    found_on: str | None,
    track: str | None,
    offset: int,
    limit: int,
    fmt: str,
) -> None:
    """Addresses to triage: danger reports no analyst has looked at first, then re-reported
    addresses, then the rest; within each, a child in immediate danger, most reports, oldest."""
    filters = queue.Filters(None if status == "all" else status, day, since, kind, found_on, track)
    with opened(case_dir) as conn:
        rows = queue.triage(conn, filters, limit=limit, offset=offset)
        total = queue.count(conn, filters)
        unseen, unseen_ids = attention.unseen_total(conn)
        pending = floods.pending(conn)  # in every view: a flood is dealt with or it is on top
    if fmt == "csv":
        click.echo(handoff.queue_csv(rows), nl=False)
    elif fmt == "json":
        click.echo(handoff.queue_json(rows, total, offset, pending), nl=False)
    else:
        shown = {a.id for a in rows} if offset == 0 else set()
        click.echo(
            "\n".join(
                terminal.flood_lines(pending)
                + terminal.unseen_warning(unseen, unseen_ids, shown)
                + terminal.queue_lines(rows, total, offset)
            )
        )
    if fmt != "text":
        for line in (terminal.flood_lines(pending) if fmt == "csv" else []) + terminal.unseen_warning(
            unseen, unseen_ids, {a.id for a in rows}
        ):
            click.echo(line, err=True)


@case.command("show", short_help="One address: its reports, assessment and history.")
@case_option
@click.option("--brief", is_flag=True, help="The address, its history and a summary of its reports, not each report.")
@click.argument("address", metavar="ID|URL")
def show_command(case_dir: str, brief: bool, address: str) -> None:
    """Show an address by its id in the queue, or by a URL in any spelling: its assessment, history,
    a summary of its reports, then each report."""
    with opened(case_dir) as conn:
        aid = int(address) if address.isdigit() else queue.find_address(conn, address).id
        lines = terminal.address_lines(queue.details(conn, aid), brief=brief)
        for fid, day, done in floods.of_address(conn, aid):
            lines.insert(1, f"Flood {fid} of {day} names it" + (" (dismissed)." if done else " (`case flood`)."))
    click.echo("\n".join(lines))


@case.command("flood", short_help="One flood: its counts and a few of its reports.")
@case_option
@click.option("--sample", type=click.IntRange(1, 20), default=3, show_default=True, help="Reports shown.")
@click.argument("flood_id", metavar="FLOOD", type=click.IntRange(1))
def flood_command(case_dir: str, sample: int, flood_id: int) -> None:
    """Show a flood (reports alike on one day, `case queue` lists them) with a sample of its reports."""
    with opened(case_dir) as conn:
        flood = floods.get(conn, flood_id)
        lines = terminal.flood_lines([flood])[:1]
        for report in floods.sample(conn, flood_id, sample):
            lines += [""] + terminal.report_lines(report)
    click.echo("\n".join(lines))


@case.command("dismiss-flood", short_help="Dismiss floods of fake reports, one audited step each.")
@case_option
@analyst_option
@click.argument("flood_ids", metavar="FLOOD...", nargs=-1, required=True, type=click.IntRange(1))
def dismiss_flood_command(case_dir: str, analyst: str, flood_ids: tuple[int, ...]) -> None:
    """Dismiss each flood (after `case flood N`): one audit entry covers its reports, looks at its
    danger reports and takes the addresses only it names out of triage. Addresses that other
    reports name stay in the queue; reports of the same shape arriving later bring it back."""
    with opened(case_dir) as conn:
        done = floods.dismiss(conn, list(flood_ids), analyst=analyst)
    for flood, looked in done:
        click.echo(
            f"Flood {flood.id}: {flood.reports} reports dismissed, {flood.addresses} address(es) out of "
            f"triage, {len(looked)} danger report(s) looked at."
        )


@case.command("report", short_help="One report by its receipt code.")
@case_option
@click.argument("receipt")
def report_command(case_dir: str, receipt: str) -> None:
    """Show the report with this receipt code (any case, dashes optional) and its addresses' ids."""
    with opened(case_dir) as conn:
        for report, ids in queue.report_by_receipt(conn, receipt):
            lines = terminal.report_lines(report)
            state, message, since = statuses.current(conn, report.id)
            told = f"{state}" + (f" ({message})" if message else "") + f" since {since}"
            click.echo(
                "\n".join(
                    lines
                    + [
                        f"Address ids:    {' '.join(map(str, ids))}",
                        f"Reporter sees:  {told} (once the next status file is on the server)",
                    ]
                )
            )


@case.command("page", short_help="Write the queue as a read-only page.")
@case_option
@click.option("--status", type=click.Choice((*queue.STATES, *STATUSES, "all")), default="triage", show_default=True)
def page_command(case_dir: str, status: str) -> None:
    """Write DIR/pages/queue.html: the queue with every report, no links, no scripts."""
    with opened(case_dir) as conn:
        text = pages.render(conn, queue.Filters(None if status == "all" else status))
    out = os.path.join(case_dir, "pages")
    private_dir(out, create=True)
    folder.write_file(out, "queue.html", text.encode("utf-8"))
    click.echo(f"Wrote {os.path.join(out, 'queue.html')}")


@case.command("verify", short_help="Check the audit log and the case file against it.")
@case_option
def verify_command(case_dir: str) -> None:
    """Check the audit log's hash chain and replay it against the case file; name the first break."""
    with opened(case_dir) as conn:
        result = verify(conn)
        removed = removed_lines(conn)
    if result.problem:
        raise CaseCheckFailed(f"the case file does not verify: {result.problem}")
    click.echo(f"The audit log's {result.entries} entries verify, and the case file matches them. Head: {result.head}")
    if removed:
        click.echo("\n".join(removed))


for _command in (*case_decision_commands.COMMANDS, *case_handoff_commands.COMMANDS, stats_command, retention_command):
    case.add_command(_command)
COMMANDS = (case,)
