"""Benchmark (by hand): `meldpunt case stats` on a case file of the size the issue names.

    .venv/bin/python -m bench.stats                          # 1,000,000 addresses, 500,000 reports
    .venv/bin/python -m bench.stats --addresses 100000 --reports 50000

Fills a case file straight into its tables (as bench/case.py does): reports over two years with
languages, places, kinds, channels and campaigns spread at random, each naming the addresses first
reported that day and, one time in three, one reported before; assessments for most addresses and
an audit entry for each assessment and status move, as a busy hotline's case file would hold them.
Then times, a first run and a second (warm) one, the whole statistics of one year (by month and by
day, against the year before and with a campaign; with the aggregates in threads as `case stats`
runs them, and in one thread), the same written out as CSV and stats.html with matplotlib's charts
and without, the command itself in a new process (its imports included, matplotlib's among them)
with charts and with matplotlib hidden, and, beside them, the triage queue's first page on the same
file (target: the statistics within 5 s). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.workdir import workdir
from crypto.case import queue
from crypto.case.decisions import AGE_GROUPS, VERDICTS
from crypto.case.schema import STATUSES, open_case
from crypto.case.stats import WORKERS, compute
from crypto.case.stats_output import write_report
from crypto.case.stats_periods import Campaign, Period
from crypto.envelope.report import FOUND_ON, KINDS

LANGUAGES = ("nl", "fr", "de", "en")  # any tags would do: the report keeps a tag, not a list

FIRST = datetime.date(2025, 1, 1)
DAYS = 730
COUNTRIES = ("NL", "US", "DE", "RU", "FR", "BG", "")
CAMPAIGN_DAY = datetime.date(2026, 3, 16)
YEAR = Period(datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
# `meldpunt case stats` as the offline machine without the `stats` extra runs it: no matplotlib.
NO_MATPLOTLIB = "import sys; sys.modules['matplotlib'] = None; from meldpunt.cli import main; sys.exit(main())"


def fill(case_dir: Path, n_addresses: int, n_reports: int) -> None:
    conn = open_case(str(case_dir), create=True)
    rng = random.Random(26)
    days = [(FIRST + datetime.timedelta(days=d)).isoformat() for d in range(DAYS)]
    conn.execute("PRAGMA synchronous = OFF")  # a bench's throw-away file
    conn.execute("BEGIN")
    # Reports in order of their day; each names new addresses (first reported that day) and, one
    # time in three, an address reported before (which moves its last day).
    per_report = max(1, n_addresses // n_reports)
    report_days = sorted(rng.randrange(DAYS) for _ in range(n_reports))
    first_day: list[int] = []
    last_day: list[int] = []
    reports, mentions = [], []
    for r, day in enumerate(report_days):
        rid = f"{r:032x}"
        named = []
        for _ in range(per_report):
            if len(first_day) < n_addresses:
                first_day.append(day)
                last_day.append(day)
                named.append(len(first_day))
        if first_day and (rng.random() < 1 / 3 or not named):
            again = 1 + rng.randrange(len(first_day))
            last_day[again - 1] = max(last_day[again - 1], day)
            named.append(again)
        kinds = ";".join(k for k in KINDS if rng.random() < 0.3) or "images"
        reports.append(
            (
                rid,
                "0" * 64,
                days[day],
                "R",
                0,
                rng.choice(FOUND_ON),
                kinds,
                rng.choice(LANGUAGES),
                "{}",
                1,
                rng.choice(("onion", "https", "")),
                "extension" if rng.random() < 0.1 else "",
                "lockdown" if days[day] >= CAMPAIGN_DAY.isoformat() and rng.random() < 0.05 else "",
            )
        )
        mentions += [(aid, rid, "") for aid in dict.fromkeys(named)]
    conn.executemany(
        "INSERT INTO reports (id, sha256, day, receipt, child_in_danger, found_on, kinds, language,"
        " fields, audit_seq, channel, via, campaign)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        reports,
    )
    conn.executemany("INSERT INTO mentions (address, report, original) VALUES (?, ?, ?)", mentions)
    del reports, mentions
    addresses, assessments, audit = [], [], []
    seq = 0
    for i, (d, last) in enumerate(zip(first_day, last_day, strict=True), start=1):
        status = STATUSES[0] if rng.random() < 0.3 else rng.choice(STATUSES[1:])
        moved = None if status == "new" else days[min(DAYS - 1, d + int(rng.expovariate(0.1)))]
        addresses.append(
            (i, f"k{i}", f"https://host{i % 40_000}.example.test/{i:07d}", 1, days[d], days[last], 0, status, moved)
        )
        if status != "new":
            verdict = rng.choice(tuple(VERDICTS))
            assessments.append((i, verdict, rng.choice(AGE_GROUPS), rng.choice(COUNTRIES), "host", "", "A", days[d]))
            seq += 1
            audit.append(
                (
                    seq,
                    i,
                    json.dumps(
                        {
                            "seq": seq,
                            "day": days[d],
                            "analyst": "A",
                            "action": "assess",
                            "address": i,
                            "data": {"verdict": verdict, "status": "assessed"},
                        }
                    ),
                    "0",
                )
            )
            if status != "assessed":
                seq += 1
                audit.append(
                    (
                        seq,
                        i,
                        json.dumps(
                            {
                                "seq": seq,
                                "day": moved,
                                "analyst": "A",
                                "action": "status",
                                "address": i,
                                "data": {"status": status},
                            }
                        ),
                        "0",
                    )
                )
    conn.executemany(
        "INSERT INTO addresses (id, key, url, reports, first_day, last_day, danger, status, status_day)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        addresses,
    )
    conn.executemany(
        "INSERT INTO assessments (address, verdict, age_group, country, provider, note, analyst, day)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        assessments,
    )
    conn.executemany("INSERT INTO audit (seq, address, entry, hash) VALUES (?, ?, ?, ?)", audit)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def measure(case_dir: Path, what, runs: int) -> tuple[float, float, float]:
    """(median seconds of a first run, of a second (warm) run, and CPU seconds of the warm run in
    all threads and child processes). The CPU time is what the run would take on one idle core: the
    shared machine's load moves the wall-clock time by several times."""
    cold, warm, cpu = [], [], []
    for _ in range(runs):
        conn = open_case(str(case_dir))
        for out in (cold, warm):
            started, used = time.perf_counter(), _cpu()
            what(conn)
            out.append(time.perf_counter() - started)
        cpu.append(_cpu() - used)
        conn.close()
    return statistics.median(cold), statistics.median(warm), statistics.median(cpu)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def stats_of(case_dir: Path, by: str, workers: int):
    campaigns = [Campaign(CAMPAIGN_DAY, "lockdown")]
    # As `meldpunt case stats` runs it: each aggregate on a connection of its own.
    return lambda _conn: compute(lambda: open_case(str(case_dir)), YEAR, by, campaigns=campaigns, workers=workers)


