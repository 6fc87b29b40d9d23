"""What a process forked from the gunicorn master does to itself before its own work (the writer,
onion_service/process/writer.py): let go of the master's descriptors, and take a name of its own."""

from __future__ import annotations

import os
from collections.abc import Iterable


def close_inherited(keep: set[int]) -> None:
    # The master's listening sockets and log files are not the writer's business: holding them
    # would keep the port bound after the master has gone. Each is pointed at /dev/null rather
    # than closed, so its number stays taken: the Python objects that owned them (a socket, a
    # database connection, garbage not yet collected) still exist in this copy of the master's
    # memory, and one finalized here closes "its" descriptor. Had the number been freed, it
    # could by then be a worker thread's connection, and the writer's answer on it would fail
    # (EBADF: the writer died, and every worker's report got a 503, issue 24).
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)  # the lowest free number: nobody's
    try:
        for fd in _open_descriptors():
            if fd > 2 and fd != null and fd not in keep:
                os.dup2(null, fd, inheritable=False)
    finally:
        os.close(null)


def _open_descriptors() -> list[int]:
    # Read whole before any is replaced; the descriptor listdir itself used is closed by then
    # (dup2 onto a closed number would open it, hence the check).
    try:
        listed: Iterable[int] = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc mounted: every number the limit allows (slower, same result)
        listed = range(os.sysconf("SC_OPEN_MAX"))
    return [fd for fd in listed if _is_open(fd)]


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def name_process(name: bytes) -> None:
    # So that the sysadmin (and the fault tests) can tell the writer from gunicorn's workers.
    with open("/proc/self/comm", "wb") as comm:
        comm.write(name)
