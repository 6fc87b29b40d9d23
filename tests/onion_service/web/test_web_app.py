"""The app in-process (Flask's test client) on SQLite and PostgreSQL: pages, languages, headers,
the host check, tokens, validation, and what happens when storing or sealing fails."""

from __future__ import annotations

import logging
import re
from unittest import mock

import pytest

from onion_service.store import Store, StoreUnavailable
from onion_service.web.app import create_app
from onion_service.web.seal import Sealer
from onion_service.web.security import CSP, send_headers
from tests.formkit import token
from tests.onion_service.web.phrases import phrases
from tests.onion_service.web.webkit import HTML_LANG, LANGS, RECEIPT, TOKEN, good_fields

NO_ADDRESS, NOT_FOUND, SEND, THANKS = phrases("no_address", "not_found", "send", "thanks")

HOST = {"Host": "127.0.0.1:5000"}


def get(env, path, host=HOST):
    return env.client.get(path, headers=host)


def submit(env, lang, fields, host=HOST):
    return env.client.post(f"/{lang}/", data=fields, headers=host)


@pytest.mark.parametrize("lang", LANGS)
def test_each_language_renders_and_accepts_a_report(app_env, lang):
    page = get(app_env, f"/{lang}/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and HTML_LANG.search(html).group(1) == lang
    assert SEND[lang] in html and TOKEN.search(html)
    fields = good_fields(app_env.config, lang, urls="http://example.org/a\n\nhttp://example.org/a\nexample.net/b")
    response = submit(app_env, lang, fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and THANKS[lang] in html and HTML_LANG.search(html).group(1) == lang
    receipt = RECEIPT.search(html).group(1)
    rows = list(app_env.store.pending())
    assert len(rows) == 1
    report = app_env.identity.open(rows[0].sealed)
    assert report.receipt == receipt and report.language == lang
    assert report.urls == ("http://example.org/a", "example.net/b")  # blank lines and repeats dropped


@pytest.mark.parametrize("lang", LANGS)
def test_each_language_validates_with_messages_tied_to_fields(app_env, lang):
    fields = good_fields(app_env.config, lang, urls="", description="kept-" + lang, kinds=[])
    response = submit(app_env, lang, fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and HTML_LANG.search(html).group(1) == lang
    assert NO_ADDRESS[lang] in html
    assert re.search(r'<textarea id="urls"[^>]*aria-describedby="urls-hint urls-error"[^>]*aria-invalid="true"', html)
    assert 'id="urls-error"' in html and 'href="#urls"' in html and 'href="#kinds"' in html
    assert "kept-" + lang in html  # what they typed is still there
    assert app_env.store.count() == 0


def test_language_choice_page_offers_every_language_in_itself(app_env):
    html = get(app_env, "/").get_data(as_text=True)
    for lang in LANGS:
        assert f'href="/{lang}/"' in html
    assert "Signaler des contenus" in html and "Darstellungen sexuellen" in html
    assert HTML_LANG.search(html).group(1) == "nl"  # the configured default


def test_url_parameter_prefills_but_never_submits(app_env):
    response = get(app_env, "/fr/?url=" + "https%3A%2F%2Fexample.org%2Fp%3Fq%3D1%26r%3D%3Cb%3E")
    html = response.get_data(as_text=True)
    assert ">https://example.org/p?q=1&amp;r=&lt;b&gt;</textarea>" in html  # filled in, escaped
    assert app_env.store.count() == 0
    assert ">http://example.org/" not in get(app_env, "/fr/?url=a%0Ab").get_data(as_text=True)


def test_repeated_url_parameters_prefill_one_address_a_line_in_order(app_env):
    # What the browser extension sends for an image: the image's address, then its page's.
    html = get(
        app_env, "/de/?url=https%3A%2F%2Fcdn.example%2Fp.jpg&url=http%3A%2F%2Fpage.example%2F&url=a%0Ab"
    ).get_data(as_text=True)
    assert ">https://cdn.example/p.jpg\nhttp://page.example/</textarea>" in html
    many = "&".join(f"url=https%3A%2F%2Fx.example%2F{i}" for i in range(30))
    html = get(app_env, f"/de/?{many}").get_data(as_text=True)
    assert "x.example/19<" in html and "x.example/20" not in html  # at most the form's 20 addresses
    assert app_env.store.count() == 0


def prefill(env, lang, body, host=HOST):
    return env.client.post(
        f"/{lang}/prefill", data=body, headers=host, content_type="application/x-www-form-urlencoded"
    )


def test_posted_prefill_fills_in_the_form_and_files_nothing(app_env):
    # What the browser extension posts, so that the address is in no URL the browser keeps.
    body = (
        "url=https%3A%2F%2Fcdn.example%2Fp.jpg%3Fq%3D1%26r%3D%3Cb%3E&url=http%3A%2F%2Fpage.example%2F&url=a%0Ab&url=%20"
    )
    response = prefill(app_env, "de", body)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and HTML_LANG.search(html).group(1) == "de"
    assert ">https://cdn.example/p.jpg?q=1&amp;r=&lt;b&gt;\nhttp://page.example/</textarea>" in html
    assert 'action="/de/"' in html and TOKEN.search(html)  # the form posts to itself, with a token
    many = "&".join(f"url=https%3A%2F%2Fx.example%2F{i}" for i in range(20))
    assert "x.example/19<" in prefill(app_env, "de", many).get_data(as_text=True)
    assert app_env.store.count() == 0


def test_a_report_posted_as_a_prefill_is_refused_not_filed(app_env):
    fields = good_fields(app_env.config, "en")
    response = app_env.client.post("/en/prefill", data=fields, headers=HOST)
    assert response.status_code == 400
    for body in ("url=x&token=" + token(app_env.config.data_dir, "en"), "urls=http%3A%2F%2Fexample.org%2F"):
        assert prefill(app_env, "en", body).status_code == 400
    multipart = app_env.client.post(
        "/en/prefill", data={"url": "http://example.org/"}, headers=HOST, content_type="multipart/form-data"
    )
    assert multipart.status_code == 415
    assert app_env.store.count() == 0


def test_prefill_page_asked_for_again_is_the_empty_form(app_env):
    # A restored or reloaded tab asks for /<lang>/prefill without its body: no address is read
    # from its query, so nobody learns to put one there.
    html = get(app_env, "/fr/prefill?url=http%3A%2F%2Fprefilled.example%2Fp").get_data(as_text=True)
    assert '"urls"' in html and "prefilled.example" not in html and TOKEN.search(html)


PATHS = [
    "/",
    "/nl/",
    "/fr",
    "/de/",
    "/en/?url=x",
    "/static/style.css",
    "/nope",
    "/server-status",
    "/console",
    "/.git/HEAD",
    "/nl/../etc/passwd",
    "//nl/",
    "/static/",
    "/favicon.ico",
    "/robots.txt",
    "/wp-login.php",
    "/admin",
    "/nl/thanks",
    "/NL/",
    "/static/style.css/",
    "/nl/prefill",
]


def test_headers_a_view_sets_are_dropped_or_replaced_on_the_way_out():
    # No view sets these today; whichever does later (or Werkzeug, or Flask) is overruled.
    def view(environ, start_response):
        start_response(
            "200 OK",
            [
                ("Set-Cookie", "a=b"),
                ("ETag", '"x"'),
                ("Cache-Control", "public, max-age=60"),
                ("Vary", "Accept-Language"),
            ],
        )
        return [b""]

    sent = []
    send_headers(view)({}, lambda status, headers, exc_info=None: sent.extend(headers))
    names = [name.lower() for name, _ in sent]
    assert "set-cookie" not in names and "etag" not in names
    assert [value for name, value in sent if name.lower() == "cache-control"] == ["no-store"]
    assert ("Vary", "Accept-Language") in sent and ("Content-Security-Policy", CSP) in sent


@pytest.mark.parametrize("path", PATHS)
def test_headers_and_no_cookies_on_every_route(app_env, path):
    response = get(app_env, path)
    assert response.status_code in (200, 404)
    h = response.headers
    assert h["Content-Security-Policy"] == CSP
    assert h["Cache-Control"] == "no-store" and h["Referrer-Policy"] == "no-referrer"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in h["Permissions-Policy"] and "geolocation=()" in h["Permissions-Policy"]
    for name in ("Server", "ETag", "Last-Modified", "Set-Cookie", "Location"):
        assert name not in h
    if response.mimetype == "text/html":
        html = response.get_data(as_text=True)
        assert "<script" not in html and "style=" not in html and "http://" not in html.split("</header>")[1]
        assert re.findall(r'(?:href|src)="([^"]+)"', html) == [
            u
            for u in re.findall(r'(?:href|src)="([^"]+)"', html)
            if u.startswith(("/", "#", "https://www.wikipedia.org/"))
        ]


def test_probe_paths_get_the_same_plain_404(app_env):
    bodies = {get(app_env, p).get_data() for p in ["/server-status", "/console", "/.git/HEAD", "/x" * 50, "/static/x"]}
    assert len(bodies) == 1
    response = get(app_env, "/.env")
    assert response.status_code == 404 and NOT_FOUND["nl"] in response.get_data(as_text=True)
    assert NOT_FOUND["de"] in get(app_env, "/de/nothing").get_data(as_text=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8080", "localhost", "LOCALHOST:1", "[::1]", "[::1]:80"])
def test_loopback_host_names_are_served(app_env, host):
    assert get(app_env, "/nl/", {"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "127.0.0.2",
        "localhost.evil",
        "[::2]",
        "localhost:",
        "localhost:8o",
        "x" * 400,
        "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion",
    ],
)
def test_other_host_names_are_refused(app_env, host):
    for path in ("/nl/", "/nope", "/static/style.css"):
        response = get(app_env, path, {"Host": host})
        assert response.status_code == 421


def test_onion_address_is_served_when_given(app_env):
    onion = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"
    app = create_app(app_env.config, store=app_env.store, onion_address=onion)
    assert app.test_client().get("/en/", headers={"Host": onion}).status_code == 200
    assert app.test_client().get("/en/", headers={"Host": "other.onion"}).status_code == 421


def test_stylesheet_is_served_without_validators(app_env):
    response = get(app_env, "/static/style.css")
    assert response.mimetype == "text/css" and b".hp" in response.data
    assert "ETag" not in response.headers and "Last-Modified" not in response.headers


def test_expired_and_too_fast_forms_keep_the_answers(app_env):
    old = good_fields(
        app_env.config, "de", description="keep-me", token=token(app_env.config.data_dir, "de", age_seconds=7 * 3600)
    )
    response = submit(app_env, "de", old)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "keep-me" in html and "sehr lange geöffnet" in html
    fast = good_fields(
        app_env.config, "nl", description="keep-me-too", token=token(app_env.config.data_dir, "nl", age_seconds=0)
    )
    html = submit(app_env, "nl", fast).get_data(as_text=True)
    assert "keep-me-too" in html and "Kijk uw antwoorden" in html
    assert TOKEN.search(html)  # a fresh token, issued now
    assert app_env.store.count() == 0


def test_store_unavailable_is_a_translated_503_and_keeps_the_answers(app_env):
    store = mock.Mock(spec=Store)
    store.add.side_effect = StoreUnavailable("database is down")
    app = create_app(app_env.config, store=store)
    response = app.test_client().post(
        "/fr/", data=good_fields(app_env.config, "fr", description="gardez"), headers=HOST
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert "n’a pas pu être enregistré" in html and "gardez" in html and not RECEIPT.search(html)


def test_unexpected_failure_is_a_translated_500_and_logs_no_report_data(app_env, caplog):
    app = create_app(app_env.config, store=app_env.store)
    with mock.patch.object(Sealer, "seal", autospec=True, side_effect=RuntimeError("canary-in-exception")):
        with caplog.at_level(logging.DEBUG):
            response = app.test_client().post(
                "/de/", data=good_fields(app_env.config, "de", description="canary-in-form"), headers=HOST
            )
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and "Bei uns ist ein Fehler aufgetreten" in html
    assert "canary" not in html and "Traceback" not in html
    assert "canary" not in caplog.text and "Traceback" not in caplog.text
    assert "RuntimeError" in caplog.text  # the kind of failure is still visible to the operator
    assert app_env.store.count() == 0


def test_budget_exhausted_is_a_translated_503_with_retry_after(app_env):
    from onion_service.shared.budget import Budget
    from onion_service.shared.state import make_shared

    app = create_app(app_env.config, store=app_env.store, shared=make_shared(app_env.config, budget=Budget(1)))
    client = app.test_client()
    assert client.post("/en/", data=good_fields(app_env.config, "en"), headers=HOST).status_code == 200
    response = client.post("/en/", data=good_fields(app_env.config, "en"), headers=HOST)
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert "Many reports are arriving" in response.get_data(as_text=True)
    assert app_env.store.count() == 1


def test_thank_you_page_puts_emergency_numbers_first_only_when_asked(app_env):
    yes = submit(app_env, "nl", good_fields(app_env.config, "nl", danger="yes")).get_data(as_text=True)
    no = submit(app_env, "nl", good_fields(app_env.config, "nl", danger="no")).get_data(as_text=True)
    assert 'class="urgent"' in yes and 'class="urgent"' not in no
    assert yes.index("101") < yes.index("<h1>")