def written(case_dir: Path, out: Path, by: str, charts: bool):
    """The statistics computed and written as CSV files and stats.html, with matplotlib's charts or none."""

    def run(conn) -> None:
        write_report(str(out), stats_of(case_dir, by, WORKERS)(conn), force=True, charts=charts)

    return run


def command(case_dir: Path, out: Path, charts: bool):
    """`meldpunt case stats` in a process of its own, as staff run it, imports and all."""
    start = ["-m", "meldpunt.cli"] if charts else ["-c", NO_MATPLOTLIB]
    args = [
        sys.executable,
        *start,
        "case",
        "stats",
        "--case",
        str(case_dir),
        "--from",
        YEAR.bounds[0],
        "--to",
        YEAR.bounds[1],
        "--out",
        str(out),
        "--force",
    ]
    return lambda _conn: subprocess.run(args, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--reports", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--case", type=Path, help="time a case file a --keep run left, instead of filling one")
    parser.add_argument("--only", default="", help="time only what is named with these words (e.g. 'the command')")
    args = parser.parse_args()
    with workdir("stats", args.keep) as work:
        case = args.case or work / "case"
        if not args.case:
            started = time.perf_counter()
            fill(case, args.addresses, args.reports)
            print(
                f"filled a case file with {args.addresses} addresses and {args.reports} reports in "
                f"{time.perf_counter() - started:.0f} s ({os.path.getsize(case / 'case.sqlite3') >> 20} MiB, "
                f"load average {os.getloadavg()[0]:.1f})"
            )
        for label, what in [
            (f"case stats, a year by month ({WORKERS} threads)", stats_of(case, "month", WORKERS)),
            (f"case stats, a year by day ({WORKERS} threads)", stats_of(case, "day", WORKERS)),
            ("case stats, a year by month (1 thread)", stats_of(case, "month", 1)),
            ("case stats, a year by month, written with charts", written(case, work / "out", "month", True)),
            ("case stats, a year by day, written with charts", written(case, work / "out", "day", True)),
            ("case stats, a year by month, written without charts", written(case, work / "out", "month", False)),
            ("the command, a new process, with charts", command(case, work / "out", True)),
            ("the command, a new process, matplotlib hidden", command(case, work / "out", False)),
            ("queue, first page (new)", lambda c: queue.triage(c, queue.Filters())),
        ]:
            if args.only not in label:
                continue
            cold, warm, cpu = measure(case, what, args.runs)
            print(
                f"{label}: {cold * 1e3:.0f} ms first, {warm * 1e3:.0f} ms warm, "
                f"{cpu * 1e3:.0f} ms CPU warm (median of {args.runs}; load average {os.getloadavg()[0]:.1f}; "
                "stats target 5 s)"
            )


if __name__ == "__main__":
    main()
