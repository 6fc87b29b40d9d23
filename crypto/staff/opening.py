"""Opening a bundle on the offline machine: bundle -> DIR/reports/*.json, overview files, ack.

`open_bundle` runs four steps in this order, so that nothing is lost and nothing is acknowledged
that was not kept:
1. check: the bundle's structure and manifest are checked whole (crypto/staff/bundle.py); a
   refusal writes nothing at all;
2. open: worker processes (crypto/staff/workers.py) read, hash and open each sealed report
   and write its record (crypto/staff/folder.py: temp file + rename, so a rerun or a crash never
   leaves half a file); a report that fails is listed with its reason and the rest go on;
3. overview: index.html, reports.csv and urls.txt are rebuilt from every record in DIR/reports
   (this bundle's and any opened there before), so the overview always matches the directory;
4. acknowledge: everything is flushed to disk, and only then is DIR/ack written, listing the
   reports of this bundle whose record was written. Reopening the same bundle rewrites the same files.

Plaintext goes nowhere but DIR: output names are built from validated ids only, never from a
member's name, and files are created without following symbolic links.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crypto import age
from crypto.errors import Error
from crypto.staff import folder
from crypto.staff.ack import format_ack
from crypto.staff.bundle import read_index
from crypto.staff.listings import render_csv, render_urls
from crypto.staff.overview import render
from crypto.staff.record import Record
from crypto.staff.workers import open_reports


class OpenError(Error):
    """The bundle cannot be opened at all; no acknowledgement was written."""


@dataclass(frozen=True)
class OpenResult:
    opened: list[str]  # ids of this bundle's reports whose record was written
    failures: list[tuple[str, str]]  # (id, reason) of those that could not be opened
    total_in_dir: int  # reports in DIR/reports, this bundle's and earlier ones
    ack_written: bool


def open_bundle(
    bundle_path: str,
    identities: Sequence[age.Identity],
    out_dir: str,
    *,
    workers: int | None = None,
    on_start: Callable[[int], None] = lambda total: None,
    on_progress: Callable[[int], None] = lambda n: None,
    on_warning: Callable[[str], None] = lambda message: None,
) -> OpenResult:
    entries = read_index(bundle_path)  # refuses a bad bundle before anything is written
    if not identities:
        raise OpenError("no identity given: nothing could be opened")
    reports_dir = folder.prepare(out_dir)
    on_start(len(entries))
    records, failures = open_reports(entries, identities, bundle_path, reports_dir, workers, on_progress)
    everything = records + _earlier_records(reports_dir, {r.id for r in records}, on_warning)
    _write_overviews(out_dir, everything)
    ack_written = _acknowledge(out_dir, records)
    return OpenResult(sorted(r.id for r in records), sorted(failures), len(everything), ack_written)


# ---------------------------------------------------------------------------------------------
# The overview of everything in DIR


def _earlier_records(reports_dir: str, skip: set[str], on_warning: Callable[[str], None]) -> list[Record]:
    """Records already in DIR/reports from earlier bundles; a warning for each file that is not one."""
    records = []
    for name, record in folder.iter_records(reports_dir, skip):
        if record is None:
            path = os.path.join(reports_dir, name)
            on_warning(f"{path} is not a report file meldpunt wrote; left out of the overview")
        else:
            records.append(record)
    return records


def _write_overviews(out_dir: str, records: list[Record]) -> None:
    """index.html in a forked child while this process writes reports.csv and urls.txt.

    The page is the largest output (about 1.5 KB a report); rendering it beside the others uses
    the second core. The child inherits the records, so nothing is copied or pickled, and it
    reports a failure through a pipe as one message.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: write the page, say why not if it failed, and leave without cleanup
        os.close(read_end)
        status = 0
        try:
            folder.write_file(out_dir, "index.html", render(records).encode("utf-8"))
        except folder.FolderError as exc:
            os.write(write_end, str(exc).encode("utf-8", "replace")[:4000])
            status = 1
        except BaseException:  # noqa: BLE001  (a forked child: nothing may unwind into the parent's code)
            traceback.print_exc()
            status = 2
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        folder.write_file(out_dir, "reports.csv", render_csv(records).encode("utf-8"))
        folder.write_file(out_dir, "urls.txt", render_urls(records).encode("utf-8"))
    finally:
        with os.fdopen(read_end, "rb") as pipe:
            message = pipe.read().decode("utf-8", "replace")
        _, wait_status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(wait_status) != 0:
        raise folder.FolderError(message or f"could not write {os.path.join(out_dir, 'index.html')}")


# ---------------------------------------------------------------------------------------------
# The acknowledgement


def _acknowledge(out_dir: str, records: list[Record]) -> bool:
    """Writes DIR/ack for the records of this bundle, once they are all on disk; False if none."""
    if not records:
        return False
    # Every record must be on disk before the server is told it may delete the reports.
    os.sync()
    folder.write_file(out_dir, "ack", format_ack(r.ack_entry() for r in records))
    os.sync()
    return True
