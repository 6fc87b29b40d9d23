"""What a seized disk shows: after compaction, no signal an examiner can read from the database or
its files orders one day's reports (or spent tokens) by arrival better than chance.

Reports are stored one transaction each in a known order, on top of older days' reports, some of
them exported and some purged; then every signal in ordering.SIGNALS is read before and after
`Store.compact` (what the writer runs when the day changes, and every purge). Before: the harness
must see the order (so the test can fail); after: Kendall's |tau| stays within the bound a random
permutation keeps (ordering.random_bound). The printed table gives each signal's tau, before and
after: how long order stays visible is "until the next compaction" for every signal listed
(PostgreSQL's write-ahead log aside: see SECURITY.md).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import sys
from pathlib import Path

import pytest

from onion_service.store import open_store
from tests.forensics.ordering import SIGNALS, Evidence, database_files, kendall_tau, random_bound
from tests.formkit import report_fields
from tests.harness import Server, write_config

TODAY = datetime.date(2026, 12, 7)
ROWS = 40  # within one day; the bound for 40 is |tau| < 0.43
SEALED_BYTES = 17_000  # a sealed report's size: out of line in PostgreSQL's TOAST, overflow pages in SQLite


def _sealed() -> bytes:
    return os.urandom(SEALED_BYTES)  # age ciphertext is indistinguishable from random bytes


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def seized(request, tmp_path):
    """(store, evidence maker): a store on each backend, and a function that checkpoints and
    gathers what an examiner would take."""
    if request.param == "sqlite":
        path = tmp_path / "reports.sqlite3"
        store = open_store(f"sqlite:///{path}")
        yield (
            store,
            lambda sealed, spent: Evidence(
                "sqlite", store.engine, [p for p in tmp_path.iterdir() if p.name.startswith(path.name)], sealed, spent
            ),
        )
        store.close()
        return
    server = request.getfixturevalue("postgres_server")
    with server.isolated_schema("forensics") as url:
        store = open_store(url)

        def evidence(sealed: dict[bytes, bytes], spent: list[bytes]) -> Evidence:
            server.execute("CHECKPOINT")  # what sits in shared buffers reaches the files
            return Evidence("postgresql", store.engine, database_files(server.data), sealed, spent)

        yield store, evidence
        store.close()


def _read(evidence: Evidence, arrival: list[bytes], spent: list[bytes]) -> dict[str, tuple[float, int, bool]]:
    taus = {}
    for name, (signal, keys, erasable) in SIGNALS.items():
        values = signal(evidence)
        if values is None:
            continue
        order = arrival if keys == "reports" else spent
        seen = [k for k in order if k in values]
        taus[name] = (kendall_tau(order, values), len(seen), erasable)
    return taus


@pytest.mark.slow
def test_after_compaction_no_signal_orders_a_days_reports(seized):
    store, evidence = seized
    # Earlier days: stored, some exported, some purged (a purge compacts too).
    older = {}
    for back in (3, 2, 1):
        for _ in range(5):
            sealed = _sealed()
            older[store.add(sealed, TODAY - datetime.timedelta(days=back))] = sealed
    store.mark_exported(list(older)[:5])
    purged = list(older.items())[:3]
    assert store.purge([(rid, hashlib.sha256(sealed).digest()) for rid, sealed in purged]) == 3
    # The day under examination: one transaction each, in a known order.
    arrival, sealed_by_id, spent = [], {}, []
    for _ in range(ROWS):
        sealed = _sealed()
        rid = store.add(sealed, TODAY)
        arrival.append(rid)
        sealed_by_id[rid] = sealed
        if store.shares_spent_tokens:
            digest = os.urandom(32)
            assert store.spend_token(digest, TODAY)
            spent.append(digest)

    before = _read(evidence(sealed_by_id, spent), arrival, spent)
    store.compact()
    after = _read(evidence(sealed_by_id, spent), arrival, spent)

    bound = random_bound(ROWS)
    print(
        f"\n{store.backend}: Kendall's tau with arrival order, {ROWS} reports of one day (random: |tau| < {bound:.2f})",
        file=sys.stderr,
    )
    for name in sorted(set(before) | set(after)):
        b = f"{before[name][0]:+.2f} ({before[name][1]})" if name in before else "absent"
        a = f"{after[name][0]:+.2f} ({after[name][1]})" if name in after else "absent"
        print(f"  {name:34} before {b:>14}   after compaction {a:>14}", file=sys.stderr)

    # The harness sees order where it exists: the first signals an examiner reads show it.
    strongest = max(abs(tau) for tau, _, _ in before.values())
    assert strongest > bound, before
    for name, (tau, seen, erasable) in after.items():
        if erasable and seen >= ROWS // 2:
            assert abs(tau) <= bound, (name, tau, after)
    # Every report is still there, whole.
    assert {r.id: r.sealed for r in store.pending() if r.day == TODAY} == sealed_by_id


_TOKEN = re.compile(r'name="token" value="([^"]+)"')


def _report_through(server: Server, n: int) -> None:
    status, _, page = server.request("GET", "/en/")
    assert status == 200
    token = _TOKEN.search(page).group(1)
    status, _, page = server.post_form("en", report_fields(token, description=f"forensic {n}"))
    assert status == 200, page[-500:]


@pytest.mark.slow
def test_a_crash_then_a_restart_leaves_no_order_of_what_the_server_stored(request, tmp_path, staff, database_url):
    """The issue's scenario through the running server: reports posted one by one (the writer
    commits each in its own batch), the whole server killed, started again (its writer compacts
    when it starts), then the database read before any export."""
    data_dir = tmp_path / "data"
    config = write_config(
        tmp_path / "meldpunt.toml", data_dir, staff.recipient, database_url=database_url, form_min_seconds=0
    )
    server = Server(config, tmp_path / "logs").start()
    try:
        for n in range(ROWS):
            _report_through(server, n)
        server.kill()
        server.start()
        # The writer compacts before it commits anything: one report acknowledged after the
        # restart means the compaction is done.
        _report_through(server, ROWS)
    finally:
        server.stop()
    url = database_url or f"sqlite:///{data_dir / 'reports.sqlite3'}"
    with open_store(url) as store:
        stored = {r.id: r.sealed for r in store.pending()}
        number = {rid: int(staff.open(sealed).description.split()[1]) for rid, sealed in stored.items()}
        arrival = sorted(stored, key=number.__getitem__)
        if store.backend == "sqlite":
            path = Path(url.removeprefix("sqlite:///"))
            files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
        else:
            pg = request.getfixturevalue("_postgres_session")
            pg.execute("CHECKPOINT")
            files = database_files(pg.data)
        after = _read(Evidence(store.backend, store.engine, files, stored, []), arrival, [])
    bound = random_bound(len(arrival))
    print(
        f"\n{store.backend} after a crash and a restart: "
        + ", ".join(f"{name} {tau:+.2f}" for name, (tau, _, _) in sorted(after.items())),
        file=sys.stderr,
    )
    assert after  # the examiner read something
    for name, (tau, seen, _) in after.items():
        if seen >= ROWS // 2:
            assert abs(tau) <= bound, (name, tau, after)
