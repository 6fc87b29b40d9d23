"""`meldpunt serve` in its default mode: the web server, published as an onion service.

The web server (gunicorn) runs as a child process, `meldpunt serve --local-only`, so that it
inherits neither the control connection nor the publisher's threads; the publisher runs here and
republishes on its own when tor restarts. The child is tied to us by the kernel (setpriv
--pdeathsig), so it cannot outlive a killed meldpunt and keep answering on a dead address.
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

from onion_service.tor import control, keys
from onion_service.tor.errors import TorError
from onion_service.tor.launch import Launcher
from onion_service.tor.publisher import UPLOAD_TIMEOUT, OnionSettings, Publisher, target_for_bind

WEB_START_TIMEOUT = 60.0  # gunicorn plus the first worker's imports, on a slow 2-core machine
WEB_STOP_TIMEOUT = 15.0  # gunicorn's graceful_timeout is 10 s


def _stderr(message: str) -> None:
    print(f"meldpunt: {message}", file=sys.stderr, flush=True)


def _stdout(line: str) -> None:
    print(line, flush=True)


def serve_with_tor(config, config_path: str | os.PathLike, *,
                   stop: threading.Event | None = None,
                   on_ready: Callable[[str], None] | None = None,
                   notify: Callable[[str], None] = _stderr,
                   out: Callable[[str], None] = _stdout,
                   launcher_config: dict[str, str | list[str]] | None = None) -> None:
    """Run until `stop` is set, SIGTERM or SIGINT; then remove the service and stop the web server.

    Prints `onion: http://<address>.onion/` once the descriptor is uploaded, and calls
    `on_ready(hostname)` after that (the demo prints its instructions there).
    """
    stop = stop or threading.Event()
    _handle_signals(stop)
    data_dir = Path(config.data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = keys.load_or_create(data_dir)
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

    settings = OnionSettings(pow_queue_rate=config.tor.pow_queue_rate,
                             pow_queue_burst=config.tor.pow_queue_burst,
                             max_streams=config.tor.max_streams)
    publisher = Publisher(key, target_for_bind(config.web.bind), settings, connect, notify=notify)
    try:
        first = connect()  # an unreachable or too old tor fails here, before the web server starts
    except BaseException:
        if launcher is not None:
            launcher.close()
        raise
    try:
        web = _start_web(config_path, config.web.bind, key.hostname)
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


def _handle_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # the caller owns the signals (and sets `stop`)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())


def _start_web(config_path, bind: str, hostname: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "crypto.cli", "serve", "--local-only", "--config", str(config_path),
            "--bind", bind, "--onion-address", hostname]
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
    if bind.startswith("unix:"):
        family, address = socket.AF_UNIX, bind[len("unix:"):]
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
