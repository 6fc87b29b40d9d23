"""gunicorn's gthread worker, reading each request whole before it gets a thread.

Why: gthread gives a connection a thread as soon as its first byte arrives, and the thread then
blocks until the whole request head (and later the body) has come in, however slowly. A client
sending one byte a second holds a thread for minutes, and 32 such clients (2 workers x 16
threads) stop the service for everyone: tests/faults/test_faults_slow_clients.py showed every
real reporter timing out behind 200 byte-at-a-time connections. Behind Tor each slow client is
only one stream, and streams are cheap to open.

So here the worker's own event loop reads the request without blocking, into a bounded buffer,
and only a complete request (head and body) is given to a thread. A slow client costs a socket
and a few kilobytes, never a thread, and is closed when READ_SECONDS have passed without a
complete request. Requests the application refuses unread (a body over its limit, chunked,
Expect: 100-continue) are handed over after the head.

Behind tor with `HiddenServiceExportCircuitID haproxy`, every connection starts with a PROXY line
carrying the Tor circuit's id (onion_service/process/proxyline.py). The event loop reads it here,
strictly, before the request; a connection without it is closed when the service requires it.
The id travels with the connection into each request's WSGI environ (`meldpunt.circuit`), for
the per-circuit limits, and nowhere else: never logged, never stored.

Which connections must start with that line is decided per listening socket
(onion_service/process/listeners.py): tor's socket demands it, the reverse proxy's never reads one.
The socket's route goes into the environ too (`meldpunt.route`), so that each socket answers for
its own names only (onion_service/web/routes.py).

Why not gevent or eventlet: they would monkey-patch threading, sockets and locks under the
writer client's sockets and the budget's process-shared lock, and every seal and fsync would
block their single event loop; a form that answers one short request per page needs none of it.
"""

from __future__ import annotations

import selectors
import sys
import threading
import time
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any

from gunicorn.workers.gthread import ThreadWorker

from onion_service.process import listeners, proxyline
from onion_service.shared.circuits import ENVIRON_KEY
from onion_service.web import routes
from onion_service.web.form import MAX_BODY_BYTES

if TYPE_CHECKING:
    from flask import Flask

# A real request from Tor Browser arrives within a second or two even on a slow circuit (a form
# post is a few kilobytes, a handful of Tor cells). 20 s leaves room for a congested circuit while
# a slow-loris connection is dropped long before it matters.
READ_SECONDS = 20.0
# Request heads from browsers are under 2 KiB. Past this, gunicorn's own limits decide (it
# refuses lines over limit_request_line and fields over limit_request_field_size).
MAX_HEAD_BYTES = 16 * 1024
# Anything announced as larger than MAX_BODY_BYTES is refused by the app with 413 without being
# read, so it is not buffered here either.
_RECV_BYTES = 64 * 1024


