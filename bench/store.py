"""Durable adds per second with concurrent writers: group commit against one commit per row.

Run by hand:  .venv/bin/python -m bench.store [--threads 16] [--seconds 3] [--backend sqlite|postgres|both]
              [--pending-rows 100000]

Both modes run side by side in one run, on the same kind of fresh database and the same sealed
size, and write durably (SQLite WAL + synchronous=FULL; PostgreSQL synchronous_commit=on with
fsync on). "group" is Store.add as the server uses it: every thread sends its reports to one
writer process (onion_service/process/writer.py), which commits what arrived together in one
transaction; "per-row" has every thread commit its own row through the same engine (same
pragmas), as a naive Flask+SQLite app would. The issue's
target is end to end over HTTP (>= ~1,200 reports/s at 16 connections); this is the store alone.
A third line, "writer", commits rows in pairs from one thread as the server's writer process
does, and prints the CPU time per row: SQLite's own cost for a durable sealed report.
PostgreSQL runs on a throwaway local server (tests/pg.py), as root under `nobody`.

--pending-rows N also fills a SQLite table with N sealed-size rows (N=100000 is ~1.7 GB on disk)
and reports the peak memory of streaming them all through Store.pending() against their size.
"""

from __future__ import annotations

import argparse
import datetime
import mmap
import os
import resource
import tempfile
import threading
import time

import sqlalchemy as sa

from bench.seal import EMPTY_REPORT
from crypto.age import keys
from crypto.envelope.receipt import new_receipt
from crypto.envelope.report import Report
from crypto.envelope.sealing import seal
from onion_service.process.writer import Writer
from onion_service.store import open_store, reports

DAY = datetime.date(2026, 11, 22)


def sealed_size() -> int:
    """The length of a real sealed report to one post-quantum recipient (every report has it)."""
    report = Report(**{**EMPTY_REPORT, "receipt": new_receipt(), "received_on": DAY.isoformat()})
    return len(seal(report, [keys.generate("pq").recipient()]))


SEALED_BYTES = sealed_size()


def per_row_add(store, sealed: bytes) -> None:
    with store.engine.connect() as conn:
        conn.execution_options(meldpunt_write=True)  # BEGIN IMMEDIATE on SQLite, as the store does
        with conn.begin():
            conn.execute(reports.insert(), {"id": os.urandom(16), "sealed": sealed, "day": DAY, "exported": False})


class CommitCounter:
    """Counts commits on every engine, in this process and in a writer forked after it is listening
    (which inherits the listener): the count lives in memory shared with it."""

    def __init__(self) -> None:
        self._shared = mmap.mmap(-1, 8)

    def __call__(self, conn: sa.Connection) -> None:
        self._shared[:8] = (self.value + 1).to_bytes(8, "little")

    @property
    def value(self) -> int:
        return int.from_bytes(self._shared[:8], "little")


def run(url: str, mode: str, threads: int, seconds: float) -> tuple[float, int, int]:
    commits = CommitCounter()
    writer = None
    if mode == "group":
        open_store(url).close()  # as server.run does: the table exists before the fork
        sa.event.listen(sa.Engine, "commit", commits)
        writer = Writer(url, answer_timeout=30)
        writer.start()  # before the threads, and with no connection open here
        store = open_store(url, writer=writer.client())
    else:
        # Enough connections that per-row threads never wait for the pool, only for the database.
        store = open_store(url, pool_size=threads)
        sa.event.listen(sa.Engine, "commit", commits)
    payloads = [os.urandom(SEALED_BYTES) for _ in range(threads)]
    done = [0] * threads
    stop = threading.Event()
    barrier = threading.Barrier(threads + 1)

    def work(i: int) -> None:
        barrier.wait()
        while not stop.is_set():
            if mode == "group":
                store.add(payloads[i], DAY)
            else:
                per_row_add(store, payloads[i])
            done[i] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    total = sum(done)
    assert store.count() == total, "every acknowledged add must be stored"
    store.close()
    if writer is not None:
        writer.stop()
    sa.event.remove(sa.Engine, "commit", commits)
    return total / elapsed, total, commits.value


def bench(name: str, make_url, threads: int, seconds: float) -> None:
    results = {}
    for mode in ("per-row", "group"):
        rate, total, commits = run(make_url(mode), mode, threads, seconds)
        results[mode] = rate
        print(
            f"{name:10} {mode:8} {rate:9.0f} adds/s  ({total} rows, {commits} commits, "
            f"{total / max(commits, 1):5.1f} rows/commit)",
            flush=True,
        )
    print(f"{name:10} group commit / per-row commit = {results['group'] / results['per-row']:.2f}x\n", flush=True)


def bench_writer_cpu(url: str, seconds: float, per_commit: int = 2) -> None:
    # What the writer process does, alone in a process: commit rows in small synced batches
    # (about 2 per commit under bench/submit.py's load), and the CPU time that costs per row.
    store = open_store(url)
    payload = os.urandom(SEALED_BYTES)
    rows = 0
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        store.insert_rows([(os.urandom(16), payload, DAY, None) for _ in range(per_commit)])
        rows += per_commit
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    store.close()
    print(
        f"{'sqlite':10} writer   {rows / elapsed:9.0f} adds/s  ({per_commit} rows per commit, one thread): "
        f"{used / rows * 1e6:.0f} us of CPU per row\n",
        flush=True,
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def bench_pending(rows: int) -> None:
    with tempfile.TemporaryDirectory(prefix="meldpunt-bench-", dir=os.environ.get("BENCH_DIR")) as tmp:
        store = open_store(f"sqlite:///{tmp}/pending.sqlite3")
        sealed = os.urandom(SEALED_BYTES)
        batch = 256
        start = time.perf_counter()
        for first in range(0, rows, batch):
            with store.engine.begin() as conn:
                conn.execute(
                    reports.insert(),
                    [
                        {"id": os.urandom(16), "sealed": sealed, "day": DAY, "exported": False}
                        for _ in range(min(batch, rows - first))
                    ],
                )
        filled = time.perf_counter() - start
        before = peak_rss_mb()
        start = time.perf_counter()
        seen = total = 0
        for report in store.pending():
            seen += 1
            total += len(report.sealed)
        streamed = time.perf_counter() - start
        after = peak_rss_mb()
        store.close()
    assert seen == rows
    print(
        f"pending()  {rows} rows, {total / 1e6:.0f} MB of sealed reports streamed in {streamed:.1f} s "
        f"(filled in {filled:.1f} s); peak RSS {before:.0f} MB before, {after:.0f} MB after: "
        f"+{after - before:.0f} MB = {(after - before) / (total / 1e6):.3f} of the data size"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--pending-rows", type=int, default=0)
    args = parser.parse_args()
    if args.pending_rows:
        bench_pending(args.pending_rows)

    print(f"{args.threads} threads, {args.seconds:g} s per mode, {SEALED_BYTES}-byte sealed reports\n")

    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="meldpunt-bench-", dir=os.environ.get("BENCH_DIR")) as tmp:
            print(f"SQLite in {tmp}")
            bench("sqlite", lambda mode: f"sqlite:///{tmp}/{mode}.sqlite3", args.threads, args.seconds)
            bench_writer_cpu(f"sqlite:///{tmp}/writer.sqlite3", args.seconds)

    if args.backend in ("postgres", "both"):
        from tests.pg import PostgresServer  # the tests' throwaway server

        server = PostgresServer.create()
        try:
            bench("postgresql", lambda mode: server.isolated_url(mode.replace("-", "_")), args.threads, args.seconds)
        finally:
            server.destroy()


if __name__ == "__main__":
    main()
