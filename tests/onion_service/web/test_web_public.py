"""The same app under the hotline's HTTPS names (web.public_hosts), in-process: which hosts are
answered on which route, the two headers that tell the routes apart, the Tor Browser notice, and
that no client address reaches the application on either route. The route is what the worker puts
in the environ for the socket a request came in on (onion_service/web/routes.py); here the test
client sets it. Both sockets of a real server: tests/onion_service/process/test_process_two_sockets.py;
through the real nginx: tests/deploy/test_deploy_https.py."""

from __future__ import annotations

import re

import pytest

from onion_service.web import routes
from onion_service.web.app import create_app
from tests.harness import make_config
from tests.onion_service.web.webkit import LANGS, good_fields

PUBLIC = "report.example.org"
OTHER_PUBLIC = "meldpunt.example.be"
ONION = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"
# One phrase of the notice per language, as the catalogs translate it.
NOTICE = {
    "nl": "Tor Browser verbergt beide",
    "fr": "Tor Browser cache les deux",
    "de": "Der Tor Browser verbirgt beides",
    "en": "Tor Browser hides both",
}
CANARY_ADDRESS = "198.51.100.77"


def public_app(app_env, *, onion: str | None = ONION):
    config = make_config(
        app_env.config.data_dir,
        app_env.identity.recipient,
        database_url=app_env.config.database_url,
        public_hosts=[PUBLIC, OTHER_PUBLIC],
    )
    return create_app(config, store=app_env.store, onion_address=onion)


def on_route(app, route: str):
    """A test client whose every request comes in on `route`'s socket."""
    client = app.test_client()
    client.environ_base[routes.ENVIRON_KEY] = route
    return client


def https_client(app_env, **kw):
    return on_route(public_app(app_env, **kw), routes.HTTPS)


def route_for(host: str) -> str:
    """The socket a request for `host` comes in on when everything is where it belongs."""
    return routes.HTTPS if host.split(":")[0].lower() in (PUBLIC, OTHER_PUBLIC) else routes.ONION


@pytest.mark.parametrize("lang", LANGS)
def test_public_host_gets_onion_location_hsts_and_the_notice_in_its_language(app_env, lang):
    client = https_client(app_env)
    response = client.get(f"/{lang}/?url=http%3A%2F%2Fexample.org%2Fa", headers={"Host": PUBLIC})
    assert response.status_code == 200
    assert response.headers["Onion-Location"] == f"http://{ONION}/{lang}/?url=http%3A%2F%2Fexample.org%2Fa"
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    html = response.get_data(as_text=True)
    assert NOTICE[lang] in html
    # The address as text to copy, never as a link (it would not open outside Tor Browser).
    assert f'<code class="onion" dir="ltr">{ONION}</code>' in html
    assert f'href="http://{ONION}' not in html and "<script" not in html


@pytest.mark.parametrize(
    "path", ["/", "/nope", "/static/style.css", "/fr/%C3%A9t%C3%A9", "/de/?x=%0d%0aSet-Cookie:%20a"]
)
def test_every_public_response_carries_both_headers(app_env, path):
    response = https_client(app_env).get(path, headers={"Host": "Report.Example.Org:443"})
    assert response.status_code in (200, 404)
    assert response.headers["Strict-Transport-Security"]
    location = response.headers["Onion-Location"]
    assert location.startswith(f"http://{ONION}/") and "\r" not in location and "\n" not in location
    assert "Set-Cookie" not in response.headers


def test_posting_a_report_on_the_public_host_works_and_errors_keep_the_headers(app_env):
    client = https_client(app_env)
    before = app_env.store.count()
    ok = client.post("/en/", data=good_fields(app_env.config, "en"), headers={"Host": OTHER_PUBLIC})
    assert ok.status_code == 200 and app_env.store.count() == before + 1
    refused = client.post("/en/", data=good_fields(app_env.config, "en", urls=""), headers={"Host": OTHER_PUBLIC})
    assert refused.status_code == 400 and refused.headers["Onion-Location"] == f"http://{ONION}/en/"
    assert NOTICE["en"] in refused.get_data(as_text=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost:8080", ONION])
def test_onion_and_loopback_get_neither_header_nor_the_notice(app_env, host):
    public = https_client(app_env).get("/nl/", headers={"Host": PUBLIC})
    response = public_app(app_env).test_client().get("/nl/", headers={"Host": host})
    assert response.status_code == 200
    assert "Onion-Location" not in response.headers and "Strict-Transport-Security" not in response.headers
    assert NOTICE["nl"] not in response.get_data(as_text=True) and ONION not in response.get_data(as_text=True)
    # Everything else is the same on both routes.
    differs = {"Onion-Location", "Strict-Transport-Security", "Content-Length"}
    assert {(k, v) for k, v in response.headers if k not in differs} == {
        (k, v) for k, v in public.headers if k not in differs
    }


def test_one_app_serves_both_routes_each_with_its_own_pages(app_env):
    """The empty form and the thank-you page are rendered once and reused: once per route."""
    app = public_app(app_env)
    clients = {route: on_route(app, route) for route in (routes.ONION, routes.HTTPS)}
    for host in (PUBLIC, ONION, PUBLIC, ONION):
        client = clients[route_for(host)]
        form = client.get("/en/", headers={"Host": host}).get_data(as_text=True)
        thanks = client.post("/en/", data=good_fields(app_env.config, "en"), headers={"Host": host})
        for page in (form, thanks.get_data(as_text=True)):
            assert (NOTICE["en"] in page) == (host == PUBLIC), host


def test_without_a_known_onion_address_the_notice_has_no_address_and_no_onion_location(app_env):
    response = https_client(app_env, onion=None).get("/de/", headers={"Host": PUBLIC})
    assert response.status_code == 200 and "Onion-Location" not in response.headers
    assert response.headers["Strict-Transport-Security"] and NOTICE["de"] in response.get_data(as_text=True)
    assert 'class="onion"' not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "host",
    [
        "sub.report.example.org",
        "report.example.org.evil.example",
        "example.org",
        "report.example.org:x",
        "other.onion",
        "xn--rport-gva.example.org",
    ],
)
def test_only_configured_names_are_answered(app_env, host):
    app = public_app(app_env)
    for route in (routes.ONION, routes.HTTPS):
        response = on_route(app, route).get("/nl/", headers={"Host": host})
        assert response.status_code == 421, route
        assert "Onion-Location" not in response.headers and "Strict-Transport-Security" not in response.headers
    # Unconfigured, the public names are foreign too.
    assert app_env.client.get("/nl/", headers={"Host": PUBLIC}).status_code == 421