def _complete(buf: bytes | bytearray) -> bool:
    """True once `buf` holds a request the application can handle without waiting on the client."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return len(buf) >= MAX_HEAD_BYTES
    head = bytes(buf[:end]).lower()
    body = len(buf) - end - 4
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip(), value.strip()
        if name == b"expect":
            return True  # the client waits for "100 Continue"; gunicorn answers that itself
        if name == b"transfer-encoding":
            # Chunked bodies (the form never sends one; the app refuses it): wait for the last
            # chunk, within the same bound as any body.
            return buf.endswith(b"0\r\n\r\n") or body > MAX_BODY_BYTES
        if name == b"content-length":
            if not value.isdigit():
                return True  # malformed: gunicorn refuses it
            length = int(value)
    if length is None or length > MAX_BODY_BYTES:
        return True
    return body >= length


# Rows of the shared tables each worker sweeps a second (see onion_service/shared/table.py):
# with 2 workers the circuits' table (65536 rows) is swept in about half a minute, a spent-token
# table in at most 7 minutes (868,800 rows at the default limits, only once all were written to;
# a spend reuses an expired row it meets anyway), at well under a millisecond of CPU a second.
SWEEP_ROWS = 1024
# gunicorn calls murder_pending after every turn of the worker's loop, i.e. after every batch of
# socket events: hundreds of times a second under load. Sweeping on each turn cost more CPU
# than serving the trivial route, and held the tables' cross-process lock against the requests
# of both workers; so a worker sweeps at most this often.
SWEEP_SECONDS = 1.0


class BufferingWorker(ThreadWorker):
    """gthread, with each request read in full by the event loop before a thread serves it."""

    # Set by onion_service.process.server (a subclass per server): what each listening socket
    # expects (listeners.Listening: whether its connections start with tor's PROXY line, which
    # route it is), and the shared tables to sweep.
    meldpunt_listening: tuple = ()
    meldpunt_sweep: tuple = ()
    # gunicorn's attribute (gunicorn has no types): the application its load() returned, our Flask
    # app, until load_wsgi below wraps it; the app itself stays as meldpunt_app.
    wsgi: Any
    meldpunt_app: Flask

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Keyed as gthread keys each connection (TConn.server); every socket must be described.
        self._listening = listeners.by_socket_name(self.sockets, self.meldpunt_listening)
        self._reading: deque = deque()  # connections being read, oldest (first to expire) first
        self._serving = threading.local()  # the circuit of the request this pool thread serves
        self._quitting = False
        self._next_sweep = 0.0  # time.monotonic() of the next sweep of the shared tables

    def load_wsgi(self) -> None:
        super().load_wsgi()
        app, serving = self.wsgi, self._serving
        self.meldpunt_app = app  # the application itself, for refusals made outside a request

        def with_circuit(environ, start_response):
            circuit = getattr(serving, "circuit", None)
            if circuit is not None:
                environ[ENVIRON_KEY] = circuit
            environ[routes.ENVIRON_KEY] = serving.route
            return app(environ, start_response)

        self.wsgi = with_circuit

    def handle_quit(self, sig, frame) -> None:
        # gthread's handler shuts its thread pool down from inside the signal handler, which takes
        # the pool's lock: when the signal lands while this thread holds that lock (handing a
        # request to the pool), or while a first quit is still in there (Ctrl-C reaches every
        # process of the group, and the master then sends SIGQUIT as well), the worker waits for
        # itself until the master kills it. Leaving needs no shutdown: the pool's threads end
        # with the process (onion_service/process/server.py leaves with os._exit).
        if self._quitting:
            return
        self._quitting = True
        self.alive = False
        self.cfg.worker_int(self)
        sys.exit(0)

    def enqueue_req(self, conn) -> None:
        if getattr(conn, "meldpunt_request", None) is not None:
            super().enqueue_req(conn)
            return
        buf = bytearray()
        if conn.parser is not None:
            # A kept-alive connection: bytes of the next request already read ahead start the buffer.
            buf += conn.parser.unreader.take_buffered()
        else:
            # A new connection: what its socket expects of it.
            conn.meldpunt_listening = self._listening.get(conn.server)
            if conn.meldpunt_listening is None:
                self.nr_conns -= 1
                conn.close()  # not a socket of ours (cannot happen: __init__ checked each one)
                return
            if conn.meldpunt_listening.proxy_line:
                conn.meldpunt_circuit = None  # tor's socket: the PROXY line comes first
        conn.meldpunt_buf = buf
        conn.meldpunt_deadline = time.monotonic() + READ_SECONDS
        if buf and _complete(buf):
            self._hand_over(conn, registered=False)
            return
        conn.sock.setblocking(False)
        self._reading.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn, _sock) -> None:
        try:
            data = conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if not data:
            # The client stopped sending (a half-close) before its request was complete: what it
            # sent is all there will be, so gunicorn and the app answer it (a short body gets
            # its 400) without waiting. Nothing at all: it just went away.
            if conn.meldpunt_buf and not self._awaits_proxy_line(conn):
                self._hand_over(conn, registered=True)
            else:
                self._drop(conn)
            return
        conn.meldpunt_buf += data
        if self._awaits_proxy_line(conn):
            try:
                parsed = proxyline.parse(conn.meldpunt_buf)
            except proxyline.ProxyLineError:
                self._drop(conn)  # not tor: closed without a word
                return
            if parsed is None:
                return
            conn.meldpunt_circuit, used = parsed
            del conn.meldpunt_buf[:used]
        if conn.meldpunt_buf and _complete(conn.meldpunt_buf):
            self._hand_over(conn, registered=True)

    @staticmethod
    def _awaits_proxy_line(conn) -> bool:
        # None until the line is read, on sockets that demand one; absent on the others.
        return getattr(conn, "meldpunt_circuit", 0) is None

    def _hand_over(self, conn, *, registered: bool) -> None:
        if registered:
            self.poller.unregister(conn.sock)
            self._reading.remove(conn)
        conn.meldpunt_request = bytes(conn.meldpunt_buf)
        del conn.meldpunt_buf
        super().enqueue_req(conn)

    def _drop(self, conn) -> None:
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass  # the socket is already closed
        self._reading.remove(conn)
        self.nr_conns -= 1
        conn.close()

    def handle(self, conn):
        # In a pool thread: give the parser the request the event loop read, then serve it.
        request = conn.__dict__.pop("meldpunt_request", None)
        self._serving.circuit = getattr(conn, "meldpunt_circuit", None)
        self._serving.route = conn.meldpunt_listening.route
        if request is not None:
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(request)
            conn.data_ready = True
        return super().handle(conn)

    def murder_pending(self) -> None:
        # Called by the worker's loop after every turn (at least once a second): close requests
        # past their deadline, and every unfinished one once the worker is stopping.
        super().murder_pending()
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            for table in self.meldpunt_sweep:
                table.sweep(SWEEP_ROWS)
        while self._reading and (not self.alive or self._reading[0].meldpunt_deadline <= now):
            self._drop(self._reading[0])
