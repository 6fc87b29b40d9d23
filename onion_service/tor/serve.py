"""`meldpunt serve` in its default mode: the web server, published as an onion service.

With `[tor] control = "torrc"` (production) the system tor's own configuration publishes the
service from its HiddenServiceDir, and this is the web server alone: it holds no key and no
control access. Otherwise the web server (gunicorn) runs as a child process, `meldpunt serve
--local-only`, so that it inherits neither the control connection nor the publisher's threads;
the publisher runs here, configures the service on tor and sets it again on its own when tor
restarts. The child is tied to us by the kernel (setpriv --pdeathsig), so it cannot outlive a
killed meldpunt and keep answering on a dead address.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from crypto import files
from onion_service.tor import control, keys, service_dir
from onion_service.tor.errors import TorError
from onion_service.tor.launch import Launcher
from onion_service.tor.publisher import UPLOAD_TIMEOUT, OnionSettings, Publisher, target_for_bind

WEB_START_TIMEOUT = 60.0  # gunicorn plus the first worker's imports, on a slow 2-core machine
WEB_STOP_TIMEOUT = 15.0  # gunicorn's graceful_timeout is 10 s


def _stderr(message: str) -> None:
    print(f"meldpunt: {message}", file=sys.stderr, flush=True)


def _stdout(line: str) -> None:
    print(line, flush=True)


def serve_with_tor(
    config,
    config_path: str | os.PathLike,
    *,
    stop: threading.Event | None = None,
    on_ready: Callable[[str], None] | None = None,
    notify: Callable[[str], None] = _stderr,
    out: Callable[[str], None] = _stdout,
    launcher_config: dict[str, str | list[str]] | None = None,
) -> None:
    """Run until `stop` is set, SIGTERM or SIGINT; then remove the service and stop the web server.

    Prints `onion: http://<address>.onion/` once the descriptor is uploaded, and calls
    `on_ready(hostname)` after that (the demo prints its instructions there).
    """
    data_dir = Path(config.data_dir)
    files.private_dir(data_dir, error=TorError)
    if config.tor.control == "torrc":
        _serve_from_torrc(config, data_dir, out)
        return
    stop = stop or threading.Event()
    _handle_signals(stop)
    directory = service_dir.service_dir(data_dir)
    key = service_dir.prepare(directory, data_dir / keys.KEY_FILE)
    keys.write_address(data_dir, key)

    launcher = None
    if config.tor.control == "launch":
        launcher = Launcher(data_dir / "tor", extra_config=launcher_config)
        connect = launcher.connect
    else:
        password_file = config.tor.control_password_file or None
        control.parse_control(config.tor.control)  # a bad value fails now, before anything starts

        def connect():
            return control.connect(config.tor.control, password_file)

    t = config.tor
    settings = OnionSettings(
        pow_queue_rate=t.pow_queue_rate,
        pow_queue_burst=t.pow_queue_burst,
        max_streams=t.max_streams,
        intro_dos_rate=t.intro_dos_rate,
        intro_dos_burst=t.intro_dos_burst,
        circuit_ids=t.circuit_ids,
    )
    publisher = Publisher(key, directory, target_for_bind(config.web.bind), settings, connect, notify=notify)
    try:
        first = connect()  # an unreachable or too old tor fails here, before the web server starts
    except BaseException:
        if launcher is not None:
            launcher.close()
        raise
    try:
        web = _start_web(config_path, config.web.bind, key.hostname, circuit_ids=t.circuit_ids)
    except BaseException:
        first.close()
        if launcher is not None:
            launcher.close()
        raise
    try:
        _wait_listening(config.web.bind, web, stop)
        if stop.is_set():
            return
        publisher.publish(wait=False, controller=first)
        publisher.start_supervisor()
        deadline = time.monotonic() + UPLOAD_TIMEOUT
        while not publisher.wait_uploaded(0.2):
            if stop.is_set():
                return
            if web.poll() is not None:
                raise TorError(f"the web server exited (status {web.returncode}); stopping")
            if time.monotonic() > deadline:
                notify("the onion service is added, but tor has not uploaded its descriptor yet; it keeps trying")
                break
        out(f"onion: http://{key.hostname}/")
        if on_ready is not None:
            on_ready(key.hostname)
        while not stop.is_set():
            if web.poll() is not None:
                raise TorError(f"the web server exited (status {web.returncode}); stopping")
            stop.wait(0.5)
    finally:
        publisher.close()  # DEL_ONION first, so no visitor reaches a stopping web server
        first.close()  # a no-op once the publisher owns it
        _stop_web(web)
        if launcher is not None:
            launcher.close()


def _serve_from_torrc(config, data_dir: Path, out: Callable[[str], None]) -> None:
    """The web server alone, for a service the system tor publishes from its own configuration.
    Its address comes from `data_dir/onion-address`, which the unit copies from tor's `hostname`
    before each start (deploy/systemd/meldpunt.service): the web server cannot read tor's
    directory, and needs the name only to answer for it. It listens on `web.bind` for tor and,
    when set, on `web.https_bind` for the reverse proxy (server.run reads it from the config, as
    the child process of the other modes does)."""
    from onion_service.process import server

    try:
        hostname = (data_dir / keys.ADDRESS_FILE).read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        hostname = None
    if hostname is not None:
        out(f"onion: http://{hostname}/")
    server.run(config, bind=config.web.bind, onion_address=hostname, circuit_ids=config.tor.circuit_ids)


def _handle_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # the caller owns the signals (and sets `stop`)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())


def _start_web(config_path, bind: str, hostname: str, *, circuit_ids: bool) -> subprocess.Popen:
    args = [
        sys.executable,
        "-m",
        "onion_service.process",
        "--config",
        str(config_path),
        "--bind",
        bind,
        "--onion-address",
        hostname,
        *(["--circuit-ids"] if circuit_ids else []),
    ]
    setpriv = shutil.which("setpriv")  # util-linux, essential on Debian
    if setpriv:
        args = [setpriv, "--pdeathsig", "TERM", "--", *args]
    return subprocess.Popen(args, stdin=subprocess.DEVNULL)


def _stop_web(web: subprocess.Popen) -> None:
    if web.poll() is None:
        web.terminate()
        try:
            web.wait(timeout=WEB_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait()


def _wait_listening(bind: str, web: subprocess.Popen, stop: threading.Event) -> None:
    """Until the web server accepts connections on `bind` (loopback or unix socket only)."""
    deadline = time.monotonic() + WEB_START_TIMEOUT
    while not stop.is_set():
        if web.poll() is not None:
            raise TorError(f"the web server did not start (status {web.returncode})")
        if _accepts(bind):
            return
        if time.monotonic() > deadline:
            raise TorError(f"the web server did not listen on {bind} within {WEB_START_TIMEOUT:.0f} s")
        stop.wait(0.1)


def _accepts(bind: str) -> bool:
    address: str | tuple[str, int]
    if bind.startswith("unix:"):
        family, address = socket.AF_UNIX, bind[len("unix:") :]
    else:
        host, _, port = bind.rpartition(":")
        host = host.strip("[]")
        host = "127.0.0.1" if host == "localhost" else host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        address = (host, int(port))
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        try:
            s.connect(address)
        except OSError:
            return False
    return True
