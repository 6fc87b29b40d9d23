"""The HTTPS route: Debian's nginx with the site deploy/install.sh --https-proxy renders, a throwaway
certificate, on loopback, in front of meldpunt as meldpunt.service runs it: `meldpunt serve
--config` with `[tor] control = "torrc"` and the default `circuit_ids = true`, listening on tor's
socket (every connection must start with tor's PROXY line) and on the proxy's own (web.https_bind),
which the rendered site reaches. (Before, this ran the server without circuit ids, so nobody saw
that nginx, sent to tor's socket, got nothing but closed connections.)

Headless Chromium (JavaScript off) files a report in each language over HTTPS from a client
address of the test's own (a loopback alias: a relay binds it as the source of every connection
to nginx), with a canary User-Agent and canary X-Forwarded-For, Forwarded and X-Real-IP headers;
each report decrypts to what was typed, and none of the three canaries is anywhere afterwards:
meldpunt's data directory and output, nginx's logs and temp directories, the sealed and the opened
reports.

nginx's own limits per client address (limit_req, limit_conn) refuse a burst from one address with
a static page of meldpunt's, while a reporter at another address files a report as usual.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from pathlib import Path

import pytest

from onion_service.store import open_store
from tests.deploy.nginxkit import https_request
from tests.deploy.routekit import CLIENT, NAMES, ONION, route_fixture  # noqa: F401 (the `route` fixture)
from tests.formkit import form_body, report_body
from tests.harness import proxy_line
from tests.kit import CHROMIUM_FLAGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path("/usr/sbin/nginx").exists(), reason="needs Debian's nginx (make test-deps)"),
]

XFF = f"203.0.113.{secrets.randbelow(200) + 20}"
UA = f"Mozilla/5.0 (X11; Linux x86_64) canary-agent-{secrets.token_hex(6)}"
# A client that sends too much too fast, and a reporter at the same time (addresses of their own).
FLOODER, POSTER, REPORTER = "127.86.53.66", "127.86.53.67", "127.86.53.77"
CANARIES = [CLIENT, XFF, UA, UA.rsplit(" ", 1)[1], FLOODER, POSTER, REPORTER]
CHROMIUM = "/usr/lib/chromium/chromium"


# --- the live route ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(playwright):
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *[a for a in CHROMIUM_FLAGS if a != "--headless"],
            "--host-resolver-rules=MAP report.example.org 127.0.0.1, MAP * ~NOTFOUND",
        ],
    )
    yield chromium
    chromium.close()


FOUND_ON = {"nl": "forum", "fr": "chat", "de": "website", "en": "social"}


@pytest.mark.parametrize("lang", ["nl", *[pytest.param(lang, marks=pytest.mark.slow) for lang in ("fr", "de", "en")]])
def test_chromium_files_a_report_over_https_and_it_opens_to_what_was_typed(route, browser, staff, lang):
    import time

    context = browser.new_context(
        ignore_https_errors=True,
        java_script_enabled=False,
        user_agent=UA,
        extra_http_headers={"X-Forwarded-For": XFF, "Forwarded": f"for={XFF}", "X-Real-IP": XFF},
    )
    try:
        page = context.new_page()
        base = f"https://report.example.org:{route.relay.port}"
        response = page.goto(f"{base}/{lang}/")
        assert response.status == 200 and page.locator("html").get_attribute("lang") == lang
        headers = response.headers
        assert headers["onion-location"] == f"http://{ONION}/{lang}/"
        assert headers["strict-transport-security"] == "max-age=31536000"
        assert "server" not in headers and "date" not in headers
        assert page.locator("code.onion").inner_text() == ONION
        tag = secrets.token_hex(5)
        urls = [f"http://https-route-{tag}.example/{lang}", f"https://example.net/{tag}"]
        page.fill("#urls", "\n".join(urls))
        page.click(f"label[for=found_on-{FOUND_ON[lang]}]")
        page.click("label[for=kinds-images]")
        page.fill("#description", f"over HTTPS {lang} {tag} — é ß ç")
        page.click("#danger-no")
        time.sleep(route.config.limits.form_min_seconds + 0.2)
        with page.expect_navigation():
            page.click("button[type=submit]")
        receipt = page.locator(".code strong").inner_text()
    finally:
        context.close()

    with open_store(route.config.database_url) as store:
        opened = [staff.open(row.sealed) for row in store.pending()]
    mine = [r for r in opened if r.receipt == receipt]
    assert len(mine) == 1
    report = mine[0]
    assert report.urls == tuple(urls) and report.description == f"over HTTPS {lang} {tag} — é ß ç"
    assert (report.found_on, report.kinds, report.child_in_danger, report.language) == (
        FOUND_ON[lang],
        ("images",),
        False,
        lang,
    )


def test_onion_location_and_hsts_on_the_public_names_only(route):
    for name in NAMES:
        status, headers, body = route.get(name, "/fr/?url=http%3A%2F%2Fexample.org%2F", sni=name)
        assert status == 200
        assert headers["onion-location"] == f"http://{ONION}/fr/?url=http%3A%2F%2Fexample.org%2F"
        assert headers["strict-transport-security"] == "max-age=31536000"
    # The onion route (tor's own socket, after tor's PROXY line, the onion address as Host): neither.
    status, headers, body = route.server.request("GET", "/fr/", host=ONION)
    assert status == 200 and "onion-location" not in headers and "strict-transport-security" not in headers
    assert ONION not in body, body[body.find(ONION) - 300 : body.find(ONION) + 100]


@pytest.mark.parametrize("host", ["evil.example", ONION, "127.0.0.1", "localhost", "sub.report.example.org", None])
def test_a_host_that_is_not_configured_gets_421_through_the_proxy(route, host):
    status, headers, _ = route.get(host, "/nl/")
    assert status in ((421,) if host is not None else (400, 421))
    assert "onion-location" not in headers and "strict-transport-security" not in headers


def test_tls_without_a_configured_name_is_refused_and_plain_http_only_redirects(route):
    import http.client
    import ssl

    with pytest.raises(ssl.SSLError):
        https_request(route.nginx.https_port, sni="evil.example", host=NAMES[0], source=CLIENT)
    for host, expected in [(NAMES[0], 301), ("evil.example", 421)]:
        conn = http.client.HTTPConnection("127.0.0.1", route.http_port, timeout=10, source_address=(CLIENT, 0))
        conn.request("GET", "/nl/", headers={"Host": host})
        response = conn.getresponse()
        assert response.status == expected
        if expected == 301:
            assert response.getheader("Location") == f"https://{NAMES[0]}/nl/"
        conn.close()


def test_bodies_over_meldpunts_limit_stop_at_nginx_and_nothing_reaches_its_temp_files(route):
    before = _count(route)
    big = form_body({"urls": "http://example.org/", "description": "x" * 70_000})
    status, _, _ = route.get(
        NAMES[0], "/nl/", method="POST", body=big, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 413
    # Just under the limit: meldpunt itself answers (a 400 for the missing token, in Dutch).
    fits = form_body({"urls": "http://example.org/", "description": "y" * 60_000})
    status, _, body = route.get(
        NAMES[0], "/nl/", method="POST", body=fits, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 400 and b'lang="nl"' in body
    assert _count(route) == before
    assert [p for p in (route.nginx.prefix / "tmp").rglob("*") if p.is_file()] == []


def _count(route) -> int:
    with open_store(route.config.database_url) as store:
        return store.count()


def test_tors_socket_still_drops_a_connection_without_the_proxy_line(route):
    server = route.server
    request = f"GET /nl/ HTTP/1.1\r\nHost: {ONION}\r\nConnection: close\r\n\r\n".encode()
    # As nginx would send it, were it pointed at tor's socket: closed without a byte.
    assert server.raw(request, unix=server.unix_socket) == b""
    assert server.raw(proxy_line(4242) + request, unix=server.unix_socket).startswith(b"HTTP/1.1 200 ")
    # The public names are not served there even after a PROXY line; nor the onion on nginx's.
    status, _, _ = server.request("GET", "/nl/", host=NAMES[0])
    assert status == 421
    assert server.request("GET", "/nl/", host=ONION, https=True)[0] == 421


def _reporter_files_a_report(route, staff, source: str, tag: str) -> str:
    """GET the form and POST a report over HTTPS from `source`, as a browser without JavaScript
    would; the receipt code, after checking the report opens to what was sent."""
    status, _, page = route.get(NAMES[0], "/en/", source=source)
    assert status == 200, page[:300]
    token = re.search(rb'name="token" value="([^"]+)"', page).group(1).decode()
    time.sleep(route.config.limits.form_min_seconds + 0.2)
    body = report_body(token, urls=f"http://reporter-{tag}.example/", description=f"reporter {tag}")
    status, _, page = route.get(
        NAMES[0],
        "/en/",
        method="POST",
        body=body,
        source=source,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200, page[:500]
    receipt = re.search(rb'<p class="code"[^>]*><strong>([A-Z0-9-]+)</strong>', page).group(1).decode()
    with open_store(route.config.database_url) as store:
        opened = [staff.open(row.sealed) for row in store.pending()]
    mine = [r for r in opened if r.receipt == receipt]
    assert len(mine) == 1 and mine[0].description == f"reporter {tag}"
    return receipt


def _assert_busy_page(status: int, headers: dict, body: bytes) -> None:
    assert status == 429
    assert headers["content-type"].startswith("text/html") and headers["retry-after"] == "60"
    assert b"Even geduld" in body and b"Please wait" in body and b'<a href="/en/">' in body
    assert b"<script" not in body and b"src=" not in body and b"<link" not in body
    csp = headers["content-security-policy"]
    style = re.search(rb"<style>(.*?)</style>", body, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
    assert headers["cache-control"] == "no-store"
    for name in ("server", "date", "etag", "last-modified"):
        assert name not in headers, name


def test_a_burst_of_posts_from_one_address_gets_the_refusal_page_while_a_reporter_passes(route, staff):
    before = _count(route)

    def junk_post():
        # A post without a token: meldpunt refuses it (400), if nginx passes it on at all.
        return route.get(
            NAMES[0],
            "/nl/",
            method="POST",
            body=b"urls=x",
            source=FLOODER,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    answers = [junk_post() for _ in range(12)]
    statuses = [a[0] for a in answers]
    # 1 + burst (5) pass at once; past them, only one per 10 s.
    assert statuses[0] == 400 and set(statuses) <= {400, 429}, statuses
    assert 6 <= statuses.count(400) <= 7 and statuses[-1] == 429, statuses
    _assert_busy_page(*next(a for a in answers if a[0] == 429))

    # Meanwhile, a reporter at another address: the form and the report pass as always, while the
    # flooder keeps posting and keeps being refused.
    stop, refused = threading.Event(), []

    def flood() -> None:
        while not stop.is_set():
            refused.append(junk_post()[0])

    flooder = threading.Thread(target=flood)
    flooder.start()
    try:
        receipt = _reporter_files_a_report(route, staff, REPORTER, secrets.token_hex(4))
    finally:
        stop.set()
        flooder.join(timeout=60)
    assert refused and refused.count(400) <= 1, refused  # one may pass each 10 s
    # The refused posts reached neither meldpunt nor its database; the reporter's report did.
    assert _count(route) == before + 1 and receipt


def test_a_burst_of_page_requests_from_one_address_is_refused_past_its_burst(route):
    from concurrent.futures import ThreadPoolExecutor

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: route.get(NAMES[0], "/static/style.css", source=POSTER)[0], range(60)))
    elapsed = time.monotonic() - started
    # 1 + burst (30) at once, then 2 a second for as long as the burst took.
    assert set(statuses) == {200, 429} and statuses.count(200) <= 31 + 2 * elapsed + 1, (elapsed, statuses)
    # Pages for everyone else are not affected.
    assert route.get(NAMES[0], "/nl/", source=REPORTER)[0] == 200


def test_client_address_forwarding_headers_and_user_agent_are_found_nowhere(route, staff):
    """Runs last in this module: after Chromium's reports, the refusals and the raw requests
    below (which also carry the canaries), nothing anywhere holds them."""
    for headers in (
        {"X-Forwarded-For": XFF},
        {"Forwarded": f"for={XFF};proto=https"},
        {"X-Real-IP": XFF},
        {"User-Agent": UA},
    ):
        route.get(NAMES[0], "/en/", headers=headers)
        route.get(NAMES[0], "/en/nope", headers=headers)
    needles = [c.encode() for c in CANARIES]
    roots = [route.config.data_dir, route.server.tmpdir, route.server.stdout.parent, route.nginx.prefix]
    hits = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink() and path.name not in ("nginx.conf", "meldpunt.conf"):
                data = path.read_bytes()
                hits += [(str(path), n.decode()) for n in needles if n in data]
    assert hits == []
    with open_store(route.config.database_url) as store:
        rows = list(store.pending())
    assert rows  # at least Chromium's report in Dutch
    for row in rows:
        assert not [n for n in needles if n in row.sealed]
        assert not [c for c in CANARIES if c in repr(staff.open(row.sealed))]
    # The scan looked at real files: the logs nginx opened.
    assert (route.nginx.prefix / "log" / "meldpunt.error.log").exists()
