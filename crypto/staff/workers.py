"""Opening the sealed reports of a bundle and writing one record for each, on every core.

Each worker process holds the bundle open and the identities in memory; it reads one member,
checks its hash against the manifest, opens it (crypto/envelope/sealing.py) and writes its
record (crypto/staff/folder.py), or, with no reports_dir (the case file, crypto/case/), hands the
record back to the parent alone, which stores it. A report that fails is answered with its
reason, and the rest go on. Small bundles are opened in this process instead.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from crypto import age
from crypto.age.errors import NoIdentityMatchError
from crypto.envelope.sealing import open_sealed
from crypto.errors import Error
from crypto.periods.keyring import explain_unopened
from crypto.staff import folder
from crypto.staff.bundle import Entry, read_sealed
from crypto.staff.record import Record

# Below this many reports, worker processes cost more than they save.
_INLINE_BELOW = 32


def open_reports(
    entries: list[Entry],
    identities: Sequence[age.Identity],
    bundle_path: str,
    reports_dir: str | None,
    workers: int | None,
    on_progress: Callable[[int], None],
) -> tuple[list[Record], list[tuple[str, str]]]:
    """Opens each entry's sealed report and writes its record into reports_dir (unless it is None).
    Returns the records, and (id, reason) for each report that could not be opened; the others go on."""
    workers = workers or _default_workers()
    records: list[Record] = []
    failures: list[tuple[str, str]] = []
    for rid, record, reason in _run(entries, identities, bundle_path, reports_dir, workers, on_progress):
        if record is None:
            failures.append((rid, reason))
        else:
            records.append(record)
    return records, failures


@dataclass
class _Worker:
    identities: Sequence[age.Identity]
    bundle_fd: int
    reports_dir: str | None


_worker: _Worker | None = None  # per worker process: set by _init before any task arrives


def _init(identities: Sequence[age.Identity], bundle_path: str, reports_dir: str | None) -> None:
    global _worker
    _worker = _Worker(identities, os.open(bundle_path, os.O_RDONLY | os.O_CLOEXEC), reports_dir)


def _close_inline() -> None:
    global _worker
    if _worker is not None:
        os.close(_worker.bundle_fd)
        _worker = None


def _open_one(entry: Entry) -> tuple[str, Record | None, str]:
    w = _worker
    assert w is not None, "worker not initialised"
    sealed = read_sealed(w.bundle_fd, entry)
    if hashlib.sha256(sealed).hexdigest() != entry.sha256:
        return entry.id, None, "its bytes do not match the manifest's SHA-256 (damaged or tampered)"
    try:
        report = open_sealed(sealed, w.identities)
    except NoIdentityMatchError:
        retired = explain_unopened(list(w.identities), entry.day)
        return entry.id, None, retired or "none of the given identities can open it (sealed to another key)"
    except Error as exc:
        return entry.id, None, f"cannot be opened: {exc}"
    record = Record(entry.id, entry.day, entry.sha256, report)
    if w.reports_dir is not None:
        folder.write_record(w.reports_dir, record)
    return entry.id, record, ""


def _default_workers() -> int:
    # The cores this process may run on (a container or taskset may allow fewer than exist).
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _run(
    entries: list[Entry],
    identities: Sequence[age.Identity],
    bundle_path: str,
    reports_dir: str | None,
    workers: int,
    on_progress: Callable[[int], None],
) -> Iterator[tuple[str, Record | None, str]]:
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
