#!/usr/bin/env python3
"""Two builds of the server side by side: which one stores more reports per second?

Run by hand from the repository root (loopback only, bounded in time):

    git worktree add /tmp/before <commit>
    .venv/bin/python -m bench.compare /tmp/before . [--rounds 8] [--seconds 3]

Why: on a shared 2-core machine the rates of one bench/submit.py run move by 30 % or more from
one minute to the next, more than most changes do. Here both servers (the same configuration,
the same staff key) run at once, idle but for the phase being measured, and the phases
alternate A, B, B, A, ... so that a change in the machine's speed weighs on both alike. Each
tree's own `onion_service` is what runs; the load generator is bench/submit.py's. Two runs of
the same tree differed by up to 5 % in reports/s (8 rounds of 2 s).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench import floor, submit  # the CPU read from /proc; the load generator and the server runner
from tests.formkit import report_body


def launcher(tree: Path) -> tuple[str, ...]:
    """What follows the interpreter to start `tree`'s web server on --config C --bind B: the
    public module today, the hidden options of `serve` or the server module in older trees."""
    if (tree / "onion_service/process/__main__.py").exists():
        return ("-m", "onion_service.process")
    if (tree / "crypto/cli/server_commands.py").exists():
        return ("-m", "crypto.cli", "serve", "--local-only")
    if (tree / "onion_service/server.py").exists():  # before the layout step (ca4480f)
        return ("-m", "onion_service.server")
    raise SystemExit(f"{tree}: no known launcher for its web server")


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
                submit.write_config(
                    root / "bench.toml", root / "data", recipient, workers=2, threads=16, **submit.BENCH_LIMITS
                )
                # The web server runs from that tree (its own onion_service), with its own launcher.
                servers.append(
                    submit.Server(
                        root / "bench.toml", root / "logs", root=tree.resolve(), command=launcher(tree.resolve())
                    ).start()
                )
            # A form fetched for every report: tokens are spent once in newer builds, and an older
            # build's tokens cannot be minted here. Both builds pay for the same GET.
            phases = []
            for s in servers:

                def body(port: int = s.port) -> bytes:
                    return report_body(submit.get_token(port), **submit.REPORT)

                phases.append(
                    {
                        "reports": (s, "POST", "/en/", body, args.seconds),
                        "trivial": (s, "GET", "/static/style.css", None, args.seconds / 2),
                    }
                )
            for tree_phases in phases:  # warm-up
                for server, method, path, body, _ in tree_phases.values():
                    submit.load(server.port, args.connections, method, path, body, seconds=1)
            totals = [{name: [0, 0.0, 0.0] for name in p} for p in phases]  # ok, seconds, server CPU
            for r in range(args.rounds):
                for i in (0, 1) if r % 2 == 0 else (1, 0):
                    for name, (server, method, path, body, seconds) in phases[i].items():
                        pids = server.workers()
                        before = sum(floor.cpu_seconds(pids).values())
                        ok, _, elapsed = submit.load(server.port, args.connections, method, path, body, seconds=seconds)
                        totals[i][name][0] += ok
                        totals[i][name][1] += elapsed
                        totals[i][name][2] += sum(floor.cpu_seconds(pids).values()) - before
        finally:
            for server in servers:
                server.stop()
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rates = [{name: ok / seconds for name, (ok, seconds, _) in t.items()} for t in totals]
    # The server's CPU per request (workers and writer, from /proc) moves far less with the
    # machine's load than the rates do: the better figure on a busy machine.
    cpu = [{name: cpu_s / ok * 1e6 for name, (ok, _, cpu_s) in t.items()} for t in totals]
    for label, tree, rate, us in zip("AB", args.trees, rates, cpu, strict=True):
        print(
            f"{label} {str(tree):30s} stored reports {rate['reports']:6.0f}/s ({us['reports']:5.0f} us CPU each)  "
            f"trivial route {rate['trivial']:6.0f}/s ({us['trivial']:4.0f} us CPU each)"
        )
    for name in ("reports", "trivial"):
        print(
            f"B/A {name}: rate {rates[1][name] / rates[0][name]:.2f}, server CPU per request "
            f"{cpu[1][name] / cpu[0][name]:.2f}"
        )


if __name__ == "__main__":
    main()
