"""SQLite: the committers of several processes (gunicorn workers) take turns through a blocking
flock on the database's directory instead of SQLite's sleeping busy handler."""

from __future__ import annotations

import datetime
import fcntl
import os
import threading

from onion_service.store import open_store

DAY = datetime.date(2026, 11, 22)


def test_a_commit_waits_for_the_writer_turn_and_goes_in_as_soon_as_it_is_free(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/reports.sqlite3")
    try:
        # Another worker's committer holding the turn: a flock on its own open directory.
        other = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(other, fcntl.LOCK_EX)
        done = threading.Event()
        adder = threading.Thread(target=lambda: (store.add(os.urandom(100), DAY), done.set()))
        adder.start()
        try:
            assert not done.wait(0.5)  # waits, and has written nothing meanwhile
            assert store.count() == 0
        finally:
            fcntl.flock(other, fcntl.LOCK_UN)
            os.close(other)
        assert done.wait(10)
        adder.join()
        assert store.count() == 1
        # ... and the store gives the turn back after each commit.
        probe = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)
    finally:
        store.close()
