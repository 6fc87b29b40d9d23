"""Real reporters during a flood over the private Tor network, with no attack, attack A and attack B.

Run by hand:  .venv/bin/python -m bench.flood_onion [--reporters 10] [--phase-seconds 90] [--b-circuits 20]

Starts a private Tor network on 127.0.0.1 (devnet.private_network) and `meldpunt serve` on it
(the service tor configured by meldpunt: HiddenServiceDir, circuit ids, intro DoS defence,
proof-of-work), then runs three phases side by side in one run:

  none      only the real reporters
  attack A  one circuit sending valid reports as fast as the form allows
  attack B  `--b-circuits` circuits (a fresh SOCKS username each) doing the same

In each phase `--reporters` real reporters, each on a fresh circuit, open the form, take 4 s to
fill the whole of it and send one report. Printed per phase: their success rate and p50/p99 from
opening the form to the receipt; for the attackers: reports sent, accepted, circuits built (the
client tor's rendezvous circuits), CPU seconds of the attacking threads and of the client tor, and
the proof-of-work effort the service's descriptor asks for at the end of the phase; and the cost
per accepted fake report against a real reporter's (one circuit, its own CPU).

Everything stays on 127.0.0.1 and stops at the end. The client tor is shared by attackers and
reporters (one machine), so its CPU is reported per phase, not split.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

from devnet.private_network import PrivateNetwork
from tests.formkit import report_fields
from tests.kit import RECEIPT, TOKEN, new_staff
from tests.onion_service.tor.torkit import Serve, fetch_until, run_reporters, tor_session, write_config

LIMIT = 3


FULL = dict(urls="http://example.org/bench\nhttps://example.net/b", found_on="forum", kinds=("images", "text"))


def form(token: str, description: str) -> dict[str, object]:
    return report_fields(token, description=description, access="invite link", seen_on="2026-11-30", **FULL)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Attack:
    def __init__(self, base: str, socks_port: int, users: list[str]) -> None:
        self.base, self.socks_port, self.users = base, socks_port, users
        self.stop = threading.Event()
        self.sent: Counter = Counter()
        self.accepted: Counter = Counter()
        self.cpu = 0.0
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(u,), daemon=True) for u in users]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def _run(self, user: str) -> None:
        s = tor_session(self.socks_port, user)
        while not self.stop.is_set():
            try:
                tokens = [
                    m.group(1) for _ in range(4) if (m := TOKEN.search(s.get(f"{self.base}/en/", timeout=20).text))
                ]
                self.stop.wait(1.05)
                for t in tokens:
                    reply = s.post(f"{self.base}/en/", data=form(t, "fake"), timeout=20)
                    self.sent[user] += 1
                    if reply.status_code == 200 and RECEIPT.search(reply.text):
                        self.accepted[user] += 1
            except requests.RequestException:
                self.stop.wait(0.2)
        with self._lock:
            self.cpu += time.thread_time()


def reporter(base: str, socks_port: int, results: list, i: int) -> None:
    started = time.monotonic()
    try:
        s = tor_session(socks_port)
        token = TOKEN.search(s.get(f"{base}/en/", timeout=60).text).group(1)
        time.sleep(4)
        reply = s.post(f"{base}/en/", data=form(token, f"real {i}"), timeout=60)
        ok = reply.status_code == 200 and bool(RECEIPT.search(reply.text))
    except (requests.RequestException, AttributeError):
        ok = False
    results[i] = (ok, time.monotonic() - started, time.thread_time())


class RendCircuits:
    def __init__(self, controller) -> None:
        from stem.control import EventType

        self.ids: set[int] = set()
        self.controller = controller
        controller.add_event_listener(self._on, EventType.CIRC)

    def _on(self, event) -> None:
        if event.purpose and event.purpose.startswith("HS_CLIENT_REND"):
            self.ids.add(int(event.id))


def pow_effort(network, hostname: str) -> str:
    from stem.descriptor.hidden_service import HiddenServiceDescriptorV3

    service_id = hostname.removesuffix(".onion")
    controller = network.nodes["client"].controller
    try:
        raw = controller.get_info(f"hs/client/desc/id/{service_id}")
        inner = HiddenServiceDescriptorV3.from_str(raw).decrypt(service_id)
    except Exception as exc:  # noqa: BLE001 (a bench: say what went wrong and go on)
        return f"? ({type(exc).__name__})"
    params = [line for line in str(inner).splitlines() if line.startswith("pow-params ")]
    return params[0].split()[3] if params and len(params[0].split()) > 3 else "0"


def phase(name: str, network, base: str, hostname: str, users: list[str], reporters: int, seconds: float) -> dict:
    circuits = RendCircuits(network.nodes["client"].controller)
    client_pid = network.pids()["client"]
    cpu_before = cpu_seconds(client_pid)
    attack = Attack(base, network.socks_port, users)
    attack.start()
    if users:
        time.sleep(5)
    results = run_reporters(reporter, base, network.socks_port, reporters, seconds, daemon=True)
    attack.finish()
    circuits.controller.remove_event_listener(circuits._on)
    done = [r for r in results if r]
    times = sorted(r[1] for r in done if r[0])
    accepted = sum(attack.accepted.values())
    return {
        "phase": name,
        "success": len(times) / reporters,
        "p50": statistics.median(times) if times else float("nan"),
        "p99": times[min(len(times) - 1, int(0.99 * len(times)))] if times else float("nan"),
        "reporter_cpu": statistics.mean(r[2] for r in done) if done else float("nan"),
        "sent": sum(attack.sent.values()),
        "accepted": accepted,
        "max_per_circuit": max(attack.accepted.values(), default=0),
        "circuits": len(circuits.ids),
        "attacker_cpu": attack.cpu,
        "client_tor_cpu": cpu_seconds(client_pid) - cpu_before,
        "pow_effort": pow_effort(network, hostname),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reporters", type=int, default=10)
    parser.add_argument("--phase-seconds", type=float, default=90)
    parser.add_argument("--b-circuits", type=int, default=20)
    args = parser.parse_args()
    staff = new_staff()
    with tempfile.TemporaryDirectory(prefix="meldpunt-flood-onion-") as tmp:
        tmp = Path(tmp)
        network = PrivateNetwork(tmp / "net")
        network.start()
        try:
            config = write_config(
                tmp / "m.toml",
                tmp / "data",
                staff.recipient,
                f"127.0.0.1:{network.hs_control_port}",
                workers=2,
                threads=8,
                limits={"reports_per_circuit": LIMIT},
            )
            serve = Serve(config, tmp / "serve.log")
            try:
                base = f"http://{serve.hostname}"
                fetch_until(f"{base}/", network.socks_port, within=60)
                rows = [
                    phase("none", network, base, serve.hostname, [], args.reporters, args.phase_seconds),
                    phase("attack A", network, base, serve.hostname, ["a"], args.reporters, args.phase_seconds),
                    phase(
                        "attack B",
                        network,
                        base,
                        serve.hostname,
                        [f"b{i}" for i in range(args.b_circuits)],
                        args.reporters,
                        args.phase_seconds,
                    ),
                ]
            finally:
                serve.stop()
        finally:
            network.stop()
    print(
        f"{'phase':9} {'success':>7} {'p50 s':>6} {'p99 s':>6} | {'sent':>5} {'accepted':>8} {'max/circ':>8} "
        f"{'rend circ':>9} {'atk CPU s':>9} {'tor CPU s':>9} {'PoW effort':>10}"
    )
    for r in rows:
        print(
            f"{r['phase']:9} {r['success']:7.2f} {r['p50']:6.1f} {r['p99']:6.1f} | {r['sent']:5d} "
            f"{r['accepted']:8d} {r['max_per_circuit']:8d} {r['circuits']:9d} {r['attacker_cpu']:9.1f} "
            f"{r['client_tor_cpu']:9.1f} {r['pow_effort']:>10}"
        )
    for r in rows[1:]:
        if r["accepted"]:
            per = r["attacker_cpu"] / r["accepted"]
            attacker_circuits = max(0, r["circuits"] - args.reporters)  # the reporters built one each
            print(
                f"{r['phase']}: per accepted fake report {attacker_circuits / r['accepted']:.2f} circuits and "
                f"{per:.2f} CPU s of the attacker; a real reporter: 1 circuit and "
                f"{rows[0]['reporter_cpu']:.2f} CPU s"
            )


if __name__ == "__main__":
    main()
