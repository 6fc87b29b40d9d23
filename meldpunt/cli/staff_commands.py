"""The staff's offline commands, `meldpunt open` and `meldpunt find`.

They only parse arguments, show progress and print results; the work is in crypto/staff/opening.py and
crypto/staff/lookup.py, and their failures are crypto.errors.Error, turned into one line by the group.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections import defaultdict

import click

from crypto.errors import Error
from crypto.periods.keyring import load_identities as load_identity_file
from crypto.staff.display import visible
from crypto.staff.lookup import find_by_receipt, format_record
from crypto.staff.opening import open_bundle
from meldpunt.cli import passphrase
from meldpunt.cli.options import folder_option, staff_identities_option, staff_passphrase_option

# Failed ids listed per reason; the rest are counted.
_SHOWN_PER_REASON = 20


class SomeReportsFailed(Error):
    """Some reports could not be opened; the others were written and acknowledged."""


@click.command("open", short_help="Open an exported bundle (offline, staff).")
@click.argument("bundle", type=click.Path(dir_okay=False))
@staff_identities_option
@staff_passphrase_option
@folder_option("--out", "out_dir", required=True, help="Directory for the opened reports (created, mode 0700).")
def open_command(bundle: str, identity_files: tuple[str, ...], passphrase_file: str | None, out_dir: str) -> None:
    """Open an exported bundle offline: reports, overview, CSV and the acknowledgement."""
    identities = []
    for path in identity_files:
        identities += load_identity_file(path, passphrase.provider(passphrase_file, f"Passphrase for {path}"))

    with contextlib.ExitStack() as stack:
        bar: list = []

        def on_start(total: int) -> None:
            if sys.stderr.isatty() and total:
                bar.append(
                    stack.enter_context(
                        click.progressbar(length=total, label="Opening", file=sys.stderr, show_pos=True)
                    )
                )

        def on_progress(n: int) -> None:
            if bar:
                bar[0].update(n)

        result = open_bundle(
            bundle,
            identities,
            out_dir,
            on_start=on_start,
            on_progress=on_progress,
            on_warning=lambda message: click.echo(f"warning: {message}", err=True),
        )

    total = len(result.opened) + len(result.failures)
    click.echo(
        f"Opened {len(result.opened)} of {total} reports into {out_dir} ({result.total_in_dir} reports there in all)."
    )
    at = functools.partial(os.path.join, out_dir)
    click.echo(f"  Read them in:        {at('index.html')}")
    click.echo(f"  For the case system: {at('reports.csv')}, {at('urls.txt')}")
    if result.ack_written:
        purge = "meldpunt purge --config FILE --ack ACK"
        click.echo(f"  Acknowledgement:     {at('ack')}: carry it to the server and run `{purge}`.")
    if result.failures:
        by_reason: dict[str, list[str]] = defaultdict(list)
        for rid, reason in result.failures:
            by_reason[reason].append(rid)
        for reason, ids in sorted(by_reason.items()):
            # A reason may quote a decoded value; show it inert.
            click.echo(f"{len(ids)} report(s): {visible(reason)}", err=True)
            for rid in ids[:_SHOWN_PER_REASON]:
                click.echo(f"  {rid}", err=True)
            if len(ids) > _SHOWN_PER_REASON:
                click.echo(f"  ... and {len(ids) - _SHOWN_PER_REASON} more", err=True)
        raise SomeReportsFailed(
            f"{len(result.failures)} of {total} reports could not be opened; they are not in the "
            "acknowledgement and stay on the server for the next export"
        )


@click.command("find", short_help="Show an opened report by its receipt code.")
@click.argument("receipt")
@click.argument("out_dir", metavar="DIR", type=click.Path(file_okay=False, exists=True))
def find_command(receipt: str, out_dir: str) -> None:
    """Show the opened report with this receipt code (any case, dashes optional)."""
    records = find_by_receipt(out_dir, receipt)
    click.echo("\n\n".join(format_record(r, out_dir) for r in records))


COMMANDS = (open_command, find_command)
