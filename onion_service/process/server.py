"""gunicorn, in-process, bound to loopback or a unix socket only, logging nothing about requests.

`run(config, bind=...)` is what `meldpunt serve --local-only` calls, also as the child process
that the Tor part starts. It listens on `bind` (tor's socket) and, when `[web] https_bind` is set,
on that too (the reverse proxy's): one master, one writer and one set of workers for both, each
socket with its own expectations (onion_service/process/listeners.py). The master makes what
every worker must share (the budget's memory, the form token secret) before it forks; each worker
then builds its own app, and with it its own database connections, through `create_app`.
"""

from __future__ import annotations

import logging
import os
import sys

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger as GunicornLogger
from gunicorn.http import wsgi as gunicorn_wsgi

from crypto.errors import Error
from onion_service import key_schedule
from onion_service.config import Config, ConfigError, check_bind, same_socket
from onion_service.process.listeners import Listening, listening
from onion_service.process.refusals import RefusingWorker
from onion_service.process.writer import Writer
from onion_service.shared.state import make_shared
from onion_service.store import DEFAULT_LOCK_TIMEOUT, open_store

# How long a worker waits for the writer's answer: the writer's own wait for a locked database
# (the store's lock timeout), then room for the commit itself. Below gunicorn's worker timeout.
WRITER_ANSWER_SECONDS = DEFAULT_LOCK_TIMEOUT + 10


class ServerStartError(Error):
    """gunicorn could not start (for example, the port is taken)."""


def gunicorn_options(config: Config, binds: list[str], worker_class: type = RefusingWorker) -> dict[str, object]:
    return {
        "bind": list(binds),
        "workers": config.web.workers,
        # gthread whose event loop reads each request whole before a thread serves it: a client
        # that trickles its request a byte at a time then holds a socket, not a thread (see
        # onion_service/process/worker.py for why, and why not gevent). Each worker keeps at most
        # worker_connections sockets (below the usual 1024 open files), the rest wait in the
        # listen backlog; behind Tor, max_streams bounds the streams per circuit as well.
        # (RefusingWorker: the same, with meldpunt's own page for requests gunicorn refuses.)
        "worker_class": worker_class,
        "worker_connections": 500,
        "threads": config.web.threads,
        # No access log at all, and errors only at warning level: gunicorn logs request details
        # (client address, request line) at info and debug only.
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "logger_class": PrivateLogger,
        "capture_output": False,
        "disable_redirect_access_to_syslog": True,
        # No control socket in $HOME: the service writes nothing outside its data directory.
        "control_socket_disable": True,
        "preload_app": False,
        "proc_name": "meldpunt",
        # We sit behind Tor (or nothing): no proxy headers are trusted, none change the scheme.
        "forwarded_allow_ips": "",
        "secure_scheme_headers": {},
        # tor's PROXY line is read by our worker (onion_service/process/worker.py), strictly and
        # only where the service requires it; gunicorn's own parser would accept it from anyone.
        "proxy_protocol": "off",
        # The form needs small requests only; gunicorn answers anything larger itself.
        "limit_request_line": 8190,
        "limit_request_fields": 50,
        "limit_request_field_size": 8190,
        "keepalive": 5,
        "timeout": 30,
        "graceful_timeout": 10,
    }


# gunicorn's messages about a single request carry the client address, the request line (whose
# query string may be a reported URL) or a traceback with request data. These prefixes mark them.
_REQUEST_MESSAGES = ("invalid request", "error handling", "socket error", "http/2", "exception in post_request")


class PrivateLogger(GunicornLogger):
    """gunicorn's logger without anything about requests: no access log, and request errors
    reduced to their kind. Start-up and worker lifecycle messages pass unchanged."""

    def access(self, *args, **kwargs) -> None:
        return None

    def warning(self, msg, *args, **kwargs) -> None:
        if str(msg).lower().startswith(_REQUEST_MESSAGES):
            return  # a refused malformed request: the client was told; a log line would only
            # record when someone (or something) sent it
        super().warning(msg, *args, **kwargs)

    def exception(self, msg, *args, **kwargs) -> None:
        if str(msg).lower().startswith(_REQUEST_MESSAGES):
            kind = sys.exc_info()[0]
            self.error_log.error("a request failed: %s", kind.__name__ if kind else "error")
            return
        super().exception(msg, *args, **kwargs)


