"""Running the `meldpunt` CLI and other age tools as subprocesses, with or without a terminal."""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Passphrase files in tests use a cheap scrypt; the default (18) is tested once on its own.
FAST_ENV = {**os.environ, "MELDPUNT_INSECURE_SCRYPT_WORK_FACTOR": "10"}


def meldpunt(
    *args: str, input: bytes | None = None, env: dict | None = None, cwd=None, check: bool = False
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "meldpunt.cli", *args],
        input=input if input is not None else b"",
        capture_output=True,
        timeout=120,
        env=env if env is not None else FAST_ENV,
        cwd=cwd or ROOT,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"meldpunt {args[0]} failed: {result.stderr.decode()}")
    return result


def read_terminal(master: int, size: int) -> bytes | None:
    """One read from a pseudo-terminal's master side; None once the child has closed the terminal."""
    try:
        chunk = os.read(master, size)
    except OSError:  # EIO: the child closed the terminal
        return None
    return chunk or None


def run_in_terminal(
    argv: list[str], answers: list[str], *, env: dict | None = None, cwd=None, timeout: float = 60
) -> tuple[int, bytes]:
    """Runs argv with a new pseudo-terminal as its controlling terminal and as stdin/stdout/
    stderr, typing one answer after each prompt (a chunk of output ending in ': ')."""
    master, slave = os.openpty()

    def become_session_leader() -> None:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env or FAST_ENV,
        cwd=cwd or ROOT,
        preexec_fn=become_session_leader,
        pass_fds=(slave,),
    )
    os.close(slave)
    output = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    # poll, not select: select refuses a descriptor numbered 1024 or more, which a long test
    # session (many servers and browsers before this test) reaches.
    poller = select.poll()
    poller.register(master, select.POLLIN)
    try:
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"{argv[0]} did not finish; output so far: {output!r}")
            ready = poller.poll(200)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            chunk = read_terminal(master, 4096)
            if chunk is None:
                break
            output += chunk
            # A prompt is output that ends in ": " and nothing after it (not even the newline
            # written once the answer is read, or the next answer would go out too early).
            if pending and output.endswith(b": "):
                os.write(master, pending.pop(0).encode() + b"\n")
        return proc.wait(timeout=timeout), output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
