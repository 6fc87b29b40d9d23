"""What a security review found the web side leaking or missing (issue 14): the purge secret's
hash stored with each report, reporter guidance (tracking parameters, tor2web, the quick exit),
and one answer for every unknown method and path."""

from __future__ import annotations

import hashlib
import re

import pytest
import sqlalchemy as sa

from onion_service.web import validate
from onion_service.web.tracking import strip_tracking
from tests.onion_service.web.phrases import phrases
from tests.onion_service.web.webkit import LANGS, good_fields

ADDRESS_NOTE, EXIT_ADVICE, INVITATION_NOTE = phrases("address_note", "exit_advice", "invitation_note")
(TOR2WEB,) = phrases("tor2web")

HOST = {"Host": "127.0.0.1:5000"}
ONION = "a" * 56 + ".onion"


def submit(env, lang, fields, headers=HOST):
    return env.client.post(f"/{lang}/", data=fields, headers=headers)


def test_the_row_keeps_the_hash_of_the_secret_sealed_inside_and_nothing_of_the_secret(app_env):
    response = submit(app_env, "en", good_fields(app_env.config, "en"))
    assert response.status_code == 200
    [row] = list(app_env.store.pending())
    report = app_env.identity.open(row.sealed)
    secret = bytes.fromhex(report.purge_secret)
    with app_env.store.engine.connect() as conn:
        [stored] = conn.execute(sa.text("SELECT purge_hash FROM reports")).all()
    assert bytes(stored[0]) == hashlib.sha256(secret).digest()
    # Only decryption gives the secret: the id and the sealed bytes' hash do not delete it.
    assert app_env.store.purge([(row.id, row.digest(), None)]) == 0
    assert app_env.store.purge([(row.id, row.digest(), secret)]) == 1


# -- reporter guidance (phrases.py has what each language says) ---------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_the_form_warns_about_tracking_codes_and_personal_invitations_beside_the_fields(app_env, lang):
    html = app_env.client.get(f"/{lang}/", headers=HOST).get_data(as_text=True)
    urls_hint = re.search(r'<p class="hint" id="urls-hint">(.*?)</p>', html, re.S).group(1)
    access_hint = re.search(r'<p class="hint" id="access-hint">(.*?)</p>', html, re.S).group(1)
    assert ADDRESS_NOTE[lang] in urls_hint and "fbclid=" in urls_hint
    assert INVITATION_NOTE[lang] in access_hint


@pytest.mark.parametrize("lang", LANGS)
def test_the_quick_exit_comes_with_advice_on_every_page(app_env, lang):
    for path in (f"/{lang}/", f"/{lang}/nothing"):
        html = app_env.client.get(path, headers=HOST).get_data(as_text=True)
        exit_link = re.search(r'<a class="exit"[^>]*aria-describedby="exit-advice"', html)
        advice = re.search(r'<p class="exit-advice" id="exit-advice">(.*?)</p>', html, re.S)
        assert exit_link and advice and EXIT_ADVICE[lang] in advice.group(1)


@pytest.mark.parametrize(
    "url, kept",
    [
        ("https://www.youtube.com/watch?v=abc&si=Qx1", "https://www.youtube.com/watch?v=abc"),
        ("https://youtu.be/abc?si=Qx1", "https://youtu.be/abc"),
        ("https://www.instagram.com/p/C1x/?igsh=MTc4", "https://www.instagram.com/p/C1x/"),
        ("example.org/a?fbclid=IwAR1&id=7#top", "example.org/a?id=7#top"),
        (f"http://{ONION}/g?UTM_Source=mail&utm_campaign=c&page=2&gclid=9", f"http://{ONION}/g?page=2"),
        ("https://forum.example/t?si=4&msclkid=1", "https://forum.example/t?si=4"),  # "si" only where it is a share id
        ("https://example.org/p?a=%20b&&c", "https://example.org/p?a=%20b&&c"),  # the rest exactly as typed
    ],
)
def test_tracking_parameters_are_removed_before_sealing_and_the_rest_kept(app_env, url, kept):
    assert strip_tracking(url) == kept
    response = submit(app_env, "en", good_fields(app_env.config, "en", urls=url))
    assert response.status_code == 200
    [row] = list(app_env.store.pending())
    assert app_env.identity.open(row.sealed).urls == (kept,)


def test_magnet_links_are_left_alone():
    magnet = "magnet:?xt=urn:btih:" + "a" * 40 + "&utm_source=x"
    assert strip_tracking(magnet) != magnet  # the function would strip it ...
    assert validate._urls(magnet, {}) == (magnet,)  # ... so validate never applies it


@pytest.mark.parametrize("lang", LANGS)
def test_a_tor2web_visit_gets_a_warning_instead_of_the_form_and_nothing_is_stored(app_env, lang):
    headers = {**HOST, "X-Tor2web": "encrypted"}
    page = app_env.client.get(f"/{lang}/", headers=headers)
    html = page.get_data(as_text=True)
    assert page.status_code == 403 and TOR2WEB[lang] in html and "torproject.org" in html
    assert "<form" not in html
    assert page.headers["Content-Security-Policy"]  # the security headers, as on every page
    response = submit(app_env, lang, good_fields(app_env.config, lang), headers=headers)
    assert response.status_code == 403 and TOR2WEB[lang] in response.get_data(as_text=True)
    assert app_env.store.count() == 0
    assert app_env.client.get(f"/{lang}/", headers=HOST).status_code == 200  # only that visit


def test_an_unknown_method_gets_the_answer_of_an_unknown_path(app_env):
    # 405 with Allow would tell which paths exist and what they take.
    unknown = app_env.client.get("/nl/nothing-here", headers=HOST)
    for method in ("DELETE", "PUT", "PATCH", "OPTIONS", "TRACE"):
        for path in ("/nl/", "/", "/static/style.css"):
            response = app_env.client.open(path, method=method, headers=HOST)
            assert (response.status_code, response.get_data()) == (404, unknown.get_data())
            assert "Allow" not in response.headers
    assert app_env.client.post("/", headers=HOST).get_data() == unknown.get_data()