@pytest.mark.parametrize("host", [ONION, "127.0.0.1", "localhost:8080", "[::1]"])
def test_the_https_socket_refuses_the_onion_and_loopback(app_env, host):
    # nginx sends the public name it matched; anything else there did not come through it as
    # configured, and the onion address must not be served over a clearnet route.
    response = https_client(app_env).get("/nl/", headers={"Host": host})
    assert response.status_code == 421 and "Onion-Location" not in response.headers


@pytest.mark.parametrize("host", [PUBLIC, OTHER_PUBLIC, "Report.Example.Org:443"])
def test_tors_socket_refuses_the_public_names(app_env, host):
    # A reverse proxy pointed at tor's socket (or a request without a route) is not served.
    for client in (on_route(public_app(app_env), routes.ONION), public_app(app_env).test_client()):
        response = client.get("/nl/", headers={"Host": host})
        assert response.status_code == 421 and "Strict-Transport-Security" not in response.headers


def test_no_header_chooses_the_route(app_env):
    # Only the worker sets the route, in the environ; a header of that name is just a header.
    response = (
        public_app(app_env)
        .test_client()
        .get("/nl/", headers={"Host": PUBLIC, "Meldpunt.Route": routes.HTTPS, "Meldpunt-Route": routes.HTTPS})
    )
    assert response.status_code == 421


FORWARDING = {
    "X-Forwarded-For": CANARY_ADDRESS,
    "Forwarded": f"for={CANARY_ADDRESS};proto=https",
    "X-Real-IP": CANARY_ADDRESS,
    "True-Client-IP": CANARY_ADDRESS,
    "Client-IP": CANARY_ADDRESS,
}


@pytest.mark.parametrize("host", [PUBLIC, ONION, "127.0.0.1"])
def test_the_application_never_sees_a_client_address(app_env, host):
    from flask import request

    app = public_app(app_env)
    seen = []

    @app.before_request
    def record() -> None:
        seen.append((request.remote_addr, list(request.access_route), dict(request.environ)))

    response = on_route(app, route_for(host)).post(
        "/fr/",
        data=good_fields(app_env.config, "fr", description="forwarded canary test"),
        headers={"Host": host, **FORWARDING},
        environ_base={"REMOTE_ADDR": CANARY_ADDRESS, "REMOTE_PORT": "40404"},
    )
    assert response.status_code == 200
    ((remote, route, environ),) = seen
    assert remote is None and route == []
    assert not [k for k, v in environ.items() if CANARY_ADDRESS in str(v) or k == "REMOTE_PORT"]
    assert CANARY_ADDRESS not in response.get_data(as_text=True)
    sealed = [app_env.identity.open(row.sealed) for row in app_env.store.pending()]
    assert [r for r in sealed if r.description == "forwarded canary test"]
    assert not [r for r in sealed if CANARY_ADDRESS in repr(r)]


def test_onion_location_keeps_only_a_plain_query():
    app_ok = re.compile(r"http://[a-z2-7]{56}\.onion/[^\s]*")
    from flask import Flask

    from onion_service.web.security import onion_location

    app = Flask(__name__)
    for target, expected in [
        ("/nl/?url=a%20b", f"http://{ONION}/nl/?url=a%20b"),
        ("/nl/%E2%82%AC", f"http://{ONION}/nl/%E2%82%AC"),
        ("/nl/?" + "a" * 3000, f"http://{ONION}/nl/"),
    ]:
        with app.test_request_context(target):
            got = onion_location(ONION)
            assert got == expected and app_ok.fullmatch(got)
