#!/usr/bin/env python3
"""Two builds of the server side by side: which one stores more reports per second?

Run by hand from the repository root (loopback only, bounded in time):

    git worktree add /tmp/before <commit>
    .venv/bin/python bench/compare.py /tmp/before . [--rounds 8] [--seconds 3]

Why: on a shared 2-core machine the rates of one bench/submit.py run move by 30 % or more from
one minute to the next, more than most changes do. Here both servers (the same configuration,
the same staff key) run at once, idle but for the phase being measured, and the phases
alternate A, B, B, A, ... so that a change in the machine's speed weighs on both alike. Each
tree's own `onion_service` is what runs; the load generator is bench/submit.py's. Two runs of
the same tree differed by up to 5 % in reports/s (8 rounds of 2 s).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import submit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs=2, type=Path, help="two checkouts: A (before) and B (after)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0, help="reports phase per round (trivial: half)")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="meldpunt-compare-") as tmp:
        recipient = submit.new_staff().recipient
        servers = []
        try:
            for i, tree in enumerate(args.trees):
                root = Path(tmp) / f"server-{i}"
                root.mkdir()
                submit.write_config(root / "bench.toml", root / "data", recipient, workers=2, threads=16,
                                    **submit.BENCH_LIMITS)
                # `meldpunt serve --local-only` runs from that tree (its own onion_service).
                servers.append(submit.Server(root / "bench.toml", root / "logs", root=tree.resolve()).start())
            # A form fetched for every report: tokens are spent once in newer builds, and an older
            # build's tokens cannot be minted here. Both builds pay for the same GET.
            bodies = [lambda port=s.port: submit.report_body(submit.get_token(port)) for s in servers]
            for server, body in zip(servers, bodies, strict=True):  # warm-up
                submit.load(server.port, args.connections, "POST", "/en/", body, seconds=1.5)
                submit.load(server.port, args.connections, "GET", "/static/style.css", None, seconds=1)
            totals = [[0, 0.0, 0, 0.0] for _ in servers]
            for r in range(args.rounds):
                for i in (0, 1) if r % 2 == 0 else (1, 0):
                    ok, _, elapsed = submit.load(servers[i].port, args.connections, "POST", "/en/", bodies[i],
                                                 seconds=args.seconds)
                    totals[i][0] += ok
                    totals[i][1] += elapsed
                    ok, _, elapsed = submit.load(servers[i].port, args.connections, "GET", "/static/style.css",
                                                 None, seconds=args.seconds / 2)
                    totals[i][2] += ok
                    totals[i][3] += elapsed
        finally:
            for server in servers:
                server.stop()
    rates = [(t[0] / t[1], t[2] / t[3]) for t in totals]
    for label, tree, (reports, trivial) in zip("AB", args.trees, rates, strict=True):
        print(f"{label} {str(tree):30s} stored reports {reports:7.0f}/s  trivial route {trivial:7.0f}/s  "
              f"ratio {reports / trivial:.2f}")
    print(f"B/A stored reports per second: {rates[1][0] / rates[0][0]:.2f}")


if __name__ == "__main__":
    main()
