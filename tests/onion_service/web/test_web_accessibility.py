"""axe-core audits every page in every language in Debian's Chromium: the language choice, the
empty form, the form with errors, the thank-you page (with and without the emergency block) and
every error page, on the hotline's HTTPS name (with the Tor Browser notice) and on loopback.

The pages carry no script, so axe is injected into a browser context of its own with the CSP
bypassed. Chromium talks to the app in-process: every request it makes is answered by Flask's test
client (context.route), so 500 and 503 pages can be produced on purpose. A serious or critical
violation fails the test; the others are listed in test-artifacts/web/axe-minor.txt.
"""

from __future__ import annotations

import pytest

from onion_service.process.writer import Writer
from onion_service.store import open_store
from onion_service.web import routes
from onion_service.web.app import create_app
from tests.harness import make_config
from tests.kit import CHROMIUM_FLAGS, ROOT
from tests.onion_service.web.webkit import FORM, LANGS, ONION, PUBLIC, good_fields

pytestmark = pytest.mark.browser
AXE = ROOT / "tests" / "onion_service" / "web" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = "/usr/lib/chromium/chromium"


@pytest.fixture(scope="module")
def app(tmp_path_factory, staff):
    from flask import abort

    base = tmp_path_factory.mktemp("a11y")
    config = make_config(base / "data", staff.recipient, form_min_seconds=0, public_hosts=[PUBLIC])
    config.data_dir.mkdir(mode=0o700)
    open_store(config.database_url).close()
    writer = Writer(config.database_url, answer_timeout=20)
    writer.start()
    store = open_store(config.database_url, writer=writer.client())
    application = create_app(config, store=store, onion_address=ONION)

    # Pages a healthy server shows only when something fails, on purpose here.
    @application.get("/<lang>/fail-500")
    def fail(lang):
        raise RuntimeError("on purpose")

    @application.get("/<lang>/fail-503")
    def busy(lang):
        abort(503)

    try:
        yield application, config
    finally:
        store.close()
        writer.stop()


@pytest.fixture(scope="module")
def audit(app, playwright):
    """audit(host, method, path, body=None, expect=SELECTOR) -> the page's serious and critical
    violations, after Chromium loaded it from the app as `host` sees it."""
    if not AXE.is_file():
        pytest.fail("axe-core is missing: run make npm-deps")
    application, _ = app
    client = application.test_client()
    minor: list[str] = []

    def answer(route, request):
        url = request.url.split("://", 1)[1]
        host, _, path = url.partition("/")
        # The public name comes in on the reverse proxy's socket (onion_service/web/routes.py).
        came_by = routes.HTTPS if host == PUBLIC else routes.ONION
        response = client.open(
            "/" + path,
            method=request.method,
            data=request.post_data_buffer,
            environ_overrides={routes.ENVIRON_KEY: came_by},
            headers={"Host": host, **{k: v for k, v in request.headers.items() if k.lower() == "content-type"}},
        )
        route.fulfill(status=response.status_code, headers=dict(response.headers), body=response.get_data())

    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[a for a in CHROMIUM_FLAGS if a != "--headless"]
    )
    context = browser.new_context(bypass_csp=True, java_script_enabled=True)
    context.route("**/*", answer)
    page = context.new_page()

    def run(host: str, method: str, path: str, body: bytes | None = None, expect: str = "main h1"):
        if method == "GET":
            page.goto(f"http://{host}{path}")
        else:
            # A form post, as the browser sends it (the page it answers with is then audited).
            page.goto(f"http://{host}/__blank__")
            with page.expect_navigation():
                page.evaluate(
                    """([path, body]) => { const f = document.createElement('form');
                    f.method = 'post'; f.action = path; for (const [k, v] of new URLSearchParams(body)) {
                      const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v;
                      f.appendChild(i); } document.body.appendChild(f); f.submit(); }""",
                    [path, (body or b"").decode()],
                )
        assert page.locator(expect).count() >= 1, f"{path}: not the page meant ({expect})"
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        bad = []
        for v in result["violations"]:
            targets = [n["target"] for n in v["nodes"]]
            line = f"{host}{path} [{v['impact']}] {v['id']}: {v['help']} {targets}"
            (bad if v["impact"] in ("serious", "critical") else minor).append(line)
        return bad

    run.page = page  # type: ignore[attr-defined]  # for documents the app cannot be asked for
    yield run
    context.close()
    browser.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe-minor.txt").write_text("\n".join(minor) + "\n")


