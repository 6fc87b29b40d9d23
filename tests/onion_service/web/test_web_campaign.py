"""The channel, the extension and the campaign tag: shown on the form as ticked boxes the reporter
can untick, sealed inside the report, and never stored in clear on the server."""

from __future__ import annotations

import pytest

from tests.onion_service.web.test_web_public import PUBLIC, https_client
from tests.onion_service.web.webkit import good_fields

HOST = {"Host": "127.0.0.1:5000"}
LABEL = {"nl": "Ik kwam via de campagne ‘lockdown-2020’", "en": "I came through the campaign “lockdown-2020”"}


def _sealed(app_env):
    rows = list(app_env.store.pending())
    assert len(rows) == 1
    return rows[0], app_env.identity.open(rows[0].sealed)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_campaign_link_shows_its_tag_as_a_ticked_box(app_env, lang):
    html = app_env.client.get(
        f"/{lang}/?c=lockdown-2020&via=extension&url=http%3A%2F%2Fx.example%2F", headers=HOST
    ).get_data(as_text=True)
    assert 'name="campaign" value="lockdown-2020" checked' in html and LABEL[lang] in html
    assert 'name="via"' not in html  # only the extension's own post marks the extension
    assert 'type="hidden" name="campaign"' not in html


def test_the_extensions_prefill_post_shows_its_mark_as_a_ticked_box(app_env):
    html = app_env.client.post("/de/prefill", data={"url": "http://x.example/"}, headers=HOST).get_data(as_text=True)
    assert 'name="via" value="extension" checked' in html and "Die Browsererweiterung hat dieses Formular" in html
    assert 'type="hidden" name="via"' not in html and 'name="campaign"' not in html
    empty = app_env.client.post("/de/prefill", data={"url": " "}, headers=HOST).get_data(as_text=True)
    assert 'name="via"' not in empty  # nothing prefilled: nothing marked


@pytest.mark.parametrize("tag", ["Lockdown", "a" * 33, "x y", "-a", "<b>", ""])
def test_a_tag_that_is_not_one_is_left_out(app_env, tag):
    html = app_env.client.get(f"/nl/?c={tag}", headers=HOST).get_data(as_text=True)
    assert 'name="campaign"' not in html and 'id="origin"' not in html


def test_the_campaign_and_the_extension_are_sealed_inside_only(app_env):
    fields = good_fields(app_env.config, "nl", campaign="lockdown-2020", via="extension")
    response = app_env.client.post("/nl/", data=fields, headers=HOST)
    assert response.status_code == 200
    row, report = _sealed(app_env)
    assert (report.channel, report.via, report.campaign) == ("onion", "extension", "lockdown-2020")
    assert b"lockdown" not in row.sealed
    for path in app_env.config.data_dir.rglob("*"):
        if path.is_file():
            assert b"lockdown-2020" not in path.read_bytes(), path


def test_unticked_boxes_send_nothing(app_env):
    assert app_env.client.post("/nl/", data=good_fields(app_env.config, "nl"), headers=HOST).status_code == 200
    _, report = _sealed(app_env)
    assert (report.channel, report.via, report.campaign) == ("onion", "", "")


def test_the_https_name_is_recorded_as_https(app_env):
    client = https_client(app_env)
    fields = good_fields(app_env.config, "nl", campaign="c1")
    assert client.post("/nl/", data=fields, headers={"Host": PUBLIC}).status_code == 200
    _, report = _sealed(app_env)
    assert (report.channel, report.campaign) == ("https", "c1")


@pytest.mark.parametrize("extra", [{"campaign": "Not A Tag"}, {"campaign": "a" * 33}, {"via": "link"}])
def test_a_forged_value_is_refused_and_nothing_stored(app_env, extra):
    response = app_env.client.post("/nl/", data=good_fields(app_env.config, "nl", **extra), headers=HOST)
    assert response.status_code == 400
    assert app_env.store.count() == 0
