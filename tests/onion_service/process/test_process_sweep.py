"""The workers sweep the shared tables about once a second, not on every turn of their loop.

gunicorn calls murder_pending after every batch of socket events: hundreds of times a second
under load. A sweep there on each call cost more CPU than serving the trivial route (issue 24).
"""

import types
from collections import deque

from onion_service.process import worker as worker_module
from onion_service.process.worker import SWEEP_ROWS, BufferingWorker


class CountingTable:
    def __init__(self) -> None:
        self.sweeps: list[int] = []

    def sweep(self, count: int) -> None:
        self.sweeps.append(count)


def _worker(tables) -> BufferingWorker:
    # Only what murder_pending reads: no gunicorn worker is started.
    worker = BufferingWorker.__new__(BufferingWorker)
    worker.pending_conns = deque()
    worker._reading = deque()
    worker._next_sweep = 0.0
    worker.alive = True
    worker.meldpunt_sweep = tuple(tables)
    return worker


def test_many_turns_of_the_loop_within_a_second_sweep_once(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(worker_module, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    tables = [CountingTable(), CountingTable()]
    worker = _worker(tables)
    for _ in range(500):  # a busy second: one turn of the loop per request
        worker.murder_pending()
        now[0] += 0.0019
    assert [t.sweeps for t in tables] == [[SWEEP_ROWS], [SWEEP_ROWS]]
    now[0] += 0.1  # past the second since the first sweep
    worker.murder_pending()
    assert [t.sweeps for t in tables] == [[SWEEP_ROWS] * 2, [SWEEP_ROWS] * 2]


def test_an_idle_worker_still_sweeps_every_second(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(worker_module, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    table = CountingTable()
    worker = _worker([table])
    for _ in range(5):  # the loop's select times out after a second when nothing happens
        worker.murder_pending()
        now[0] += 1.0
    assert table.sweeps == [SWEEP_ROWS] * 5
