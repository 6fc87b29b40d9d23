"""Publishing the web server as a v3 onion service on a tor we control, and keeping it published.

The service is a HiddenServiceDir service (onion_service/tor/service_dir.py says why), set with
SETCONF: the directory holding the key, port 80 mapped to the web server and nothing else, tor's
PROXY line with the circuit id, the introduction points' DoS defence, proof-of-work and a stream
limit. Services other software configured on the same tor are kept as they are. A SETCONF lives in
tor's running configuration only, so when the connection drops (tor restarted, crashed, or the
socket broke) a supervising thread reconnects with backoff and sets it again; the web server never
notices. `close()` removes it again, so the service disappears with meldpunt.

This process holds the control connection; the web server is another process
(onion_service/tor/serve.py) and holds neither it nor the key. In production the system tor's own
configuration holds the service and nothing of meldpunt talks to tor (deploy/tor/meldpunt.conf).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import stem
import stem.control
import stem.response
from stem.control import EventType

from onion_service.tor.errors import TorError
from onion_service.tor.keys import OnionKey

VIRTUAL_PORT = 80
UPLOAD_TIMEOUT = 120.0  # a fresh tor on the real network can take a minute to bootstrap and upload
BACKOFF_FIRST = 0.1  # a restarted tor opens its control port within a fraction of a second
BACKOFF_MAX = 10.0
HEALTH_CHECK_INTERVAL = 5.0  # the status listener is the fast path; this catches a silent socket


@dataclass(frozen=True)
class OnionSettings:
    pow_queue_rate: int = 5
    pow_queue_burst: int = 20
    max_streams: int = 32
    intro_dos_rate: int = 25
    intro_dos_burst: int = 200
    circuit_ids: bool = True


def target_for_bind(bind: str) -> str:
    """The ADD_ONION target for the web server's bind: `127.0.0.1:8080`, `[::1]:8080` or `unix:/path`."""
    if bind.startswith("unix:"):
        return bind
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    if host == "localhost":
        host = "127.0.0.1"
    if host not in ("127.0.0.1", "::1") or not port.isdigit():
        raise TorError(f"the web server must listen on loopback or a unix socket to be published, not {bind!r}")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _quote(value: str) -> str:
    # torrc quoting for a path with spaces; anything else goes as it is.
    if " " not in value and '"' not in value:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def service_options(directory: str, target: str, settings: OnionSettings) -> list[tuple[str, str]]:
    """The torrc lines of the service, in order (HiddenServiceDir first: the rest belong to it)."""
    if target.startswith("unix:"):
        target = "unix:" + _quote(target[len("unix:") :])
    options = [
        ("HiddenServiceDir", directory),
        ("HiddenServicePort", f"{VIRTUAL_PORT} {target}"),
        ("HiddenServiceMaxStreams", str(settings.max_streams)),
        ("HiddenServiceMaxStreamsCloseCircuit", "1"),
        ("HiddenServiceEnableIntroDoSDefense", "1"),
        ("HiddenServiceEnableIntroDoSRatePerSec", str(settings.intro_dos_rate)),
        ("HiddenServiceEnableIntroDoSBurstPerSec", str(settings.intro_dos_burst)),
        ("HiddenServicePoWDefensesEnabled", "1"),
        ("HiddenServicePoWQueueRate", str(settings.pow_queue_rate)),
        ("HiddenServicePoWQueueBurst", str(settings.pow_queue_burst)),
    ]
    if settings.circuit_ids:
        options.append(("HiddenServiceExportCircuitID", "haproxy"))
    return options


def other_services(controller: stem.control.Controller, directory: str) -> list[tuple[str, str]]:
    """Every HiddenService* line tor holds now, less the group of `directory`: SETCONF replaces
    them all, so whatever else runs on this tor is set again as it was."""
    response = controller.msg("GETCONF HiddenServiceOptions")
    if not response.is_ok():
        raise TorError(f"tor refused GETCONF HiddenServiceOptions: {response}")
    kept: list[tuple[str, str]] = []
    ours = False
    for _, _, content in response.content():
        key, sep, value = content.partition("=")
        if not sep or not key.startswith("HiddenService"):
            continue
        if key == "HiddenServiceDir":
            ours = os.path.normpath(value.strip('"')) == os.path.normpath(directory)
        if not ours:
            kept.append((key, value))
    return kept


