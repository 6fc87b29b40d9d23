"""No page spends another page's tokens (issue 22): the status page's look-ups have a spent table
of their own and spend in it only once the code reads as a receipt code and a unit of their budget
is taken; the report form spends only under a unit of its budget. Each table is sized from the
configured ceiling (shared/token.py: spent_slots), so it cannot fill within a token's lifetime,
and a full one refuses only its own page."""

from __future__ import annotations

import re

import pytest

from crypto.envelope.receipt import new_receipt
from crypto.status.keys import SigningKey
from onion_service.shared.budget import Budget
from onion_service.shared.state import make_shared
from onion_service.shared.token import PROBES, SPENT_HEADROOM, FormTokens, SpentTokens, TokenExpired, spent_slots
from onion_service.store import open_store
from onion_service.web.app import create_app
from tests.formkit import form_body, token
from tests.harness import make_config
from tests.kit import RECEIPT, TOKEN
from tests.onion_service.web.webkit import good_fields

HOST = {"Host": "127.0.0.1:5000"}
FORM = "application/x-www-form-urlencoded"
AGAIN_LOOKUP = "Please check the code below and look it up again."
# The smallest ceilings: 2 reports and 2 look-ups a minute, tokens living an hour.
SMALL = {"reports_per_minute": 2, "form_max_hours": 1, "form_min_seconds": 0}


def _setup(tmp_path, staff, database_url):
    config = make_config(
        tmp_path / "data",
        staff.recipient,
        database_url=database_url,
        status_public_key=SigningKey.generate().public().encode(),
        limits={"lookups_per_minute": SMALL["reports_per_minute"]},
        **SMALL,
    )
    store = open_store(config.database_url)
    # The configured budgets, on a clock that stays in one minute (so the counts below are exact).
    minute = SMALL["reports_per_minute"]
    shared = make_shared(
        config, budget=Budget(minute, clock=lambda: 0.0), lookup_budget=Budget(minute, clock=lambda: 0.0)
    )
    client = create_app(config, store=store, shared=shared).test_client()
    return config, store, shared, client


def _look_up(client, config, code: str):
    fields = {"code": code, "token": token(config.data_dir, "status-en"), "homepage": ""}
    return client.post("/en/status", data=form_body(fields), content_type=FORM, headers=HOST)


def _fill(spent) -> None:
    # Every slot taken (spending stops at the first 32 live rows, not at the last free one).
    slots = spent_slots(SMALL["reports_per_minute"], SMALL["form_max_hours"] * 3600)
    for n in range(slots * 8):
        spent.spend(n.to_bytes(12, "big"))
    assert spent._table.live() == slots


def test_the_tables_are_sized_so_the_ceiling_cannot_fill_them():
    # 600 a minute (the look-ups' default) for 6 hours: entries live 6 h + 60 s, which meets at
    # most 362 of the budget's minutes; four times that many slots.
    assert spent_slots(600, 6 * 3600) == SPENT_HEADROOM * 600 * 362 == 868_800
    assert spent_slots(2, 3600) == 4 * 2 * 62
    assert spent_slots(1, 0) == PROBES  # never below one probe's run


def test_as_many_junk_lookups_as_the_report_table_has_slots_leave_reports_accepted(tmp_path, staff, database_url):
    config, store, shared, client = _setup(tmp_path, staff, database_url)
    try:
        slots = spent_slots(SMALL["reports_per_minute"], SMALL["form_max_hours"] * 3600)
        answers = []
        for i in range(slots):
            # Half junk that is no code at all, half well-formed codes that match nothing; every
            # one with a valid token of the status page, as a flooding client would fetch.
            code = "not a code" if i % 2 else new_receipt()
            answers.append(_look_up(client, config, code).status_code)
        # The look-up budget (2 a minute) let two through; the rest were refused without a spend.
        assert answers.count(200) == SMALL["reports_per_minute"], sorted(set(answers))
        assert set(answers) == {200, 400, 503}
        assert shared.lookup_spent._table.live() == SMALL["reports_per_minute"]
        assert shared.spent._table.live() == 0  # not one look-up spent in the reports' table
        for n in range(SMALL["reports_per_minute"]):
            reply = client.post("/en/", data=good_fields(config, "en", description=f"real {n}"), headers=HOST)
            html = reply.get_data(as_text=True)
            assert reply.status_code == 200 and RECEIPT.search(html), re.findall(r"<p>(.*?)</p>", html)[:3]
        assert store.count() == SMALL["reports_per_minute"]
    finally:
        store.close()


