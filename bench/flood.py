#!/usr/bin/env python3
"""Real reports accepted per second and the form page's p99, without and then with a flood.

Run by hand from the repository root (loopback only, bounded in time and count):

    .venv/bin/python -m bench.flood [--seconds 15] [--flood junk|valid] [--budget N]
                                    [--flood-procs 2] [--flood-threads 16] [--reporters 4] [--pause 0]

It starts `meldpunt serve --local-only` (gunicorn with the
production [web] defaults: 2 workers x 16 threads) on a free loopback port with a throw-away data
directory, then runs the same real load twice, side by side in one run:

  real reporters: --reporters threads, each fetching the form (timed: the p99) and posting a
  report with the form's token, one after another;
  flood: --flood-procs processes x --flood-threads threads posting as fast as they can, either
  `junk` (no, forged, too-fast or stale tokens, honeypot filled: refused at validation) or
  `valid` (well-formed reports, each with a valid token of its own: refused by the budget once it
  is spent).

With --flood junk the budget is set high by default, so the figures show what the flood costs in
capacity. With --flood valid use the configured budget (e.g. --budget 60): accepted reports stay
at the budget, and real reporters get the share of it their traffic has.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from tests.faults.faultkit import percentile, post_report, receipt_of, request
from tests.formkit import issuer, report_body, token
from tests.harness import Server, new_staff, write_config


def flood_process(port: int, bodies, seconds: float, threads: int, out) -> None:
    statuses: Counter = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(n: int) -> None:
        i = n
        while time.monotonic() < deadline:
            try:
                status = request(port, "POST", "/nl/", bodies(i), timeout=30).status
            except OSError:
                status = "error"
            with lock:
                statuses[status] += 1
            i += threads

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put(dict(statuses))


def flood_bodies(kind: str, data_dir: Path):
    """The flood's i-th body. `valid`: a well-formed report with a token of its own, as a flooder
    fetching a form for each post would have (a replayed token is refused as spent at once, and
    would never reach the budget)."""
    good = token(data_dir, "nl")
    if kind == "valid":
        tokens = issuer(data_dir)
        return lambda i: report_body(tokens.issue("nl"), description=f"flood-{i}")
    junk = [
        report_body("", description="junk"),
        report_body(good[:-4] + "AAAA", description="junk"),
        report_body(token(data_dir, "nl", age_seconds=-600), description="junk"),
        report_body(token(data_dir, "nl", age_seconds=7 * 3600), description="junk"),
        report_body(good, homepage="http://spam.example", description="junk"),
    ]
    return lambda i: junk[i % len(junk)]


def real_load(port: int, data_dir: Path, reporters: int, seconds: float, pause: float) -> dict[str, object]:
    accepted, refused, other = [0], Counter(), [0]
    form_times: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(n: int) -> None:
        i = 0
        while time.monotonic() < deadline:
            try:
                form = request(port, "GET", "/nl/", timeout=30)
                tok = token(data_dir, "nl")  # as if the form had been open long enough
                reply = post_report(port, "nl", f"real-{n}-{i}", tok, timeout=30)
            except OSError:
                with lock:
                    other[0] += 1
                continue
            i += 1
            with lock:
                form_times.append(form.seconds)
                if receipt_of(reply):
                    accepted[0] += 1
                elif reply.status == 503 and reply.headers.get("retry-after"):
                    refused[503] += 1
                else:
                    other[0] += 1
            time.sleep(pause)

    pool = [threading.Thread(target=run, args=(n,)) for n in range(reporters)]
    started = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    return {
        "accepted_per_s": accepted[0] / elapsed,
        "accepted": accepted[0],
        "refused_503": refused[503],
        "other": other[0],
        "form_p50_ms": percentile(form_times, 50) * 1000,
        "form_p99_ms": percentile(form_times, 99) * 1000,
        "forms": len(form_times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each run (at most 120)")
    parser.add_argument("--flood", choices=("junk", "valid"), default="junk")
    parser.add_argument(
        "--budget", type=int, default=None, help="reports_per_minute (default: 100000 for junk, 60 for valid)"
    )
    parser.add_argument("--flood-procs", type=int, default=2)
    parser.add_argument("--flood-threads", type=int, default=16)
    parser.add_argument("--reporters", type=int, default=4)
    parser.add_argument(
        "--pause",
        type=float,
        default=0.0,
        help="seconds each real reporter waits between reports (e.g. to stay under the budget)",
    )
    args = parser.parse_args()
    seconds = min(args.seconds, 120.0)
    budget = args.budget or (100_000 if args.flood == "junk" else 60)
    staff = new_staff()
    with tempfile.TemporaryDirectory(prefix="meldpunt-flood-") as tmp:
        base = Path(tmp)
        config = write_config(
            base / "meldpunt.toml",
            base / "data",
            staff.recipient,
            reports_per_minute=budget,
            form_max_hours=1,
            workers=2,
            threads=16,
        )
        server = Server(config, base / "logs")
        try:
            server.start()
            for _ in range(50):
                request(server.port, "GET", "/nl/")
            quiet = real_load(server.port, base / "data", args.reporters, seconds, args.pause)
            if args.flood == "valid":  # a fresh budget window for the flooded run
                time.sleep(60 - time.monotonic() % 60 + 0.5)
            ctx = multiprocessing.get_context("fork")
            out = ctx.Queue()
            bodies = flood_bodies(args.flood, base / "data")
            procs = [
                ctx.Process(target=flood_process, args=(server.port, bodies, seconds, args.flood_threads, out))
                for _ in range(args.flood_procs)
            ]
            for p in procs:
                p.start()
            flooded = real_load(server.port, base / "data", args.reporters, seconds, args.pause)
            statuses: Counter = Counter()
            for _ in procs:
                statuses.update(out.get(timeout=seconds + 60))
            for p in procs:
                p.join(30)
        finally:
            server.stop()
    flood_total = sum(statuses.values())
    print(
        f"meldpunt flood bench: {args.flood} flood, budget {budget}/min, {args.reporters} real reporters "
        f"(pause {args.pause:g} s), "
        f"{seconds:.0f} s per run, flood {args.flood_procs}x{args.flood_threads} connections"
    )
    budget_in_run = budget * seconds / 60
    print(
        f"flood: {flood_total / seconds:.0f} requests/s, {flood_total / budget_in_run:.1f}x the budget for "
        f"the run's {seconds:.0f} s, statuses {dict(statuses)}"
    )
    print(f"{'':28}{'no flood':>12}{'flood':>12}{'ratio':>8}")
    for key, label in (
        ("accepted_per_s", "real reports accepted/s"),
        ("refused_503", "real reports refused 503"),
        ("form_p50_ms", "form page p50 (ms)"),
        ("form_p99_ms", "form page p99 (ms)"),
    ):
        a, b = quiet[key], flooded[key]
        ratio = f"{b / a:.2f}" if a else "-"
        print(f"{label:28}{a:>12.1f}{b:>12.1f}{ratio:>8}")
    if quiet["other"] or flooded["other"]:
        print(f"unexpected answers: {quiet['other']} without flood, {flooded['other']} with")


if __name__ == "__main__":
    main()
