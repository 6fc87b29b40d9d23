"""The writer: one process that commits every worker's sealed reports, many to one flush.

Why a process of its own: a synced commit costs a disk flush, and the reports that arrive while
one flush runs should share the next. A committer inside a worker would share that worker's
interpreter lock with its request threads, busy parsing and sealing, and need it back after
every database call; the committers of several workers would take turns on SQLite's single
write lock. Here the commits run in a process that does nothing else, so it gets its lock at
once, and it gathers the reports of all workers into one transaction (Store.insert_reports): the
one place where the web server's reports are committed.

How a worker reaches it, without any name on disk or on the network: the master makes a
datagram socket pair before anything forks. Each worker thread makes a stream socket pair of
its own and passes one end to the writer over that datagram socket (SCM_RIGHTS); from then on it
sends a sealed report and waits for the one answer: committed and synced (with the new id), or
the reason it was not. Only processes the master forked hold the datagram socket.

Invariant 4: the answer is sent only after the commit holding the row has returned; a writer
that dies first sends nothing, and the worker answers 503.
"""

from __future__ import annotations

import datetime
import os
import selectors
import signal
import socket
import struct
import threading

from onion_service.process.child import close_inherited, name_process
from onion_service.store import (
    ID_BYTES,
    MAX_SEALED_BYTES,
    PURGE_HASH_BYTES,
    StoreCorrupt,
    StoreError,
    StoreUnavailable,
    open_store,
)

# A report on the wire: its length, its day (proleptic ordinal), whether it has a purge hash,
# the purge hash (zeros if not), then the sealed bytes.
_HEAD = struct.Struct(f"!IIB{PURGE_HASH_BYTES}s")
# The answer: a status, then the new id (zeros unless committed).
_ACK = struct.Struct(f"!B{ID_BYTES}s")
_COMMITTED, _UNAVAILABLE, _CORRUPT = 0, 1, 2
# Socket ends passed per datagram: one per connecting worker thread; a few spare.
_MAX_FDS = 8
# Bytes read per call: room for a dozen sealed reports (about 18 KB each), so one call drains
# what a worker thread sent. What a connection can make the writer buffer is bounded by the
# framing instead: one report of at most MAX_SEALED_BYTES, as each thread waits for its answer.
_RECV_BYTES = 256 * 1024
# What `ps` and /proc/PID/comm show for the writer (at most 15 bytes).
PROCESS_NAME = b"meldpunt-writer"
# The signals a whole service receives (systemd's stop, Ctrl-C in a terminal) or that steer
# gunicorn's master: the writer ignores them all, so that neither those nor the master's
# handlers (inherited through the fork) can end it while workers still need it.
_IGNORED = frozenset(
    {
        signal.SIGTERM,
        signal.SIGINT,
        signal.SIGQUIT,
        signal.SIGHUP,
        signal.SIGUSR1,
        signal.SIGUSR2,
        signal.SIGWINCH,
        signal.SIGTTIN,
        signal.SIGTTOU,
    }
)
# How long a stopping writer may take to commit what it has and exit before it is killed.
_STOP_SECONDS = 15.0