def test_a_full_lookup_table_refuses_only_lookups(tmp_path, staff, database_url):
    config, store, shared, client = _setup(tmp_path, staff, database_url)
    try:
        # Filled past anything the budget allows (only a bug or a changed sizing could do this).
        _fill(shared.lookup_spent)
        code = new_receipt()
        refused = _look_up(client, config, code)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 400 and AGAIN_LOOKUP in html and f'value="{code}"' in html
        reply = client.post("/en/", data=good_fields(config, "en"), headers=HOST)
        assert reply.status_code == 200 and RECEIPT.search(reply.get_data(as_text=True))
    finally:
        store.close()


def test_a_full_report_table_refuses_reports_with_the_answers_kept_and_lookups_go_on(tmp_path, staff, database_url):
    config, store, shared, client = _setup(tmp_path, staff, database_url)
    try:
        _fill(shared.spent)
        fields = good_fields(config, "en", description="kept-when-full")
        refused = client.post("/en/", data=fields, headers=HOST)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 400 and "kept-when-full" in html and not RECEIPT.search(html)
        assert TOKEN.search(html).group(1) != fields["token"]
        assert store.count() == 0
        # The refusal gave its budget unit back: the next report is refused for the table, not
        # for the budget (503), and a look-up still answers.
        assert client.post("/en/", data=good_fields(config, "en"), headers=HOST).status_code == 400
        assert _look_up(client, config, new_receipt()).status_code == 200
    finally:
        store.close()


def test_a_replay_spends_no_budget(tmp_path, staff, database_url):
    config, store, shared, client = _setup(tmp_path, staff, database_url)
    try:
        fields = good_fields(config, "en")
        assert client.post("/en/", data=fields, headers=HOST).status_code == 200
        for _ in range(5):
            assert client.post("/en/", data=fields, headers=HOST).status_code == 400
        # The second unit of the minute is still there for a real report.
        assert client.post("/en/", data=good_fields(config, "en"), headers=HOST).status_code == 200
    finally:
        store.close()


def test_a_table_sized_for_the_worst_case_costs_memory_only_as_entries_arrive():
    def rss_kib() -> int:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

    before = rss_kib()
    spent = SpentTokens(3600, slots=2**24)  # 384 MiB of rows at worst
    for n in range(100):
        assert spent.spend(n.to_bytes(12, "big"))
    spent.sweep(2**20)  # the sweep passes over blocks never written to without reading them
    assert not spent.spend((7).to_bytes(12, "big"))  # the table works: a replay is refused
    assert rss_kib() - before < 16 * 1024  # at most a page or two per entry, not the table
    assert spent._table.live() == 100


def test_one_clock_for_a_tokens_age_and_its_spent_entry():
    now = [1_800_000_000.0]
    clock = lambda: now[0]  # noqa: E731  (the clock the table is handed)
    tokens = FormTokens(b"k" * 64, min_seconds=0, max_seconds=3600, clock=clock)
    spent = SpentTokens(3600, slots=PROBES, clock=clock)
    issued = tokens.issue("en")
    now[0] += 10
    assert spent.spend(tokens.check(issued, "en"))
    # The wall clock set back 1000 s, then a token's lifetime and a minute pass: on this clock the
    # token is 2671 s old and still valid, so its entry must still be there. (On a clock of its
    # own, the monotonic one, the entry would have expired: a replay would have been accepted.)
    now[0] += -1000 + 3661
    assert not spent.spend(tokens.check(issued, "en"))
    # Past the token's lifetime on the same clock: the entry goes, because the token is dead too.
    now[0] += 1000
    with pytest.raises(TokenExpired):
        tokens.check(issued, "en")
    assert spent._table.live() == 0


def test_ceilings_whose_tables_could_not_be_held_are_refused_at_start(tmp_path, staff):
    from onion_service.config import ConfigError

    with pytest.raises(ConfigError, match="reports_per_minute x form_max_hours"):
        make_config(tmp_path / "data", staff.recipient, reports_per_minute=1_000_000, form_max_hours=72)
    make_config(tmp_path / "data", staff.recipient, reports_per_minute=10_000, form_max_hours=6)  # the tests' own
