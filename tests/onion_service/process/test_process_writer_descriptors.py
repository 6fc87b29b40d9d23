"""The writer's descriptors after the fork: what it inherits cannot reach what it opens later.

The writer is forked from the master and drops the descriptors it inherits. The Python objects
that owned them (a socket, a database connection, garbage not yet collected) still exist in its
copy of the master's memory, and one finalized there closes "its" descriptor. Issue 24's flake:
in a test process holding such garbage, that close hit a worker thread's connection the writer
had accepted under the freed number; its answer failed with EBADF and the writer died.
"""

import os
import socket

from onion_service.process.child import close_inherited


def _in_a_forked_child(check) -> bytes:
    """Runs `check(keep_fd)` in a forked child, which drops its inherited descriptors as the
    writer does; returns the bytes it wrote to the kept descriptor."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            close_inherited(keep={w})
            os.write(w, check())
        finally:
            os._exit(0)
    os.close(w)
    try:
        chunks = []
        while chunk := os.read(r, 64):
            chunks.append(chunk)
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    return b"".join(chunks)


def test_an_inherited_socket_closed_late_leaves_the_writers_own_connections_working():
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # e.g. in a garbage cycle at the fork

    def check() -> bytes:
        mine, theirs = socket.socketpair()  # a worker thread's connection, accepted afterwards
        if stale.fileno() in (mine.fileno(), theirs.fileno()):
            return b"the freed number was given to the writer's own connection"
        stale.close()  # the inherited object is finalized: it closes "its" descriptor
        try:
            theirs.sendall(b"answer")
            return mine.recv(16)
        except OSError as exc:
            return f"the writer's connection broke: {exc}".encode()

    try:
        assert _in_a_forked_child(check) == b"answer"
    finally:
        stale.close()


def test_inherited_descriptors_hold_nothing_of_the_master():
    # A listening socket the master holds is not held by the writer: the port can go with the master.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def check() -> bytes:
        return b"listening" if _listening(listener.fileno()) else b"gone"

    try:
        assert _in_a_forked_child(check) == b"gone"
    finally:
        listener.close()


def _listening(fd: int) -> bool:
    try:
        probe = socket.socket(fileno=os.dup(fd))
    except OSError:
        return False
    try:
        return probe.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
    except OSError:
        return False
    finally:
        probe.close()
