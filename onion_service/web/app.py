"""The application factory: `create_app(config)` builds a Flask app from a validated Config.

Nothing happens at import time. Every dependency (store, budget, token secret, sealer) is made or
received here and handed to the blueprint; there are no module-level singletons.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType

from flask import Flask, Response, abort, g, render_template, request
from flask_babel import lazy_gettext
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException, InternalServerError

from onion_service import languages as installed_languages
from onion_service.config import Config
from onion_service.shared.budget import RETRY_AFTER
from onion_service.shared.state import Shared, make_shared
from onion_service.shared.token import FormTokens
from onion_service.store import Store
from onion_service.web import i18n, security, tor2web
from onion_service.web.form import MAX_BODY_BYTES, MAX_FIELDS
from onion_service.web.seal import Sealer
from onion_service.web.status_views import make_status_blueprint
from onion_service.web.views import make_blueprint

# Longest request target we answer (gunicorn refuses request lines over 8190 bytes itself).
MAX_TARGET = 4096
_STYLESHEET = Path(__file__).parent / "static" / "style.css"

_TITLES = {
    400: lazy_gettext("The form could not be read"),
    404: lazy_gettext("Page not found"),
    413: lazy_gettext("Too long"),
    414: lazy_gettext("Address too long"),
    415: lazy_gettext("Text only"),
    421: lazy_gettext("Wrong address"),
    500: lazy_gettext("Something went wrong"),
    503: lazy_gettext("Please try again"),
}
_MESSAGES = {
    400: lazy_gettext(
        "Something in what was sent could not be read. Please go back to the form and send your report again."
    ),
    404: lazy_gettext("This page does not exist."),
    413: lazy_gettext("What you sent is too long. Please shorten your report and send it again."),
    414: lazy_gettext("The address of this page is too long."),
    415: lazy_gettext("This form accepts text only. Please do not attach files or images."),
    421: lazy_gettext("This server does not answer for that address."),
    500: lazy_gettext("Something went wrong on our side, and your report was not saved. Please try again later."),
    503: lazy_gettext("We cannot take reports at this moment. Please try again in a few minutes."),
}


class _App(Flask):
    # Wider than Flask's exc_info: the handler below passes only the exception's type.
    def log_exception(self, exc_info: tuple[type | None, BaseException | None, TracebackType | None]) -> None:
        # Only the exception's type: a traceback's locals and messages could hold form data.
        self.logger.error("unhandled %s", exc_info[0].__name__ if exc_info[0] else "exception")


def create_app(
    config: Config,
    *,
    store: Store,
    shared: Shared | None = None,
    onion_address: str | None = None,
) -> Flask:
    """The reporting application.

    store: where reports go (each gunicorn worker opens its own, sending to the writer process).
    shared: the objects every worker shares (token secret, spent tokens, budgets, per-circuit
        counts); server.run passes the ones it made before forking, made here otherwise.
    onion_address: accepted as a Host name on tor's socket besides the loopback names, and offered
        by Onion-Location (and on the page) to visitors who come by a public host on the HTTPS
        socket (onion_service/web/routes.py: which socket answers which names).
    """
    if shared is None:
        shared = make_shared(config)
    tokens = FormTokens(
        shared.token_secret,
        min_seconds=config.limits.form_min_seconds,
        max_seconds=config.limits.form_max_hours * 3600,
    )

    app = _App("onion_service.web", static_folder=None)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        # Belt and braces: form.py never lets Werkzeug parse a form, but if anything ever did,
        # these keep it in memory and small.
        MAX_FORM_MEMORY_SIZE=MAX_BODY_BYTES,
        MAX_FORM_PARTS=MAX_FIELDS,
        TRAP_HTTP_EXCEPTIONS=False,
        PROPAGATE_EXCEPTIONS=False,
        SESSION_COOKIE_NAME=None,
    )
    app.logger.setLevel(logging.WARNING)
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False  # "//nl/" is a plain 404, never a redirect
    # Configurations built in code (tests, benches) may leave web.languages empty: every installed one.
    offered = config.web.languages or installed_languages.installed()
    i18n.init_babel(app, offered, config.default_language)
    security.install(app, public_hosts=config.web.public_hosts, onion_address=onion_address)
    tor2web.install(app)

    @app.before_request
    def refuse_long_targets() -> None:
        target = request.environ.get("RAW_URI") or request.full_path
        if len(target) > MAX_TARGET:
            abort(414)

    @app.context_processor
    def page_context() -> dict[str, object]:
        lang = i18n.language_of_path(request.path, offered, config.default_language)
        h = config.hotline
        return {
            "lang": lang,
            "dir": installed_languages.direction(lang),
            "languages": switcher,
            "hotline_name": h.name.get(lang),
            "hotline_contact": h.contact.get(lang),
            "emergency": [(e.label.get(lang), e.number) for e in h.emergency],
            "quick_exit": h.quick_exit_url,
            "status_page": config.status.public_key is not None,
            # On the HTTPS route only: the notice that Tor Browser protects better (the address
            # is "" when this server does not know it).
            "clearnet": g.get("public_route", False),
            "onion_address": g.get("onion_address") or "",
        }

    switcher = i18n.switcher(offered)
    stylesheet = _STYLESHEET.read_bytes()

    @app.get("/static/style.css", provide_automatic_options=False)
    def style() -> Response:
        # Served from memory, without ETag or Last-Modified: nothing that could tell one visit
        # from the next (send_file would add both).
        return Response(stylesheet, mimetype="text/css")

    app.register_blueprint(
        make_blueprint(
            languages=offered,
            tokens=tokens,
            spent=shared.spent,
            budgets=shared.budgets,
            circuits=shared.circuits,
            sealer=Sealer(config.recipients, config.schedules),
            store=store,
        )
    )
    app.register_blueprint(
        make_status_blueprint(
            languages=offered,
            tokens=tokens,
            spent=shared.lookup_spent,
            budgets=shared.lookup_budgets,
            circuits=shared.circuits,
            store=store,
            enabled=config.status.public_key is not None,
        )
    )

    def error_page(code: int) -> Response:
        html = render_template("error.html", code=code, title=_TITLES[code], message=_MESSAGES[code])
        return Response(html, status=code, mimetype="text/html")

    def refusal_page(code: int) -> Response:
        # For requests the HTTP server refuses before routing (onion_service/process/refusals.py):
        # the same page in the default language, with the same headers as every response.
        with app.test_request_context("/"):
            response = app.process_response(error_page(code))
        response.headers = Headers(security.sent_headers(response.headers.items()))
        return response

    app.extensions["meldpunt_refusal_page"] = refusal_page

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = exc.code if exc.code in _TITLES else (400 if exc.code and 400 <= exc.code < 500 else 404)
        if exc.code == 431:
            code = 400
        if exc.code == 405:
            # A method a path does not take gets the answer of a path that does not exist, with
            # no Allow header: one answer for everything unknown, telling nothing of what exists.
            code = 404
        response = error_page(code)
        if code == 503:
            response.headers["Retry-After"] = RETRY_AFTER
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        app.log_exception((type(exc), None, None))
        return error_page(InternalServerError.code)

    return app
