"""Opening a bundle on the offline machine: bundle -> DIR/reports/*.json, overview files, ack.

Order matters, so that nothing is lost and nothing is acknowledged that was not kept:
1. the bundle's structure and manifest are checked whole (crypto/staff/bundle.py); a refusal writes
   nothing at all;
2. worker processes read, hash, decrypt, unframe and decode each report and write its JSON file
   (temp file + rename, so a rerun or a crash never leaves half a file); a report that fails is
   listed with its reason and the rest go on;
3. index.html, reports.csv and urls.txt are rebuilt from every report in DIR/reports (this
   bundle's and any opened there before), so the overview always matches the directory;
4. everything is flushed to disk, and only then is DIR/ack written, listing the reports of this
   bundle whose JSON file was written. Reopening the same bundle rewrites the same files.

Plaintext goes nowhere but DIR: output names are built from validated ids only, never from a
member's name, and files are created without following symbolic links.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import multiprocessing
import os
import re
import stat
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from crypto import age
from crypto.age.errors import NoIdentityMatchError
from crypto.envelope import report as report_schema
from crypto.envelope.sealing import open_sealed
from crypto.errors import Error
from crypto.staff.ack import format_ack
from crypto.staff.bundle import Entry, read_index, read_sealed
from crypto.staff.listings import render_csv, render_urls
from crypto.staff.overview import render

_JSON_NAME = re.compile(r"([0-9a-f]{32})\.json")
_REPORT_FIELDS = tuple(f.name for f in dataclasses.fields(report_schema.Report))
# Below this many reports, worker processes cost more than they save.
_INLINE_BELOW = 32


class OpenError(Error):
    """The output directory cannot be used or written; no acknowledgement was written."""


@dataclass(frozen=True)
class OpenResult:
    opened: list[str]  # ids of this bundle's reports whose JSON was written
    failures: list[tuple[str, str]]  # (id, reason) of those that could not be opened
    total_in_dir: int  # reports in DIR/reports, this bundle's and earlier ones
    ack_written: bool


# ---------------------------------------------------------------------------------------------
# Files


def _private_dir(path: str) -> None:
    try:
        os.makedirs(path, 0o700, exist_ok=True)
    except FileExistsError:
        pass  # a file or a link stands there; refused below
    except OSError as exc:
        raise OpenError(f"cannot create {path}: {exc.strerror}") from None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise OpenError(f"{path} exists and is not a directory (or is a symbolic link)")


def write_file(directory: str, name: str, data: bytes) -> None:
    """Writes directory/name via a temp file and a rename; never follows a symbolic link."""
    final = os.path.join(directory, name)
    temp = os.path.join(directory, f".{name}.tmp")
    try:
        # O_NOFOLLOW: a planted link at the temp name fails instead of sending plaintext elsewhere;
        # rename then replaces whatever sits at the final name (a link included) rather than its target.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(temp, final)
    except OSError as exc:
        reason = "a symbolic link is in the way" if exc.errno == errno.ELOOP else exc.strerror
        raise OpenError(f"cannot write {final}: {reason}") from None


def _record_json(record: dict[str, Any]) -> bytes:
    # ASCII-only JSON: no control or bidi character reaches a terminal that prints the file.
    return (json.dumps(record, ensure_ascii=True, indent=2) + "\n").encode("ascii")


# ---------------------------------------------------------------------------------------------
# One report (runs in a worker process, or inline for small bundles)


@dataclass
class _Worker:
    identities: Sequence[age.Identity]
    bundle_fd: int
    reports_dir: str


_worker: _Worker | None = None  # per worker process: set by _init before any task arrives


def _init(identities: Sequence[age.Identity], bundle_path: str, reports_dir: str) -> None:
    global _worker
    _worker = _Worker(identities, os.open(bundle_path, os.O_RDONLY | os.O_CLOEXEC), reports_dir)


def _close_inline() -> None:
    global _worker
    if _worker is not None:
        os.close(_worker.bundle_fd)
        _worker = None


def _open_one(entry: Entry) -> tuple[str, dict[str, Any] | None, str]:
    w = _worker
    assert w is not None, "worker not initialised"
    sealed = read_sealed(w.bundle_fd, entry)
    if hashlib.sha256(sealed).hexdigest() != entry.sha256:
        return entry.id, None, "its bytes do not match the manifest's SHA-256 (damaged or tampered)"
    try:
        report = open_sealed(sealed, w.identities)
    except NoIdentityMatchError:
        return entry.id, None, "none of the given identities can open it (sealed to another key)"
    except Error as exc:
        return entry.id, None, f"cannot be opened: {exc}"
    fields = {name: getattr(report, name) for name in _REPORT_FIELDS}
    fields["urls"] = list(report.urls)
    fields["kinds"] = list(report.kinds)
    record = {"id": entry.id, "day": entry.day, "sha256": entry.sha256, "report": fields}
    write_file(w.reports_dir, f"{entry.id}.json", _record_json(record))
    return entry.id, record, ""


# ---------------------------------------------------------------------------------------------
# The whole bundle


def _default_workers() -> int:
    # The cores this process may run on (a container or taskset may allow fewer than exist).
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _run(
    entries: list[Entry],
    identities: Sequence[age.Identity],
    bundle_path: str,
    reports_dir: str,
    workers: int,
    on_progress: Callable[[int], None],
):
    if workers <= 1 or len(entries) < _INLINE_BELOW:
        _init(identities, bundle_path, reports_dir)
        try:
            for entry in entries:
                yield _open_one(entry)
                on_progress(1)
        finally:
            _close_inline()
        return
    # fork: the identities (private keys, not picklable) reach the workers by inheritance,
    # never through a pipe or a file.
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers, initializer=_init, initargs=(identities, bundle_path, reports_dir)) as pool:
        for result in pool.imap_unordered(_open_one, entries, chunksize=64):
            yield result
            on_progress(1)


def _is_report(fields: dict[str, Any]) -> bool:
    # The schema's own strict check, so that a file edited by hand cannot break the overview.
    try:
        report_schema.decode(json.dumps(fields).encode("utf-8"))
    except Error:
        return False
    return True


def _earlier_records(reports_dir: str, skip: set[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Records already in DIR/reports from earlier bundles; names of files that are unreadable."""
    records: list[dict[str, Any]] = []
    unreadable: list[str] = []
    for name in sorted(os.listdir(reports_dir)):
        m = _JSON_NAME.fullmatch(name)
        if m is None or m.group(1) in skip:
            continue
        try:
            with open(os.path.join(reports_dir, name), "rb") as f:
                record = json.loads(f.read(1 << 20))
        except (OSError, ValueError):
            unreadable.append(name)
            continue
        if (
            isinstance(record, dict)
            and record.get("id") == m.group(1)
            and isinstance(record.get("day"), str)
            and isinstance(record.get("sha256"), str)
            and isinstance(record.get("report"), dict)
            and _is_report(record["report"])
        ):
            records.append(record)
        else:
            unreadable.append(name)
    return records, unreadable