def _drop_server_header() -> None:
    # gunicorn writes "Server: gunicorn" and "Date" itself, below the WSGI app, so the app cannot
    # remove them; the first names the software to every visitor, the second gives the server's
    # clock to the second, which lets anyone measure its skew and match the onion service to its
    # host. Both are dropped where gunicorn writes them. (A Date rounded to the hour would still
    # show the exact moment it changes.)
    # Written out rather than filtering gunicorn's own list: that one formats the date for every
    # response only to have it dropped here. The same status line and Connection header as
    # gunicorn's (tests/onion_service/web/test_web_floods.py pins the head).
    response = gunicorn_wsgi.Response
    if getattr(response.default_headers, "meldpunt_no_server", False):
        return

    def default_headers(self: gunicorn_wsgi.Response) -> list[str]:
        if self.upgrade:
            connection = "upgrade"
        elif self.should_close():
            connection = "close"
        else:
            connection = "keep-alive"
        major, minor = self.req.version
        head = [f"HTTP/{major}.{minor} {self.status}\r\n", f"Connection: {connection}\r\n"]
        if self.chunked:
            head.append("Transfer-Encoding: chunked\r\n")
        return head

    default_headers.meldpunt_no_server = True  # type: ignore[attr-defined]  # a mark on the function: patched once
    response.default_headers = default_headers


class _Arbiter(Arbiter):
    """gunicorn's master, which also keeps the writer process running and stops it last."""

    def __init__(self, app: BaseApplication, writer: Writer) -> None:
        self.meldpunt_writer = writer
        super().__init__(app)

    def manage_workers(self) -> None:
        super().manage_workers()
        if self.meldpunt_writer.restart_if_gone():
            self.log.warning("the report writer had stopped; started it again")

    def stop(self, graceful: bool = True) -> None:
        # Workers first, so that reports in flight during a graceful stop are still committed.
        super().stop(graceful)
        self.meldpunt_writer.stop()


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, object], build, writer: Writer) -> None:
        self._options, self._build, self._writer = options, build, writer
        super().__init__()

    def run(self) -> None:
        try:
            _Arbiter(self, self._writer).run()
        except RuntimeError as exc:  # gunicorn's own start-up errors (e.g. the port is taken)
            raise ServerStartError(str(exc)) from None

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._build()


def run(config: Config, *, bind: str, onion_address: str | None = None, circuit_ids: bool = False) -> None:
    """Serves until SIGTERM/SIGINT. `bind` (tor's socket) must be loopback or unix:; `onion_address`
    is allowed as Host there; with `circuit_ids`, every connection to it must start with tor's PROXY
    line (others are closed). `config.web.https_bind`, when set, is listened on as well, for
    `web.public_hosts` only and without a PROXY line."""
    bind = check_bind(bind)
    if config.schedules:
        # Refuses to start with no key period for today; warns before the schedule runs out.
        warning = key_schedule.check_today(config.schedules, key_schedule.utc_today(), config.schedule_warn_days)
        if warning:
            print(f"meldpunt: warning: {warning}", file=sys.stderr)
    https_bind = config.web.https_bind
    if https_bind is not None and same_socket(bind, https_bind):
        raise ConfigError("web.https_bind must be another socket than the one tor reaches (--bind)")
    sockets: tuple[Listening, ...] = listening(bind, https_bind, circuit_ids=circuit_ids)
    logging.getLogger("werkzeug").disabled = True
    _drop_server_header()
    # Made once here, before the fork: shared memory the workers inherit, and the token secret
    # written once so that workers only ever read it.
    shared = make_shared(config)
    worker_class = type(
        "MeldpuntWorker",
        (RefusingWorker,),
        {"meldpunt_listening": sockets, "meldpunt_sweep": (shared.circuits, shared.spent, shared.lookup_spent)},
    )
    # The database is checked, and the table made, once here: a wrong URL or a database that is
    # down stops the start with one clear message.
    open_store(config.database_url).close()
    # Forked now, while this process has no other thread (see onion_service/process/writer.py).
    writer = Writer(config.database_url, answer_timeout=WRITER_ANSWER_SECONDS)
    writer.start()

    def build():
        from onion_service.web.app import create_app

        # A worker started later, while the database is away (one replaced after a crash), must
        # answer 503 until it is back rather than fail to boot: gunicorn stops the whole service
        # when a worker fails to boot.
        store = open_store(config.database_url, tolerate_outage=True, writer=writer.client())
        return create_app(config, store=store, shared=shared, onion_address=onion_address)

    master = os.getpid()
    try:
        _Gunicorn(gunicorn_options(config, [s.bind for s in sockets], worker_class), build, writer).run()
    except SystemExit as leaving:
        if os.getpid() == master:
            raise
        # A worker: gunicorn's workers are forks of this process and leave by raising SystemExit
        # through this frame, once their last request is answered and their reports committed.
        # They leave at once, with gunicorn's exit code: tearing down the interpreter's modules
        # would only delay the stop.
        _leave_now(leaving.code)
    finally:
        if os.getpid() == master:
            writer.stop()


def _leave_now(code: object) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))
