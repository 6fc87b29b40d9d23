"""The reporting blueprint: the language choice, the form, and the pipeline behind it.

POST /<lang>/ runs form -> validate -> frame+seal -> store, and only after the store has
committed does the reporter see the thank-you page with their receipt. Every dependency comes in
through `make_blueprint`; nothing here is global.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from flask import Blueprint, Response, abort, g, render_template, request
from flask_babel import force_locale, gettext, lazy_gettext

from crypto.envelope.purge_secret import purge_hash
from crypto.envelope.receipt import new_receipt
from crypto.envelope.report import FOUND_ON, KINDS, LANGUAGES, MAX_URLS, Report
from onion_service.store import Store, StoreUnavailable
from onion_service.web import form, validate
from onion_service.web.budget import Budget
from onion_service.web.i18n import NAMES
from onion_service.web.seal import Sealer
from onion_service.web.token import FormTokens, TokenExpired, TokenInvalid, TokenTooFast

LANG = "<any(" + ", ".join(LANGUAGES) + "):lang>"


def utc_today() -> datetime.date:
    # The only date the server ever records: the UTC day, never a time of day.
    return datetime.datetime.now(datetime.timezone.utc).date()


def found_on_labels() -> list[tuple[str, object]]:
    labels = {
        "website": lazy_gettext("Website"),
        "image_host": lazy_gettext("Image host"),
        "forum": lazy_gettext("Forum"),
        "social": lazy_gettext("Social network or app"),
        "chat": lazy_gettext("Chat or messenger"),
        "p2p": lazy_gettext("Peer-to-peer or torrent"),
        "newsgroup": lazy_gettext("Newsgroup"),
        "email": lazy_gettext("E-mail"),
        "game": lazy_gettext("Online game"),
        "onion": lazy_gettext("Onion site (Tor)"),
        "other": lazy_gettext("Somewhere else"),
    }
    return [(code, labels[code]) for code in FOUND_ON]


def kind_labels() -> list[tuple[str, object]]:
    labels = {
        "images": lazy_gettext("Images"),
        "videos": lazy_gettext("Videos"),
        "livestream": lazy_gettext("Livestream"),
        "text": lazy_gettext("Text or chat (grooming)"),
        "drawn": lazy_gettext("Drawn or AI-generated"),
        "other": lazy_gettext("Something else"),
    }
    return [(code, labels[code]) for code in KINDS]


def make_blueprint(
    *,
    tokens: FormTokens,
    budget: Budget,
    sealer: Sealer,
    store: Store,
    today: Callable[[], datetime.date] = utc_today,
) -> Blueprint:
    bp = Blueprint("report", __name__)
    no_options = {"provide_automatic_options": False}
    # Pages that differ only by a random or per-second value (receipt, token) are rendered once
    # per language and variant, with a placeholder for that value: rendering and translating a
    # page costs more than sealing and storing the report. The placeholder holds no data.
    rendered: dict[tuple[object, ...], str] = {}
    slot = "\x00meldpunt-slot\x00"

    def cached(key: tuple[object, ...], value: str, render: Callable[[], str]) -> str:
        # Pages on the HTTPS names carry the Tor Browser notice (security.py): a variant of its own.
        key = (*key, bool(g.get("public_route")))
        page = rendered.get(key)
        if page is None:
            page = rendered[key] = render()
        return page.replace(slot, value)

    def show_form(
        lang: str,
        *,
        values: dict[str, str] | None = None,
        kinds: tuple[str, ...] = (),
        errors: dict[str, object] | None = None,
        notice: object = None,
        status: int = 200,
    ) -> Response:
        values = dict(values or {})
        values.setdefault(form.DANGER, "no")

        def render(token: str) -> str:
            return render_template(
                "form.html",
                values=values,
                kinds=kinds,
                errors=errors or {},
                notice=notice,
                token=token,
                found_on_choices=found_on_labels(),
                kind_choices=kind_labels(),
                limits=validate,
            )

        token = tokens.issue(lang)
        if values == {form.DANGER: "no"} and not (kinds or errors or notice):
            html = cached(("form", lang), token, lambda: render(slot))  # the empty form
        else:
            html = render(token)
        return Response(html, status=status, mimetype="text/html")

    @bp.get("/", **no_options)
    def choose() -> str:
        choices = []
        for code in LANGUAGES:
            with force_locale(code):
                choices.append((code, NAMES[code], gettext("Report child sexual abuse material")))
        return render_template("choose.html", choices=choices)

    @bp.get(f"/{LANG}/", strict_slashes=False, **no_options)
    def show(lang: str) -> Response:
        # /<lang>/?url=…[&url=…] fills in addresses (from the hotline's site, a campaign or the
        # browser extension, which sends an image's address and its page's). They are only
        # pre-filled, never submitted: the reporter still decides. Past the form's own bounds,
        # or not printable, an address is left out rather than refused.
        urls = [u.strip() for u in request.args.getlist("url")[:MAX_URLS]
                if 0 < len(u) <= validate.MAX_URL_CHARS and u.isprintable()]
        prefill = "\n".join(u for u in urls if u)
        return show_form(lang, values={form.URLS: prefill} if prefill else None)

    @bp.post(f"/{LANG}/", strict_slashes=False, **no_options)
    def submit(lang: str) -> Response:
        fields = form.read_fields(request)
        if fields.get(form.HONEYPOT):
            abort(400)
        keep = {"values": fields.single, "kinds": fields.kinds}
        try:
            tokens.check(fields.get(form.TOKEN), lang)
        except TokenInvalid:
            abort(400)
        except TokenExpired:
            notice = lazy_gettext(
                "This form was open for a long time, so we could not accept it as it was. "
                "Your answers are still below: please check them and send the report again."
            )
            return show_form(lang, **keep, notice=notice, status=400)
        except TokenTooFast:
            notice = lazy_gettext("Please check your answers below and send the report again.")
            return show_form(lang, **keep, notice=notice, status=400)

        day = today()
        result = validate.validate(fields, language=lang, today=day, receipt=new_receipt())
        if isinstance(result, validate.Invalid):
            return show_form(lang, **keep, errors=result.errors, status=400)

        wait = budget.take()
        if wait is not None:
            notice = lazy_gettext(
                "Many reports are arriving right now. Please wait a minute and send your report "
                "again. Your answers are still below."
            )
            response = show_form(lang, **keep, notice=notice, status=503)
            response.headers["Retry-After"] = str(wait)
            return response

        sealed = sealer.seal(result)
        try:
            # Returns only once the row is committed and synced (invariant 4).
            # Only the hash of the purge secret sealed inside: a purge must reveal the secret.
            store.add(sealed, day, purge_hash(result.purge_secret))
        except StoreUnavailable:
            budget.give_back()
            notice = lazy_gettext(
                "Your report could not be saved just now. Please try again in a few minutes. "
                "Your answers are still below."
            )
            response = show_form(lang, **keep, notice=notice, status=503)
            response.headers["Retry-After"] = "60"
            return response
        return thank(result)

    def thank(report: Report) -> Response:
        key = ("thanks", report.language, report.child_in_danger)
        html = cached(key, report.receipt, lambda: render_template(
            "thanks.html", receipt=slot, child_in_danger=report.child_in_danger))
        return Response(html, status=200, mimetype="text/html")

    return bp