class Writer:
    """The master's handle on the writer process: start, restart when it died, stop."""

    def __init__(self, database_url: str, *, answer_timeout: float) -> None:
        self._url = database_url
        self._timeout = answer_timeout
        self._to_writer, self._from_workers = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        # While no writer reads (it is being restarted), a few hundred threads at most queue up
        # here; past the kernel's queue length a sender waits, and then only this long.
        self._to_writer.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(answer_timeout))
        # Stopping without signals: the master and every worker it forks hold the write end of
        # this pipe, and the writer serves until the read end sees EOF, i.e. until all of them
        # are gone. A SIGTERM sent to the whole service at once (systemd's default) thus cannot
        # stop the writer while workers still finish their last reports.
        self._needed_r, self._needed_w = os.pipe()
        self.pid = 0
        self._life = -1  # read end of a pipe whose write end only the writer holds: EOF = gone
        self._stopped = False

    def start(self) -> None:
        """Forks the writer. Call it while the calling process has no other thread, and no
        connection open to the database: the writer closes every descriptor it inherits, and
        SQLite, still keeping in memory the inherited connection's files and locks, would then
        refuse the writer's own commits (SQLITE_PROTOCOL)."""
        life_r, life_w = os.pipe()
        # Held back from the fork until the writer ignores them: one that came in between would
        # otherwise run the master's handler, or kill the new writer.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _IGNORED)
        pid = os.fork()
        if pid == 0:  # the writer
            code = 1
            try:
                for sig in _IGNORED:
                    signal.signal(sig, signal.SIG_IGN)
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                close_inherited(keep={self._from_workers.fileno(), self._needed_r, life_w})
                name_process(PROCESS_NAME)
                code = _serve(self._url, self._from_workers, self._needed_r)
            finally:
                os._exit(code)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(life_w)
        self.pid, self._life = pid, life_r

    def alive(self) -> bool:
        if self._life < 0:
            return False
        ready = selectors.DefaultSelector()
        try:
            ready.register(self._life, selectors.EVENT_READ)
            return not ready.select(0)  # readable only once the writer has exited (EOF)
        finally:
            ready.close()

    def restart_if_gone(self) -> bool:
        """Starts a new writer if the last one exited (and stop was not called); True if it did."""
        if self._stopped or self.alive():
            return False
        self._reap()
        self.start()
        return True

    def stop(self) -> None:
        """Lets the writer go once the workers are gone too (they hold the pipe's write end as
        well); it commits what it holds and exits, or is killed if that takes too long."""
        if self._stopped:
            return
        self._stopped = True
        os.close(self._needed_w)
        if self._life < 0:
            return
        if not self.alive():  # gone already (and perhaps reaped: its pid may be another's now)
            self._reap()
            return
        ready = selectors.DefaultSelector()
        ready.register(self._life, selectors.EVENT_READ)
        if not ready.select(_STOP_SECONDS):
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        ready.close()
        self._reap()

    def _reap(self) -> None:
        if self._life >= 0:
            os.close(self._life)
            self._life = -1
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass  # gunicorn's master reaps every child it sees exit, ours included

    def client(self) -> WriterClient:
        """What a worker's store sends reports through (made in the worker, after the fork)."""
        return WriterClient(self._to_writer, answer_timeout=self._timeout)


class WriterClient:
    """A worker's side: each thread has its own connection, with one report in flight at most."""

    def __init__(self, to_writer: socket.socket, *, answer_timeout: float) -> None:
        self._to_writer = to_writer
        self._timeout = answer_timeout
        self._local = threading.local()

    def add(self, sealed: bytes, day: datetime.date, purge_hash: bytes | None = None) -> bytes:
        """Returns the new id once the writer has committed the report; else StoreUnavailable."""
        has_hash = purge_hash is not None
        head = _HEAD.pack(len(sealed), day.toordinal(), has_hash, purge_hash if has_hash else b"")
        message = head + sealed
        conn = self._connection()
        try:
            conn.sendall(message)
        except OSError:
            # The writer this thread knew has gone (the master starts another): it never saw
            # the report whole, so sending it to the new one cannot store it twice.
            self._drop()
            conn = self._connection()
            try:
                conn.sendall(message)
            except OSError:
                self._drop()
                raise StoreUnavailable("the report writer cannot be reached") from None
        try:
            answer = _recv_exactly(conn, _ACK.size)
        except OSError:
            # The writer died, or did not answer in time: it may or may not have committed the
            # report, so the reporter is told it was not saved (at worst, staff see it twice).
            self._drop()
            raise StoreUnavailable("the report writer did not answer") from None
        status, report_id = _ACK.unpack(answer)
        if status == _COMMITTED:
            return report_id
        if status == _CORRUPT:
            raise StoreCorrupt("the report database is damaged")
        raise StoreUnavailable("the report database is unavailable")

    def _connection(self) -> socket.socket:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            socket.send_fds(self._to_writer, [b"c"], [theirs.fileno()])
        except OSError:
            mine.close()
            raise StoreUnavailable("the report writer cannot be reached") from None
        finally:
            theirs.close()
        # Bounded waits set in the kernel, on a blocking socket: Python's own socket timeouts
        # poll before every call, which costs more CPU than the exchange itself.
        mine.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(self._timeout))
        mine.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(self._timeout))
        self._local.conn, self._local.pid = mine, os.getpid()
        return mine

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()


def _timeval(seconds: float) -> bytes:
    whole, micro = divmod(int(seconds * 1_000_000), 1_000_000)
    return struct.pack("ll", whole, micro)


def _recv_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("the writer closed the connection")
        data += chunk
    return data


# -- the writer process ------------------------------------------------------------------------


