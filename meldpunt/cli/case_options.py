"""What the `meldpunt case` commands share: options beyond options.py's, ids as analysts type
them, output files that are not overwritten by accident, and the case file opened for one command."""

from __future__ import annotations

import contextlib
import os

import click

from crypto import files
from crypto.case import idlists
from crypto.case.schema import database_errors, open_case
from crypto.errors import Error, FileError
from crypto.files import write_output
from crypto.staff.display import visible


class CaseCheckFailed(Error):
    """`case verify` found a broken entry, or `case import` could not open some reports."""


ids_argument = click.argument("address_ids", metavar="ID...", nargs=-1)
ids_from_option = click.option(
    "--ids-from",
    type=click.File("r", encoding="utf-8"),
    help="Read address ids from this file (- for standard input): ids, ranges, or a `case queue --format csv` file.",
)
force_option = click.option("--force", is_flag=True, help="Replace --out if it exists.")


def parse_address_ids(items: tuple[str, ...], ids_from) -> list[int]:
    """ID... as `14 15`, `14-20` or `14,15`, and those of --ids-from; at least one."""
    ids = idlists.parse(list(items))
    if ids_from is not None:
        ids = idlists.parse([",".join(map(str, ids)), ",".join(map(str, idlists.parse_text(ids_from.read())))])
    if not ids:
        raise click.UsageError("give address ids (14 15, 14-20, 14,15) or --ids-from FILE")
    return ids


def refuse_existing(out_path: str, force: bool) -> None:
    # Checked before any work (a status file's version is recorded before it is written).
    if out_path != "-" and not force and os.path.lexists(out_path):
        raise FileError(f"{out_path} already exists; not overwriting it (--force replaces it)")


def write_out(out_path: str, data: bytes, force: bool) -> None:
    # Without --force, a file that appeared since refuse_existing is not replaced either.
    if force or out_path == "-":
        write_output(out_path, data)
    else:
        files.create_private(out_path, data)


def bundle_failures(bundle: str, failures: list[tuple[str, str]]) -> list[str]:
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
def opened(case_dir: str):
    conn = open_case(case_dir)
    try:
        with database_errors(case_dir):
            yield conn
    finally:
        conn.close()
