"""A budget per route (onion_service/shared/route_budgets.py): a flood that spends the HTTPS
route's reports (or look-ups) for the minute leaves the onion route's untouched, and the reverse.
The route is the socket a request came in on; here the test client sets it, as the worker does."""

from __future__ import annotations

import pytest

from crypto.envelope.receipt import new_receipt
from crypto.status.keys import SigningKey
from onion_service.shared.budget import Budget
from onion_service.shared.route_budgets import ROUTES, RouteBudgets, budgets_spending
from onion_service.shared.state import make_shared
from onion_service.shared.token import spent_slots
from onion_service.web import routes
from onion_service.web.app import create_app
from tests.harness import make_config
from tests.kit import RECEIPT
from tests.onion_service.web.webkit import good_fields, token

PUBLIC = "report.example.org"
ONION = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"
PER_MINUTE = 3
HOSTS = {routes.ONION: ONION, routes.HTTPS: PUBLIC}
BUSY = "Many reports are arriving right now."
BUSY_LOOKUPS = "Many people are using this page right now."


@pytest.fixture
def clients(app_env):
    config = make_config(
        app_env.config.data_dir,
        app_env.identity.recipient,
        database_url=app_env.config.database_url,
        public_hosts=[PUBLIC],
        https_bind=f"unix:{app_env.config.data_dir}/https.sock",
        reports_per_minute=PER_MINUTE,
        limits={"lookups_per_minute": PER_MINUTE},
        form_min_seconds=0,
        status_public_key=SigningKey.generate().public().encode(),
    )
    shared = make_shared(config)
    # The configured budgets, on a clock that stays in one minute (so the counts below are exact).
    for budgets in (shared.budgets, shared.lookup_budgets):
        for budget in (budgets.onion, budgets.https):
            budget._clock = lambda: 0.0
    app = create_app(config, store=app_env.store, shared=shared, onion_address=ONION)
    out = {}
    for route in (routes.ONION, routes.HTTPS):
        out[route] = app.test_client()
        out[route].environ_base[routes.ENVIRON_KEY] = route
    return config, shared, out


def _report(config, client, route: str, n: int):
    reply = client.post(
        "/en/", data=good_fields(config, "en", description=f"report {n}"), headers={"Host": HOSTS[route]}
    )
    return reply.status_code, reply.get_data(as_text=True)


@pytest.mark.parametrize("flooded", [routes.HTTPS, routes.ONION])
def test_a_flood_that_spends_one_routes_budget_leaves_the_other_routes(app_env, clients, flooded):
    config, _shared, client = clients
    other = routes.ONION if flooded == routes.HTTPS else routes.HTTPS
    answers = [_report(config, client[flooded], flooded, n) for n in range(PER_MINUTE + 2)]
    assert [status for status, _ in answers] == [200] * PER_MINUTE + [503, 503]
    assert BUSY in answers[-1][1]
    # The other route still has its whole minute.
    for n in range(PER_MINUTE):
        status, page = _report(config, client[other], other, n)
        assert status == 200 and RECEIPT.search(page), page[:300]
    status, page = _report(config, client[other], other, PER_MINUTE)
    assert status == 503 and BUSY in page


def test_lookups_have_a_budget_per_route_too(app_env, clients):
    config, _shared, client = clients

    def look_up(route: str) -> int:
        fields = {"code": new_receipt(), "token": token(config.data_dir, "status-en"), "homepage": ""}
        return client[route].post("/en/status", data=fields, headers={"Host": HOSTS[route]}).status_code

    assert [look_up(routes.HTTPS) for _ in range(PER_MINUTE + 1)] == [200] * PER_MINUTE + [503]
    assert [look_up(routes.ONION) for _ in range(PER_MINUTE + 1)] == [200] * PER_MINUTE + [503]


def test_the_spent_tables_hold_both_routes_budgets(app_env, clients):
    config, shared, _client = clients
    both = spent_slots(ROUTES * PER_MINUTE, config.limits.form_max_hours * 3600)
    assert shared.spent._table._slots == both and shared.lookup_spent._table._slots == both
    # Look-ups have a figure of their own (600 by default), and their table follows it.
    lookups = make_config(
        config.data_dir,
        app_env.identity.recipient,
        database_url=config.database_url,
        public_hosts=[PUBLIC],
        https_bind=config.web.https_bind,
        reports_per_minute=PER_MINUTE,
    )
    assert lookups.limits.lookups_per_minute == 600
    assert make_shared(lookups).lookup_spent._table._slots == spent_slots(ROUTES * 600, 6 * 3600)
    assert ROUTES == len({routes.ONION, routes.HTTPS})
    # Without an HTTPS route only the onion's budget spends: the tables are half the size.
    assert budgets_spending(None) == 1 and budgets_spending(config.web.https_bind) == ROUTES


def test_a_budget_given_for_tests_is_one_for_both_routes():
    budget = Budget(1, clock=lambda: 0.0)
    both = RouteBudgets.one_for_both(budget)
    assert both.of(routes.HTTPS).take() and not both.of(routes.ONION).take()
