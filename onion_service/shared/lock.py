"""A lock for the memory that gunicorn's workers share, which a killed holder cannot leave held.

multiprocessing's Lock is a semaphore: a worker SIGKILLed while it holds one (the kernel's OOM
killer can do that, and the fault tests do) leaves it taken for good, and every other worker then
waits on it until gunicorn kills them for not answering. A POSIX record lock is released by the
kernel when its holder dies. It is taken on an anonymous memory file (memfd), so nothing of it is
ever on disk. Record locks belong to the process, not the thread, so a thread lock comes first.

The kernel's deadlock check sees processes, not threads: with two of these locks, one thread of a
worker holding the first while another waits for the second can look like a cycle with another
worker, and the wait is refused (EDEADLK) though nothing is stuck. No code here takes one of these
locks while holding another, so such a refusal is always a false alarm, and the wait is retried.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time

# Long enough for the other worker's holder to finish; far below anything a reporter notices.
_RETRY_SECONDS = 0.0005


class SharedLock:
    """Made by the master before it forks; every worker inherits the same memory file."""

    def __init__(self) -> None:
        # The descriptor must never be closed while the service runs: closing any descriptor of
        # the file drops this process's record locks on it.
        self._fd = os.memfd_create("meldpunt-shared-lock", os.MFD_CLOEXEC)
        self._threads = threading.Lock()

    def __enter__(self) -> SharedLock:
        self._threads.acquire()
        try:
            while True:
                try:
                    fcntl.lockf(self._fd, fcntl.LOCK_EX)
                    return self
                except OSError as exc:
                    if exc.errno != errno.EDEADLK:
                        raise
                time.sleep(_RETRY_SECONDS)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc_info: object) -> None:
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()
