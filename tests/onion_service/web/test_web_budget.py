"""A route's budget of accepted reports (the disk's reserve and a ceiling per minute): shared by
gunicorn's workers, never per client, and the same Retry-After whatever the clock says. One budget
per route: test_web_route_budgets.py."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from onion_service.shared.budget import REPORT_BYTES, Budget, free_bytes
from onion_service.store import open_store
from tests.harness import Server, make_config, write_config
from tests.onion_service.web.webkit import HTML_LANG, good_fields


def test_budget_counts_per_window():
    now = [120.0]
    budget = Budget(3, clock=lambda: now[0])
    assert [budget.take() for _ in range(3)] == [True, True, True]
    now[0] = 135.0
    assert budget.take() is False
    budget.give_back()
    assert budget.take() is True and budget.take() is False
    now[0] = 180.0  # next minute: a fresh budget
    assert budget.take() is True


def test_disk_reserve_decides_from_the_data_directory_free_space(tmp_path):
    free = [10 * 1024 * 1024]
    budget = Budget(1000, data_dir=tmp_path, reserve_bytes=5 * 1024 * 1024, free=lambda _: free[0])
    assert not budget.disk_full()
    free[0] = 5 * 1024 * 1024 + REPORT_BYTES - 1  # one more report would cut into the reserve
    assert budget.disk_full()
    real = Budget(1000, data_dir=tmp_path, reserve_bytes=0)
    assert not real.disk_full()
    huge = Budget(1000, data_dir=tmp_path, reserve_bytes=free_bytes(tmp_path) + 1)
    assert huge.disk_full()


@pytest.fixture
def tight_server(tmp_path, staff):
    (tmp_path / "tmp").mkdir()
    config = make_config(tmp_path / "data", staff.recipient, reports_per_minute=3)
    path = write_config(tmp_path / "m.toml", tmp_path / "data", staff.recipient, reports_per_minute=3)
    server = Server(path, tmp_path / "logs", tmpdir=tmp_path / "tmp").start()
    yield server, config
    server.stop()


def test_budget_is_global_across_workers(tight_server):
    server, config = tight_server
    assert config.web.workers == 2
    for _attempt in range(2):
        window = int(time.monotonic() // 60)
        forms = [good_fields(config, "de") for _ in range(10)]
        with ThreadPoolExecutor(10) as pool:
            results = list(pool.map(lambda f: server.post_form("de", f), forms))
        if int(time.monotonic() // 60) == window:
            break  # the whole burst fell in one budget window
        time.sleep(max(0.0, 60 - time.monotonic() % 60) + 0.1)
    statuses = sorted(r[0] for r in results)
    accepted = statuses.count(200)
    # Two workers, one budget: exactly 3 in the window, wherever the requests landed.
    assert accepted == 3 and statuses.count(503) == 7
    for status, headers, body in results:
        if status == 503:
            assert headers["retry-after"] == "60"  # constant: nothing of the clock's phase
            assert HTML_LANG.search(body).group(1) == "de"
            assert "Meldungen" in body  # the translated "please try again" notice, form kept
            assert "http://example.org/a" in body
    store = open_store(config.database_url)
    try:
        assert store.count() == 3
    finally:
        store.close()
