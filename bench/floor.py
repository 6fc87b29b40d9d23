#!/usr/bin/env python3
"""Where each report's CPU goes, and how many reports/s a store that costs nothing would allow.

Run by hand from the repository root (loopback only, bounded in time):

    .venv/bin/python -m bench.floor [--rounds 6] [--seconds 4]

Why: issue 3 asks for stored reports at 40 % or more of the trivial route's rate, on a 2-core
machine that also runs the load generator. This bench puts a number on what stands between the
two. It starts two servers from this tree, alike but for one thing:

- "durable": the server as it runs (every report committed and synced by the writer process);
- "free store": the same server, with `Store.add` replaced in the bench's own launcher by a
  function that stores nothing and returns a random id at once: the ceiling that no store,
  however fast, can pass. Nothing in onion_service/ knows about it.

The phases alternate (durable, free, trivial, then the other order) so that a change in the
machine's speed weighs on all alike. For each it prints the rate and the CPU time per request of
the workers, the writer and the load generator, read from /proc and getrusage: 2 cores divided
by their sum is the rate the machine allows with nothing idle.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path

from bench import submit  # the load generator and the server runner

_TICKS = os.sysconf("SC_CLK_TCK")


def serve_with_free_store() -> None:
    """The launcher for the "free store" server: `python -m bench.floor --serve-free-store ...`."""
    import secrets

    from onion_service import store
    from onion_service.process.__main__ import main as web_server

    def add(self, *args: object, **kwargs: object) -> bytes:
        # Whatever the view passes (the sealed bytes, the day, the purge digest...), nothing is kept.
        return secrets.token_bytes(store.ID_BYTES)

    store.Store.add = add  # inherited by the workers, which gunicorn forks from this process
    sys.exit(web_server(sys.argv[2:]))


def cpu_seconds(pids: list[int]) -> dict[str, float]:
    """User + system CPU seconds so far, summed per process name (workers share one)."""
    out: dict[str, float] = {}
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        name = Path(f"/proc/{pid}/comm").read_text().strip()
        name = "writer" if name == "meldpunt-writer" else "workers"
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / _TICKS
    return out


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=4.0, help="each phase, per round")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="meldpunt-floor-") as tmp:
        recipient = submit.new_staff().recipient
        servers: dict[str, submit.Server] = {}
        try:
            for name, command in (
                ("durable", ("-m", "onion_service.process")),
                ("free store", ("-m", "bench.floor", "--serve-free-store")),
            ):
                root = Path(tmp) / name.replace(" ", "-")
                root.mkdir()
                submit.write_config(
                    root / "bench.toml", root / "data", recipient, workers=2, threads=16, **submit.BENCH_LIMITS
                )
                servers[name] = submit.Server(root / "bench.toml", root / "logs", command=command).start()
            bodies = {name: submit.fresh_bodies(Path(tmp) / name.replace(" ", "-") / "data") for name in servers}
            phases = {
                "durable": (servers["durable"], "POST", "/en/", bodies["durable"]),
                "free store": (servers["free store"], "POST", "/en/", bodies["free store"]),
                "trivial route": (servers["durable"], "GET", "/static/style.css", None),
            }
            for server, method, path, body in phases.values():  # warm-up
                submit.load(server.port, args.connections, method, path, body, seconds=1.5)
            totals = {name: {"ok": 0, "seconds": 0.0, "loadgen": 0.0} for name in phases}
            order = list(phases)
            for r in range(args.rounds):
                for name in order if r % 2 == 0 else order[::-1]:
                    server, method, path, body = phases[name]
                    pids = server.workers()
                    before, own = cpu_seconds(pids), own_cpu()
                    ok, _, elapsed = submit.load(
                        server.port, args.connections, method, path, body, seconds=args.seconds
                    )
                    after = cpu_seconds(pids)
                    t = totals[name]
                    t["ok"] += ok
                    t["seconds"] += elapsed
                    t["loadgen"] += own_cpu() - own
                    for part in after:
                        t[part] = t.get(part, 0.0) + after[part] - before.get(part, 0.0)
        finally:
            for server in servers.values():
                server.stop()
    print(
        f"{args.connections} connections, gunicorn 2 workers x 16 threads, {os.cpu_count()} cores, "
        f"{args.rounds} rounds of {args.seconds:g} s per phase"
    )
    rate = {name: t["ok"] / t["seconds"] for name, t in totals.items()}
    for name, t in totals.items():
        parts = {p: t.get(p, 0.0) / t["ok"] * 1e6 for p in ("workers", "writer", "loadgen")}
        allowed = (os.cpu_count() or 1) / (sum(parts.values()) / 1e6)
        print(
            f"{name:14s} {rate[name]:6.0f}/s  CPU per request: workers {parts['workers']:5.0f} us, "
            f"writer {parts['writer']:4.0f} us, load generator {parts['loadgen']:4.0f} us "
            f"(the cores allow {allowed:.0f}/s)"
        )
    for name in ("durable", "free store"):
        print(f"ratio to the trivial route, {name}: {rate[name] / rate['trivial route']:.2f}  (issue: at least 0.40)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-free-store"]:
        serve_with_free_store()
    else:
        main()
