"""`meldpunt demo --backends N --database-url URL`: N meldpunt backends behind one Onionbalance
frontend address on the private Tor network, sharing one PostgreSQL database (devnet/balancer.py).

The database is the caller's (a PostgreSQL that accepts the URL): the demo does not run one. The
frontend's key is made fresh on each start, so its address changes from one demo to the next.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from devnet.balancer import Onionbalanced, check_installed
from devnet.demo import (
    NETWORK_DIR,
    default_data_dir,
    ensure_demo_key,
    instructions_text,
    say,
    write_demo_config,
)
from devnet.private_network import PrivateNetwork


def run_scaleout_demo(
    data_dir: str | os.PathLike | None, backends: int, database_url: str, *, stop: threading.Event | None = None
) -> None:
    check_installed()
    started = time.monotonic()
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path = data_dir / "DEMO-staff-key-UNPROTECTED.txt"
    recipient = ensure_demo_key(key_path)
    network_dir = data_dir / NETWORK_DIR
    shutil.rmtree(network_dir, ignore_errors=True)
    network = PrivateNetwork(network_dir)
    say(f"starting a private Tor network, an Onionbalance frontend and {backends} backends")
    processes: list[subprocess.Popen] = []
    ob = None
    try:
        network.start()
        ob = Onionbalanced(network, network_dir / "onionbalance", backends)
        ob.start()
        configs = []
        for i in range(backends):
            backend_dir = data_dir / f"backend{i}"
            backend_dir.mkdir(mode=0o700, exist_ok=True)
            (backend_dir / "onion-address").write_text(ob.hostname + "\n")
            config = data_dir / f"backend{i}.toml"
            write_demo_config(
                config,
                backend_dir,
                recipient,
                None,
                web_port=ob.backend_ports[i],
                database_url=database_url,
                name=f"meldpunt demo (backend {i})",
            )
            configs.append(config)
            if i > 0:  # one form-token key for all (deploy/onionbalance/README.md)
                token_key = data_dir / "backend0" / "form-token.key"
                _wait_for(token_key, processes[0])
                shutil.copy2(token_key, backend_dir / "form-token.key")
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "meldpunt.cli", "serve", "--config", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                )
            )
        print(f"frontend: http://{ob.hostname}/", flush=True)
        print(instructions_text(ob.hostname, network.socks_port, configs[0], key_path, data_dir), flush=True)
        say(
            f"started after {time.monotonic() - started:.1f} s; the frontend answers once Onionbalance has "
            "published it (about 10 s more); Ctrl-C stops everything"
        )
        stop = stop or threading.Event()
        while not stop.is_set() and all(p.poll() is None for p in processes):
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        # SIGINT, as Ctrl-C in the terminal gives every process of the group: on SIGTERM gunicorn
        # would keep idle kept-alive connections (tor's streams) open 2 s more. All at once, then
        # waited for.
        for p in processes:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in processes:
            p.wait(timeout=20)
        if ob is not None:
            ob.stop()
        network.stop()
        say("stopped the web servers, Onionbalance and every tor the demo started")


def _wait_for(path: Path, process: subprocess.Popen, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"meldpunt demo: backend 0 did not start (no {path.name})")
        time.sleep(0.1)
