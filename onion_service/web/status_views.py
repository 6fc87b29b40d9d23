"""The status page: GET /<lang>/status shows a form, POST looks up the receipt code typed in it.

The code travels only in the body of a POST (never in a URL, so never in a history, a Referer or
a proxy's log), with the form token the report form uses. A code that matches nothing and a
report not yet in any status file get the same answer. Nothing about a lookup is stored or
logged: the code is normalised, hashed with the table's salt and compared, and lives only in this
request's memory.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import lazy_gettext

from crypto.envelope.errors import ReceiptError
from crypto.envelope.receipt import normalise_receipt
from onion_service.store import Store, StoreUnavailable
from onion_service.web import form
from onion_service.web.budget import Budget
from onion_service.web.status_texts import MESSAGE_TEXTS, STATE_TEXTS
from onion_service.web.token import FormTokens, TokenExpired, TokenInvalid, TokenTooFast
from onion_service.web.views import LANG

CODE = "code"
FIELDS = (CODE, form.TOKEN, form.HONEYPOT)


def make_status_blueprint(*, tokens: FormTokens, budget: Budget, store: Store, enabled: bool) -> Blueprint:
    """enabled: the configuration names a status key; without one the page says statuses are not offered."""
    bp = Blueprint("status", __name__)
    no_options = {"provide_automatic_options": False}

    def purpose(lang: str) -> str:
        # A token of the report form is not one of this form, and the reverse.
        return f"status-{lang}"

    def page(lang: str, *, code: str = "", error: object = None, notice: object = None,
             found: object = None, looked_up: bool = False, status: int = 200) -> Response:
        html = render_template(
            "status.html", enabled=enabled, code=code, error=error, notice=notice, found=found,
            looked_up=looked_up, token=tokens.issue(purpose(lang)), state_texts=STATE_TEXTS,
            message_texts=MESSAGE_TEXTS)
        return Response(html, status=status, mimetype="text/html")

    def admit() -> int | None:
        """None if this lookup may run now, else the seconds to wait. The global budget (its own,
        so that lookups never use up the reports' budget); a per-circuit limit belongs here too."""
        return budget.take()

    @bp.get(f"/{LANG}/status", strict_slashes=False, **no_options)
    def show(lang: str) -> Response:
        return page(lang)

    @bp.post(f"/{LANG}/status", strict_slashes=False, **no_options)
    def look_up(lang: str) -> Response:
        if not enabled:
            abort(404)
        fields = form.read_fields(request, single=FIELDS, multiple=())
        if fields.get(form.HONEYPOT):
            abort(400)
        typed = fields.get(CODE)
        try:
            tokens.check(fields.get(form.TOKEN), purpose(lang))
        except TokenInvalid:
            abort(400)
        except (TokenExpired, TokenTooFast):
            return page(lang, code=typed, notice=lazy_gettext("Please check the code below and look it up again."),
                        status=400)
        try:
            code = normalise_receipt(typed)
        except ReceiptError:
            error = lazy_gettext("This is not a receipt code. A receipt code has 16 letters and digits, "
                                 "for example K7QM-4XPA-9TNR-2HWC.")
            return page(lang, code=typed, error=error, status=400)
        wait = admit()
        if wait is not None:
            response = page(lang, code=typed, status=503, notice=lazy_gettext(
                "Many people are using this page right now. Please wait a minute and look up your code again."))
            response.headers["Retry-After"] = str(wait)
            return response
        try:
            found = store.status_of(code)
        except StoreUnavailable:
            budget.give_back()
            response = page(lang, code=typed, status=503, notice=lazy_gettext(
                "We cannot look up statuses at this moment. Please try again in a few minutes."))
            response.headers["Retry-After"] = "60"
            return response
        return page(lang, found=found, looked_up=True)

    return bp
