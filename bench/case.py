"""Benchmark (by hand): the case file (`meldpunt case`) at the sizes the issue names.

    .venv/bin/python -m bench.case                      # 100,000 reports; 1,000,000 addresses
    .venv/bin/python -m bench.case --reports 20000 --addresses 200000 --with-open

1. Builds, in a temporary directory, a bundle of post-quantum-sealed reports as `meldpunt export`
   writes it (bench/open.py's builder: two addresses a report, one of them shared by many), then
   times the real command `meldpunt case import --case DIR -i KEY BUNDLE` (target: 100,000 reports
   in at most 90 s on 2 cores). With --with-open it also times `meldpunt open` on the same bundle,
   the same way, so that the ratio says what the case file adds to opening.
2. Fills a second case file with --addresses addresses (written straight into its tables, with
   counts, days, flags and statuses spread as a busy hotline's would be) and times, each on a fresh
   connection and then warm, the triage queue's first page (`new`, and every status) and the
   look-up of one address by a URL in another spelling (target: each at most 50 ms).
Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import open as bench_open  # the bundle builder (its sealers are pickled by name)
from bench.workdir import workdir
from crypto.age import keys
from crypto.case import queue
from crypto.case.normalise import address_key
from crypto.case.schema import STATUSES, open_case

ROOT = Path(__file__).resolve().parent.parent

# This checkout's command line (run from ROOT, so its own code), whichever venv runs the bench.
MELDPUNT = (sys.executable, "-m", "meldpunt.cli")


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - started


def fill_addresses(case_dir: Path, count: int) -> str:
    """Writes `count` addresses into a new case file; returns a spelling of one of them to look up."""
    conn = open_case(str(case_dir), create=True)
    rng = random.Random(7)
    first = datetime.date(2026, 1, 1)
    rows = []
    for i in range(count):
        url = f"https://host{i % 40_000}.example.test/gallery/{i:07d}?page={i % 13}"
        day = first + datetime.timedelta(days=rng.randrange(320))
        reports = 1 + int(rng.paretovariate(1.5)) % 200
        status = STATUSES[0] if rng.random() < 0.6 else rng.choice(STATUSES[1:])
        danger = 1 if rng.random() < 0.002 else 0
        # A decided address re-reported now and then; half the danger ones not looked at yet.
        fresh = 1 + rng.randrange(5) if status != "new" and rng.random() < 0.01 else 0
        rows.append(
            (
                address_key(url),
                url,
                reports,
                day.isoformat(),
                (day + datetime.timedelta(days=rng.randrange(30))).isoformat(),
                danger,
                status,
                None if status == "new" else day.isoformat(),
                fresh,
                danger if rng.random() < 0.5 else 0,
            )
        )
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO addresses (key, url, reports, first_day, last_day, danger, status, status_day,"
        " fresh, unseen_danger) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    wanted = rows[count // 2][1]
    return wanted.replace("https://", "HTTPS://").replace(".test/", ".test.:443/") + "&utm_source=bench"


def measure(case_dir: Path, what, runs: int = 20) -> tuple[float, float]:
    """(median ms on a fresh connection, median ms warm)."""
    cold, warm = [], []
    for _ in range(runs):
        conn = open_case(str(case_dir))
        started = time.perf_counter()
        what(conn)
        cold.append((time.perf_counter() - started) * 1e3)
        started = time.perf_counter()
        what(conn)
        warm.append((time.perf_counter() - started) * 1e3)
        conn.close()
    return statistics.median(cold), statistics.median(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--with-open", action="store_true", help="also time `meldpunt open` on the bundle")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    with workdir("case", args.keep) as work:
        if args.reports:
            identity = keys.generate("pq")
            key = work / "staff.key"
            key.write_text(keys.identity_file_text(identity))
            bundle = work / "bundle.tar"
            sealing = bench_open.build_bundle(bundle, args.reports, identity.recipient())
            os.sync()
            print(
                f"built a bundle of {args.reports} post-quantum-sealed reports in {sealing:.1f} s "
                f"(load average {os.getloadavg()[0]:.1f})"
            )
            imported = timed(
                [
                    *MELDPUNT,
                    "case",
                    "import",
                    "--case",
                    str(work / "case"),
                    "--analyst",
                    "bench",
                    "-i",
                    str(key),
                    str(bundle),
                ]
            )
            conn = open_case(str(work / "case"))
            n_reports, n_addresses = (
                conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("reports", "addresses")
            )
            conn.close()
            if n_reports != args.reports:
                raise SystemExit(f"the case file holds {n_reports} reports, expected {args.reports}")
            print(
                f"meldpunt case import: {imported:.1f} s for {args.reports} reports ({n_addresses} addresses), "
                f"{os.cpu_count()} cores; scaled to 100,000: {imported * 100_000 / args.reports:.0f} s (target 90 s)"
            )
            if args.with_open:
                opened = timed([*MELDPUNT, "open", str(bundle), "-i", str(key), "--out", str(work / "out")])
                print(f"meldpunt open, same bundle: {opened:.1f} s; case import / open = {imported / opened:.2f}")
        if args.addresses:
            started = time.perf_counter()
            spelled = fill_addresses(work / "big", args.addresses)
            print(f"filled a case file with {args.addresses} addresses in {time.perf_counter() - started:.0f} s")
            for label, what in [
                ("queue, first page (triage)", lambda c: queue.triage(c, queue.Filters())),
                ("queue, first page (new)", lambda c: queue.triage(c, queue.Filters(status="new"))),
                ("queue, first page (re-reported)", lambda c: queue.triage(c, queue.Filters(status="re-reported"))),
                ("queue, page 200 (triage)", lambda c: queue.triage(c, queue.Filters(), offset=10_000)),
                ("queue, first page (every status)", lambda c: queue.triage(c, queue.Filters(status=None))),
                ("look-up of one address by URL", lambda c: queue.find_address(c, spelled)),
            ]:
                cold, warm = measure(work / "big", what)
                print(f"{label}: {cold:.2f} ms on a fresh connection, {warm:.2f} ms warm (median of 20; target 50 ms)")


if __name__ == "__main__":
    main()