def _serve(database_url: str, from_workers: socket.socket, needed: int) -> int:
    # Stopped only by EOF on `needed` (see Writer.__init__), never by a signal (_IGNORED).
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    store = open_store(database_url, tolerate_outage=True)
    ready = selectors.DefaultSelector()
    ready.register(from_workers, selectors.EVENT_READ)
    ready.register(needed, selectors.EVENT_READ)
    buffers: dict[socket.socket, bytearray] = {}
    compacted_on: datetime.date | None = None
    try:
        last = False
        while not last:
            compacted_on = _compact_daily(store, compacted_on)
            batch: list[tuple[socket.socket, bytes, datetime.date, bytes | None]] = []
            for key, _ in ready.select(_seconds_to_next_day()):
                if key.fileobj is from_workers:
                    _accept(from_workers, ready, buffers)
                elif key.fileobj is needed:
                    last = True  # master and workers all gone: commit what came, then leave
                else:
                    batch += _read(key.fileobj, ready, buffers)  # type: ignore[arg-type]  # else a worker's socket
            if batch:
                _commit(store, batch, ready, buffers)
    finally:
        store.close()
    return 0


def _compact_daily(store, compacted_on: datetime.date | None) -> datetime.date | None:
    """Rewrites the store in random-id order once a UTC day (and when the writer starts), between
    batches: the writer owns the commits, so nothing waits on it but reports, for a moment."""
    today = datetime.datetime.now(datetime.UTC).date()
    if compacted_on == today:
        return compacted_on
    try:
        store.compact()
    except StoreError:
        return compacted_on  # the database is busy or away: the next turn of the loop tries again
    return today


def _seconds_to_next_day() -> float:
    # Wakes the loop just after UTC midnight (and at least every 10 minutes, to retry a
    # compaction the database refused) even when no report arrives.
    now = datetime.datetime.now(datetime.UTC)
    midnight = datetime.datetime.combine(now.date() + datetime.timedelta(days=1), datetime.time(), now.tzinfo)
    return min((midnight - now).total_seconds() + 1, 600.0)


def _accept(from_workers: socket.socket, ready: selectors.BaseSelector, buffers: dict) -> None:
    try:
        _, fds, _, _ = socket.recv_fds(from_workers, 16, _MAX_FDS, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return
    for fd in fds:
        conn = socket.socket(fileno=fd)
        conn.setblocking(False)
        buffers[conn] = bytearray()
        ready.register(conn, selectors.EVENT_READ)


def _read(conn: socket.socket, ready: selectors.BaseSelector, buffers: dict) -> list:
    try:
        data = conn.recv(_RECV_BYTES)
    except BlockingIOError:
        return []
    except OSError:
        data = b""
    if not data:
        _close(conn, ready, buffers)  # the worker thread or its process is gone
        return []
    buf = buffers[conn]
    buf += data
    rows = []
    while len(buf) >= _HEAD.size:
        length, ordinal, has_hash, purge_hash = _HEAD.unpack_from(buf)
        if (
            not 0 < length <= MAX_SEALED_BYTES
            or not 0 < ordinal <= datetime.date.max.toordinal()
            or has_hash not in (0, 1)
        ):
            _close(conn, ready, buffers)  # not our client's framing: never guess
            return []
        if len(buf) < _HEAD.size + length:
            break
        sealed = bytes(buf[_HEAD.size : _HEAD.size + length])
        del buf[: _HEAD.size + length]
        rows.append((conn, sealed, datetime.date.fromordinal(ordinal), purge_hash if has_hash else None))
    return rows


def _commit(store, batch: list, ready: selectors.BaseSelector, buffers: dict) -> None:
    try:
        ids = store.insert_reports([(sealed, day, purge_hash) for _, sealed, day, purge_hash in batch])
        answers = [_ACK.pack(_COMMITTED, i) for i in ids]
    except StoreError as exc:
        status = _CORRUPT if isinstance(exc, StoreCorrupt) else _UNAVAILABLE
        answers = [_ACK.pack(status, bytes(ID_BYTES))] * len(batch)
    for (conn, _, _, _), answer in zip(batch, answers, strict=True):
        try:
            conn.send(answer)  # 17 bytes to a thread that waits for them: never blocks
        except OSError:
            _close(conn, ready, buffers)


def _close(conn: socket.socket, ready: selectors.BaseSelector, buffers: dict) -> None:
    if buffers.pop(conn, None) is not None:
        ready.unregister(conn)
        conn.close()
