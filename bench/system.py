"""The assembled service under attack: real reporters' success and p50/p99 per channel, with no
attack and under each attack, and the attacker's cost per accepted fake report.

Run by hand from the repository root (as root, so that meldpunt runs in the unit's sandbox):

    .venv/bin/python -m bench.system [--phase-seconds 45] [--flood-seconds 190] [--flood-threads 64]

The arrangement is tests/system's (tests/system/systemkit.py): deploy/install.sh --https-proxy
into a throwaway root, the service tor with the drop-in it wrote on the private Tor network
(devnet), nginx with the site it rendered on a loopback port, `meldpunt serve --config` on the
configuration it wrote, with every default a hotline gets (a budget of 4,500 reports a minute per
route, 3 reports per circuit, PoW queue 25/250, intro DoS 25/200, form_min_seconds 3, 2 workers x
16 threads), the status page on, SQLite. `--tor` and `--limit` replace one setting for an
experiment.

In every phase, real reporters come at a steady pace on both channels, each on a circuit (onion)
or an address (HTTPS) of its own: the form, 4 s of typing, the report. Success is a receipt on
the first try; the time is from opening the form to the receipt. The phases:

  none              reporters only
  replay            per channel, 4 attackers each filing a report and resending its token
  junk              per channel, 8 attackers posting garbage as fast as they get answers
  lookup            per channel, 8 attackers flooding the status page with junk codes
  slow              per channel, `--slow-clients` connections sending a header line every 5 s
  circuit/report    onion: `--flood-threads` threads, each fake report on a new circuit (a new
                    SOCKS username) as fast as the form allows, for `--flood-seconds`
  address/report    HTTPS: the same with a new client address per fake report (nginx's limits
                    are per address), for `--flood-seconds`

Printed per phase and channel: the reporters' success, p50 and p99 (and success by the minute
they started in); the attackers' requests, accepted fake reports, CPU seconds of the attacking
threads, of the attackers' tor and of the service's tor, circuits or addresses used per accepted
fake report, and the PoW effort in the service's descriptor each minute and at the end.
Everything stays on loopback, bounded in count and time, and stops at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from bench.flood_onion import RendCircuits, cpu_seconds, pow_effort
from bench.system_attacks import Attack, AttackerTor, fresh_per_report, junk, lookup, replay, slow
from tests.system import systemkit as k

CHANNELS = ("onion", "https")
TYPING = 4.0  # seconds a reporter spends on the form (more than form_min_seconds, 3)


class Reporters:
    """Real reporters on both channels, one every `every` seconds per channel, until stopped."""

    def __init__(self, system: k.System, every: float) -> None:
        self.system, self.every = system, every
        self.results: list[tuple[str, bool, float, str, float]] = []  # ..., when it started
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.pacer = threading.Thread(target=self._pace, daemon=True)
        self.addresses = iter(f"127.87.{i // 250}.{i % 250 + 2}" for i in range(60_000))

    def start(self) -> None:
        self.pacer.start()

    def _pace(self) -> None:
        while not self.stop.is_set():
            for channel in CHANNELS:
                t = threading.Thread(target=self._one, args=(channel,), daemon=True)
                t.start()
                self.threads.append(t)
            self.stop.wait(self.every)

    def _one(self, channel: str) -> None:
        started = time.monotonic()
        client = k.OnionClient(self.system) if channel == "onion" else k.HttpsClient(self.system, next(self.addresses))
        why = ""
        try:
            receipt, _ = k.file_report(client, "real reporter", TYPING)
            why = "" if receipt else "refused"
        except (OSError, ValueError) as exc:
            # The kind, and the start of the message: a SOCKS reply from tor says where a
            # connection failed (the descriptor, the introduction, the rendezvous).
            receipt, why = None, f"{type(exc).__name__}: {' '.join(str(exc).split())[-90:]}"
        with self.lock:
            self.results.append((channel, receipt is not None, time.monotonic() - started, why, started - self.t0))

    def finish(self) -> None:
        self.stop.set()
        self.pacer.join()
        for t in self.threads:
            t.join(150)


def phase(
    system: k.System, attacker: AttackerTor, name: str, fn, channels, threads: int, seconds: float, every: float
) -> dict:
    circuits = RendCircuits(attacker.controller)
    tor_cpu = cpu_seconds(attacker.process.pid)
    hs_pid = system.network.nodes["hs"].process.pid
    hs_cpu = cpu_seconds(hs_pid)
    attack = Attack(system, attacker, fn, channels, threads) if fn else None
    if attack:
        attack.start()
        time.sleep(5)  # under way before the reporters come
    reporters = Reporters(system, every)
    reporters.start()
    efforts = []  # the suggested effort in the descriptor, once a minute: when does PoW engage?
    for _ in range(int(seconds // 60)):
        time.sleep(60)
        efforts.append(pow_effort(system.network, system.onion))
    time.sleep(seconds % 60)
    reporters.finish()
    if attack:
        attack.finish()
    attacker.controller.remove_event_listener(circuits._on)
    row = {
        "phase": name,
        "pow": pow_effort(system.network, system.onion),
        "efforts": efforts,
        "hs_cpu": cpu_seconds(hs_pid) - hs_cpu,
        "tor_cpu": cpu_seconds(attacker.process.pid) - tor_cpu,
        "rend_circuits": len(circuits.ids),
        "attack": attack,
    }
    for channel in CHANNELS:
        mine = [r for r in reporters.results if r[0] == channel]
        times = sorted(r[2] for r in mine if r[1])
        row[channel] = {
            "n": len(mine),
            "success": len(times) / len(mine) if mine else float("nan"),
            "p50": statistics.median(times) if times else float("nan"),
            "p99": times[min(len(times) - 1, int(0.99 * len(times)))] if times else float("nan"),
            "failures": Counter(r[3] for r in mine if not r[1]),
            # success by the minute the reporter started in: does it come back once PoW engages?
            "by_minute": [
                (m, sum(r[1] for r in mine if int(r[4] // 60) == m), sum(int(r[4] // 60) == m for r in mine))
                for m in range(int(seconds // 60) + 1)
            ],
        }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase-seconds", type=float, default=45)
    parser.add_argument("--flood-seconds", type=float, default=190)
    parser.add_argument("--flood-threads", type=int, default=64)
    parser.add_argument("--slow-clients", type=int, default=40)
    parser.add_argument("--every", type=float, default=3.0, help="seconds between reporters, per channel")
    parser.add_argument(
        "--settle",
        type=float,
        default=65,
        help="seconds between phases, for the minute's budget and the PoW queue to settle",
    )
    parser.add_argument(
        "--tor",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        help="replace one of the drop-in's HiddenService* settings, e.g. HiddenServicePoWQueueRate=25",
    )
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="KEY=NUMBER",
        help="replace one of meldpunt.toml's [limits], e.g. reports_per_minute=100000",
    )
    parser.add_argument("--only", default="", help="comma-separated phase names to run (after none)")
    args = parser.parse_args()
    from crypto.status.keys import SigningKey
    from tests.kit import new_staff

    staff = new_staff()
    phases = [
        ("replay", replay, CHANNELS, 4, args.phase_seconds),
        ("junk", junk, CHANNELS, 8, args.phase_seconds),
        ("lookup", lookup, CHANNELS, 8, args.phase_seconds),
        ("slow", slow, CHANNELS, args.slow_clients, args.phase_seconds),
        ("circuit/report", fresh_per_report, ("onion",), args.flood_threads, args.flood_seconds),
        ("address/report", fresh_per_report, ("https",), args.flood_threads, args.flood_seconds),
    ]
    if args.only:
        phases = [p for p in phases if p[0] in args.only.split(",")]
    rows = []
    attacker: AttackerTor | None = None
    with tempfile.TemporaryDirectory(prefix="meldpunt-bench-system-") as tmp:
        system = k.System(
            Path(tmp),
            staff.recipient,
            SigningKey.generate().public().encode(),
            tor_overrides=dict(o.split("=", 1) for o in args.tor),
            limits_overrides={key: int(v) for key, v in (o.split("=", 1) for o in args.limit)},
        )
        try:
            system.start()
            attacker = AttackerTor(system.network, Path(tmp) / "attacker-tor")
            print(
                f"up: {system.onion}, sandbox {system.sandbox}; tor: "
                + ", ".join(f"{key} {v}" for key, v in system.tor_options.items() if "PoW" in key or "DoS" in key)
                + f"; limits {system.defaults.get('limits', {})}",
                file=sys.stderr,
            )
            rows.append(phase(system, attacker, "none", None, (), 0, args.phase_seconds, args.every))
            report(rows[-1])
            for name, fn, channels, threads, seconds in phases:
                rows.append(phase(system, attacker, name, fn, channels, threads, seconds, args.every))
                report(rows[-1])
                time.sleep(args.settle)
            stored = len(system.opened(staff))
        finally:
            if attacker is not None:
                attacker.stop()
            system.stop()
    print(f"\nstored reports, all opened with the staff key: {stored}")
    print(
        f"\n{'phase':15} {'channel':7} {'n':>4} {'success':>7} {'p50 s':>6} {'p99 s':>6} | {'atk sent':>8} "
        f"{'accepted':>8} {'atk CPU s':>9} {'tor CPU s':>9} {'svc tor s':>9} {'used/acc':>8} {'PoW':>5}"
    )
    for r in rows:
        a = r["attack"]
        for channel in CHANNELS:
            c = r[channel]
            sent = a.sent[channel] if a else 0
            acc = a.accepted[channel] if a else 0
            used = f"{a.used[channel] / acc:.2f}" if a and acc else "-"
            print(
                f"{r['phase']:15} {channel:7} {c['n']:4d} {c['success']:7.2f} {c['p50']:6.1f} "
                f"{c['p99']:6.1f} | {sent:8d} {acc:8d} {a.cpu if a else 0:9.1f} {r['tor_cpu']:9.1f} "
                f"{r['hs_cpu']:9.1f} {used:>8} {r['pow']:>5}"
            )


def report(row: dict) -> None:
    a = row["attack"]
    parts = [
        f"{ch} {row[ch]['success']:.2f} of {row[ch]['n']} (p50 {row[ch]['p50']:.1f} s, p99 {row[ch]['p99']:.1f} s"
        f"{', failures ' + str(dict(row[ch]['failures'])) if row[ch]['failures'] else ''})"
        for ch in CHANNELS
    ]
    line = (
        f"[{row['phase']}] reporters: " + "; ".join(parts) + f"; PoW effort {row['pow']} (by minute "
        f"{' '.join(row['efforts'])}); service tor CPU {row['hs_cpu']:.1f} s, attacker's {row['tor_cpu']:.1f} s, "
        f"attacker's rendezvous circuits {row['rend_circuits']}"
    )
    line += "; by minute " + ", ".join(
        f"{ch} " + " ".join(f"{ok}/{n}" for _, ok, n in row[ch]["by_minute"]) for ch in CHANNELS
    )
    if a:
        line += f"; attack sent {dict(a.sent)} accepted {dict(a.accepted)} answers {dict(a.why)}"
    print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