def pages(config, lang: str) -> list[tuple[str, str, bytes | None, str]]:
    """(method, path, body, a selector only that page has) of every kind of page in `lang`."""
    from tests.formkit import form_body

    return [
        ("GET", f"/{lang}/", None, "main .tor .onion"),
        ("GET", f"/{lang}/?url=http%3A%2F%2Fexample.org%2Fa", None, "#urls"),
        ("GET", f"/{lang}/?c=lockdown-2020&url=http%3A%2F%2Fexample.org%2Fa", None, "#origin #campaign"),
        ("POST", f"/{lang}/prefill", b"url=http%3A%2F%2Fexample.org%2Fa", "#origin #via"),
        (
            "POST",
            f"/{lang}/",
            form_body(good_fields(config, lang, urls="", kinds=[], seen_on="2999-01-01")),
            ".summary",
        ),
        ("POST", f"/{lang}/", form_body(good_fields(config, lang)), ".code strong"),
        ("POST", f"/{lang}/", form_body(good_fields(config, lang, danger="yes")), ".urgent .number"),
        ("POST", f"/{lang}/", form_body({"urls": "x"}), "main h1"),  # 400: no token
        ("GET", f"/{lang}/nope", None, "main h1"),  # 404
        ("GET", f"/{lang}/?url=" + "a" * 5000, None, "main h1"),  # 414
        ("GET", f"/{lang}/fail-500", None, "main h1"),
        ("GET", f"/{lang}/fail-503", None, "main h1"),
        ("GET", f"/{lang}/status", None, "main h1"),
    ]


@pytest.mark.slow  # about 10 s a language
# Arabic (right to left) and two other new languages besides the first four.
@pytest.mark.parametrize("lang", LANGS + ("ar", "uk", "tr"))
def test_every_page_in_each_language_passes_axe_on_the_public_host(app, audit, lang):
    _, config = app
    problems = []
    for method, path, body, expect in pages(config, lang):
        problems += audit(PUBLIC, method, path, body, expect)
    assert problems == [], "\n".join(problems)


@pytest.mark.slow  # several seconds: in make test, not make check
def test_language_choice_and_pages_only_raw_requests_reach_pass_axe(app, audit):
    """The language choice, and the error pages a browser cannot ask for itself (an unknown method,
    which gets the 404 page; 413, 415, 421), each loaded as a document with the status and body the
    app gives it."""
    application, _ = app
    client = application.test_client()
    client.environ_base[routes.ENVIRON_KEY] = routes.HTTPS  # as the public name comes in
    problems = (
        audit(PUBLIC, "GET", "/", expect=".choose")
        + audit("127.0.0.1", "GET", "/", expect=".choose")
        + audit("127.0.0.1", "GET", "/fr/", expect="#urls")
    )
    for lang in LANGS:
        for code, response in [
            (404, client.delete(f"/{lang}/", headers={"Host": PUBLIC})),
            (413, client.post(f"/{lang}/", data=b"a" * 70_000, headers={"Host": PUBLIC, **FORM})),
            (415, client.post(f"/{lang}/", data=b"a=b", headers={"Host": PUBLIC, "Content-Type": "text/plain"})),
            (421, client.get(f"/{lang}/", headers={"Host": "evil.example"})),
        ]:
            assert response.status_code == code
            html = response.get_data()
            path = f"/{lang}/as-{code}"

            def serve(route, request, html=html, code=code):
                route.fulfill(status=code, headers={"Content-Type": "text/html; charset=utf-8"}, body=html)

            problems += audit_document(audit, path, serve)
    assert problems == [], "\n".join(problems)


def audit_document(audit, path, serve):
    """Loads `path` answered by `serve` (a page.route handler) and audits it."""
    url = f"http://{PUBLIC}{path}"
    audit.page.route(url, serve)
    try:
        return audit(PUBLIC, "GET", path)
    finally:
        audit.page.unroute(url)
