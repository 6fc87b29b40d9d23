"""Key periods on the request path: a report is sealed to its day's period key, and a day no period
holds (the schedule ran out while the server ran) refuses the report with the answers kept and
nothing stored."""

from __future__ import annotations

import datetime

import pytest

from crypto.age.errors import NoIdentityMatchError
from crypto.envelope.sealing import open_sealed
from crypto.periods import keyring, schedule
from onion_service.config import parse_config
from onion_service.store import open_store
from onion_service.web.app import create_app
from tests.onion_service.web.webkit import good_fields

HOST = {"Host": "127.0.0.1:5000"}
TODAY = datetime.datetime.now(datetime.UTC).date()


def _app(tmp_path, start: datetime.date, weeks: int):
    ring, sched, _ = keyring.generate(start, weeks, "week")
    (tmp_path / "staff.schedule").write_text(schedule.format(sched))
    config = parse_config(
        {
            "schedules": ["staff.schedule"],
            "data_dir": "data",
            "hotline": {"name": "T"},
            "limits": {"form_min_seconds": 0},
        },
        base_dir=tmp_path,
    )
    config.data_dir.mkdir(mode=0o700)
    store = open_store(config.database_url)
    return ring, config, store, create_app(config, store=store).test_client()


def test_a_report_is_sealed_to_the_key_of_its_days_period_only(tmp_path):
    ring, config, store, client = _app(tmp_path, TODAY - datetime.timedelta(days=8), 3)
    assert client.post("/en/", data=good_fields(config, "en"), headers=HOST).status_code == 200
    (stored,) = list(store.pending())
    period = max(first for first in ring.held if first <= TODAY)
    own = keyring.Keyring({period: ring.held[period]})
    others = keyring.Keyring({d: t for d, t in ring.held.items() if d != period})
    assert open_sealed(stored.sealed, own.identities()).received_on == TODAY.isoformat()
    with pytest.raises(NoIdentityMatchError):
        open_sealed(stored.sealed, others.identities())
    store.close()


def test_a_day_no_period_holds_refuses_the_report_keeping_the_answers(tmp_path):
    _, config, store, client = _app(tmp_path, TODAY - datetime.timedelta(days=30), 2)  # ended 16 days ago
    fields = good_fields(config, "en", description="kept-description-canary")
    response = client.post("/en/", data=fields, headers=HOST)
    assert response.status_code == 503
    assert "kept-description-canary" in response.get_data(as_text=True)
    assert store.count() == 0
    store.close()
