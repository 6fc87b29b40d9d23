"""The lock on the workers' shared memory: it excludes other processes, and a holder that is
killed (SIGKILL, as the OOM killer or the fault tests do) does not leave it held."""

from __future__ import annotations

import os
import signal
import threading

from onion_service.shared.lock import SharedLock


def _child_holding(lock: SharedLock) -> tuple[int, int]:
    """A forked process that takes the lock, says so on a pipe, then waits to be killed."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: hold the lock until killed
        try:
            lock.__enter__()
            os.write(ready_w, b"x")
            signal.pause()
        finally:
            os._exit(0)
    os.close(ready_w)
    assert os.read(ready_r, 1) == b"x"
    return pid, ready_r


def _acquired_within(lock: SharedLock, seconds: float) -> bool:
    got = threading.Event()

    def take() -> None:
        with lock:
            got.set()

    threading.Thread(target=take, daemon=True).start()
    return got.wait(seconds)


def test_a_process_holding_the_lock_excludes_the_others_until_it_is_killed():
    lock = SharedLock()
    pid, ready = _child_holding(lock)
    try:
        assert not _acquired_within(lock, 0.5)  # held by the child
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        assert _acquired_within(lock, 5)  # the kernel released it with its holder
    finally:
        os.close(ready)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        except ProcessLookupError:
            pass


def test_threads_of_one_process_take_it_in_turn():
    lock = SharedLock()
    inside, overlaps = [0], []

    def work() -> None:
        for _ in range(2000):
            with lock:
                inside[0] += 1
                if inside[0] != 1:
                    overlaps.append(inside[0])
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert overlaps == []


def test_two_locks_used_by_threads_of_several_processes_never_fail():
    # The kernel's deadlock check sees processes, not threads, and refuses some waits on two
    # such locks (EDEADLK) though nothing is stuck: the lock must wait them out, not raise.
    first, second = SharedLock(), SharedLock()
    children = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            failed = []

            def work(lock: SharedLock) -> None:
                try:
                    for _ in range(3000):
                        with lock:
                            pass
                except OSError as exc:
                    failed.append(exc)  # noqa: B023  (this child exits before the loop makes another list)

            threads = [threading.Thread(target=work, args=(lock,)) for lock in (first, second) * 4]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            os._exit(1 if failed or any(t.is_alive() for t in threads) else 0)
        children.append(pid)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    assert codes == [0, 0, 0]
