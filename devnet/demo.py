"""`meldpunt demo`: the whole service on a private Tor network on this machine.

The demo's data directory holds a demo staff key (unprotected, and labelled so), a configuration
that seals to it, the service's state (so the onion address stays the same from one demo to the
next), and the private network's tors under `tor-network/`, made fresh on each start.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import threading
import time
from pathlib import Path

from devnet import demo_texts
from devnet.private_network import PrivateNetwork, free_ports
from onion_service.tor.serve import serve_with_tor

DEMO_KEY_FILE = "DEMO-staff-key-UNPROTECTED.txt"
CONFIG_FILE = "meldpunt-demo.toml"
NETWORK_DIR = "tor-network"
DEMO_KEY_WARNING = (
    "# DEMO KEY: meldpunt demo made this staff key for the demo only. It is NOT protected by a\n"
    "# passphrase and lies next to the server's data. Never seal real reports to it.\n"
)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "meldpunt-demo"


def run_demo(data_dir: str | os.PathLike | None = None, *, stop: threading.Event | None = None) -> None:
    from onion_service.config import load_config

    started = time.monotonic()
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    key_path = data_dir / DEMO_KEY_FILE
    recipient = ensure_demo_key(key_path)

    network_dir = data_dir / NETWORK_DIR
    shutil.rmtree(network_dir, ignore_errors=True)
    network = PrivateNetwork(network_dir)
    say("starting a private Tor network on 127.0.0.1 (3 authorities, 3 relays, a service and a client tor)")
    network.launch()
    stop = stop or threading.Event()
    failed: list[BaseException] = []

    def network_ready() -> None:
        # The web server starts and the service is added meanwhile; tor uploads once this is done.
        try:
            network.wait_ready()
            say(f"private network up after {time.monotonic() - started:.1f} s")
        except BaseException as exc:  # noqa: BLE001  (handed to the main thread below, which raises it)
            failed.append(exc)
            stop.set()

    waiter = threading.Thread(target=network_ready, name="private-network", daemon=True)
    try:
        config_path = data_dir / CONFIG_FILE
        write_demo_config(config_path, data_dir, recipient, network.hs_control_port)
        config = load_config(config_path)
        waiter.start()

        def instructions(hostname: str) -> None:
            print(instructions_text(hostname, network.socks_port, config_path, key_path, data_dir), flush=True)
            say(f"ready after {time.monotonic() - started:.1f} s; Ctrl-C stops everything")

        serve_with_tor(config, config_path, stop=stop, on_ready=instructions)
        if failed:
            raise failed[0]
    finally:
        network.stop()
        say("stopped the web server and every tor the demo started")


def ensure_demo_key(path: Path) -> str:
    """The demo staff key's recipient; the key is made on the first demo and kept after."""
    from crypto.age import keys as age_keys

    if path.exists():
        identities = age_keys.parse_identities(path.read_text())
        return identities[0].recipient().encode()
    identity = age_keys.generate("pq")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(DEMO_KEY_WARNING + age_keys.identity_file_text(identity))
    return identity.recipient().encode()


def write_demo_config(
    path: Path,
    data_dir: Path,
    recipient: str,
    control_port: int | None,
    *,
    web_port: int | None = None,
    database_url: str = "",
    name: str = "meldpunt demo",
) -> None:
    """control_port None: `[tor] control = "torrc"`, the web server alone (a backend, demo_scaleout)."""
    web_port = web_port or free_ports(1)[0]
    control = f"127.0.0.1:{control_port}" if control_port is not None else "torrc"
    path.write_text(
        "# Written by meldpunt demo on every start (the ports change); edit a copy, not this file.\n"
        f"recipients = [{_toml(recipient)}]\n"
        f"data_dir = {_toml(str(data_dir))}\n"
        + (f"database_url = {_toml(database_url)}\n" if database_url else "")
        + 'default_language = "en"\n\n'
        "[hotline]\n"
        f"name = {_toml(name)}\n"
        f"contact = {demo_texts.toml_table(demo_texts.CONTACT)}\n\n"
        "[[hotline.emergency]]\n"
        f"label = {demo_texts.toml_table(demo_texts.EMERGENCY_LABEL)}\n"
        'number = "112"\n\n'
        "[web]\n"
        f'bind = "127.0.0.1:{web_port}"\n'
        "workers = 2\n"
        "threads = 8\n\n"
        "[tor]\n"
        f"control = {_toml(control)}\n"
    )
    os.chmod(path, 0o600)


def instructions_text(hostname: str, socks_port: int, config_path: Path, key_path: Path, data_dir: Path) -> str:
    meldpunt = _meldpunt_command()
    bundle = data_dir / "export.tar"
    opened = data_dir / "opened"
    profile = data_dir / "chromium-profile"
    q = shlex.quote
    return "\n".join(
        [
            f"socks: 127.0.0.1:{socks_port}",
            "",
            "Open the form through the private Tor network (the name resolves only inside Tor):",
            f"  chromium --proxy-server=socks5://127.0.0.1:{socks_port} "
            f"--host-resolver-rules='MAP * ~NOTFOUND , EXCLUDE 127.0.0.1' --user-data-dir={q(str(profile))} "
            f"http://{hostname}/",
            f"  curl --socks5-hostname 127.0.0.1:{socks_port} http://{hostname}/",
            "",
            f"Staff key for this demo (UNPROTECTED DEMO KEY, never use it for real reports): {key_path}",
            "Decrypt what was submitted (in another terminal, while this runs or after):",
            f"  rm -f {q(str(bundle))} && {meldpunt} export --config {q(str(config_path))} --out {q(str(bundle))}",
            f"  {meldpunt} open {q(str(bundle))} -i {q(str(key_path))} --out {q(str(opened))}",
            f"  then read {q(str(opened / 'index.html'))} (or: {meldpunt} find RECEIPT-CODE {q(str(opened))})",
            "",
        ]
    )


def _meldpunt_command() -> str:
    argv0 = Path(sys.argv[0])
    if argv0.name == "meldpunt" and argv0.exists():
        return shlex.quote(str(argv0.absolute()))
    return "meldpunt"


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def say(message: str) -> None:
    print(f"meldpunt demo: {message}", file=sys.stderr, flush=True)