def _write_overviews(out_dir: str, records: list[dict[str, Any]]) -> None:
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
            write_file(out_dir, "index.html", render(records).encode("utf-8"))
        except OpenError as exc:
            os.write(write_end, str(exc).encode("utf-8", "replace")[:4000])
            status = 1
        except BaseException:
            traceback.print_exc()
            status = 2
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        write_file(out_dir, "reports.csv", render_csv(records).encode("utf-8"))
        write_file(out_dir, "urls.txt", render_urls(records).encode("utf-8"))
    finally:
        with os.fdopen(read_end, "rb") as pipe:
            message = pipe.read().decode("utf-8", "replace")
        _, wait_status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(wait_status) != 0:
        raise OpenError(message or f"could not write {os.path.join(out_dir, 'index.html')}")


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
    _private_dir(out_dir)
    reports_dir = os.path.join(out_dir, "reports")
    _private_dir(reports_dir)

    on_start(len(entries))
    records: list[dict[str, Any]] = []
    failures: list[tuple[str, str]] = []
    for rid, record, reason in _run(
        entries, identities, bundle_path, reports_dir, workers or _default_workers(), on_progress
    ):
        if record is None:
            failures.append((rid, reason))
        else:
            records.append(record)

    opened = {r["id"] for r in records}
    earlier, unreadable = _earlier_records(reports_dir, opened)
    for name in unreadable:
        on_warning(f"{os.path.join(reports_dir, name)} is not a report file meldpunt wrote; left out of the overview")
    everything = records + earlier
    _write_overviews(out_dir, everything)

    ack_written = False
    if records:
        # Every JSON file must be on disk before the server is told it may delete the reports.
        os.sync()
        write_file(out_dir, "ack", format_ack((r["id"], r["sha256"]) for r in records))
        os.sync()
        ack_written = True
    failures.sort()
    return OpenResult(sorted(opened), failures, len(everything), ack_written)