class Publisher:
    """`publish()` once, then `start_supervisor()`; `close()` removes the service.

    `connect` returns an authenticated, version-checked controller (see control.connect and
    launch.Launcher.connect) and raises TorError when tor cannot be reached.
    `notify` receives one-line status messages for the operator (no secrets in them).
    """

    def __init__(
        self,
        key: OnionKey,
        directory: str | os.PathLike,
        target: str,
        settings: OnionSettings,
        connect: Callable[[], stem.control.Controller],
        *,
        notify: Callable[[str], None] = lambda message: None,
        upload_timeout: float = UPLOAD_TIMEOUT,
    ) -> None:
        self.key = key
        self.directory = os.path.abspath(directory)
        self.target = target
        self.settings = settings
        self._connect = connect
        self._notify = notify
        self._upload_timeout = upload_timeout
        self._controller: stem.control.Controller | None = None
        self._lock = threading.Lock()
        self._lost = threading.Event()
        self._closing = threading.Event()
        self._uploaded = threading.Event()
        self._thread: threading.Thread | None = None
        self.recoveries: list[float] = []  # seconds from each lost connection to the re-added service

    @property
    def hostname(self) -> str:
        return self.key.hostname

    def publish(self, *, wait: bool = True, controller: stem.control.Controller | None = None) -> bool:
        """Add the service (on `controller`, or a new connection); with `wait`, until a descriptor
        is uploaded (True) or the upload timeout passes (False)."""
        self._add(controller if controller is not None else self._connect())
        return self.wait_uploaded(self._upload_timeout) if wait else False

    def wait_uploaded(self, timeout: float) -> bool:
        return self._uploaded.wait(timeout)

    def start_supervisor(self) -> None:
        self._thread = threading.Thread(target=self._supervise, name="onion-publisher", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        self._lost.set()
        with self._lock:
            controller, self._controller = self._controller, None
        if controller is not None:
            try:
                others = other_services(controller, self.directory)
                if others:
                    controller.set_options(others)
                else:
                    controller.reset_conf("HiddenServiceDir")
            except (stem.SocketClosed, stem.ControllerError, TorError):
                pass  # tor is gone: the service went with it
            controller.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    # -- internals ------------------------------------------------------------------------------

    def _add(self, controller: stem.control.Controller) -> None:
        self._uploaded.clear()
        try:
            controller.add_event_listener(self._on_hs_desc, EventType.HS_DESC)
            controller.add_status_listener(self._on_status)
            options = other_services(controller, self.directory)
            options += service_options(self.directory, self.target, self.settings)
            try:
                controller.set_options(options)
            except stem.InvalidRequest as exc:
                raise TorError(_explain_setconf_failure(str(exc))) from None
        except BaseException:
            controller.close()
            raise
        with self._lock:
            self._lost.clear()
            self._controller = controller
        if not controller.is_alive():  # dropped between ADD_ONION and now: the supervisor retries
            self._lost.set()

    def _on_hs_desc(self, event) -> None:
        if event.action == stem.HSDescAction.UPLOADED and event.address == self.key.service_id:
            self._uploaded.set()

    def _on_status(self, controller: stem.control.Controller, state, timestamp: float) -> None:
        if state == stem.control.State.CLOSED and controller is self._controller:
            self._lost.set()

    def _supervise(self) -> None:
        while not self._closing.is_set():
            self._lost.wait(HEALTH_CHECK_INTERVAL)
            if self._closing.is_set():
                return
            with self._lock:
                controller = self._controller
            if controller is not None and controller.is_alive() and not self._lost.is_set():
                continue
            lost_at = time.monotonic()
            self._uploaded.clear()
            if controller is not None:
                controller.close()
            self._notify("tor control connection lost; reconnecting")
            self._reconnect(lost_at)

    def _reconnect(self, lost_at: float) -> None:
        delay = BACKOFF_FIRST
        while not self._closing.is_set():
            try:
                self._add(self._connect())
            except TorError as exc:
                if delay == BACKOFF_FIRST or delay == BACKOFF_MAX:
                    self._notify(f"tor not ready ({exc}); retrying")
                self._closing.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            except (stem.SocketError, stem.ControllerError):
                self._closing.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            self._notify(f"onion service added again after {time.monotonic() - lost_at:.1f} s")
            if self._wait_uploaded_or_lost(self._upload_timeout):
                elapsed = time.monotonic() - lost_at
                self.recoveries.append(elapsed)
                self._notify(f"onion service published again after {elapsed:.1f} s")
            return

    def _wait_uploaded_or_lost(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._lost.is_set():
            if self._uploaded.wait(0.2):
                return True
        return False


def _explain_setconf_failure(reply: str) -> str:
    if "pow" in reply.lower():
        return f"tor refused the proof-of-work settings (is tor built with the pow module?): {reply}"
    return (
        f"tor refused the onion service's settings ({reply}); is the service directory "
        "owned by the user tor runs as, with mode 0700?"
    )
