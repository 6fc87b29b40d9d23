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
from onion_service.shared.budget import RETRY_AFTER
from onion_service.shared.circuits import CircuitLimits
from onion_service.shared.route_budgets import RouteBudgets
from onion_service.shared.token import FormTokens, SpentTokens, TokenExpired, TokenInvalid, TokenTooFast
from onion_service.store import Store, StoreUnavailable
from onion_service.web import form, routes
from onion_service.web.status_texts import MESSAGE_TEXTS, STATE_TEXTS
from onion_service.web.views import circuit, lang_rule, new_circuit_notice

CODE = "code"
FIELDS = (CODE, form.TOKEN, form.HONEYPOT)


def make_status_blueprint(
    *,
    languages: tuple[str, ...],
    tokens: FormTokens,
    spent: SpentTokens,
    budgets: RouteBudgets,
    circuits: CircuitLimits,
    store: Store,
    enabled: bool,
) -> Blueprint:
    """enabled: the configuration names a status key; without one the page says statuses are not offered.
    budgets and spent: the lookups' own, a budget per route (so that lookups never use up the reports' budget nor fill
    their spent table); circuits: the report form's, so a circuit's pages count the same on both."""
    bp = Blueprint("status", __name__)
    LANG = lang_rule(languages)
    no_options = {"provide_automatic_options": False}

    def purpose(lang: str) -> str:
        # A token of the report form is not one of this form, and the reverse.
        return f"status-{lang}"

    def page(
        lang: str,
        *,
        code: str = "",
        error: object = None,
        notice: object = None,
        found: object = None,
        looked_up: bool = False,
        status: int = 200,
    ) -> Response:
        html = render_template(
            "status.html",
            enabled=enabled,
            code=code,
            error=error,
            notice=notice,
            found=found,
            looked_up=looked_up,
            token=tokens.issue(purpose(lang)),
            state_texts=STATE_TEXTS,
            message_texts=MESSAGE_TEXTS,
        )
        return Response(html, status=status, mimetype="text/html")

    @bp.before_request
    def count_page() -> Response | None:
        # Every page over one circuit counts, as on the report form; past the limit the typed
        # code is kept and the advice is the same.
        if circuits.page(circuit()):
            return None
        lang = (request.view_args or {}).get("lang", "")
        typed = form.read_fields(request, single=FIELDS, multiple=()).get(CODE) if request.method == "POST" else ""
        return page(lang, code=typed, notice=new_circuit_notice(), status=429)

    @bp.get(f"/{LANG}/status", strict_slashes=False, **no_options)
    def show(lang: str) -> Response:
        return page(lang)

    @bp.post(f"/{LANG}/status", strict_slashes=False, **no_options)
    def look_up(lang: str) -> Response:
        if not enabled:
            abort(404)
        fields = form.read_fields(request, single=FIELDS, multiple=())
        typed = fields.get(CODE)
        # Every refusal keeps the code, with one message that does not say which check failed.
        again = lazy_gettext("Please check the code below and look it up again.")
        if fields.get(form.HONEYPOT):
            return page(lang, code=typed, notice=again, status=400)
        try:
            token_id = tokens.check(fields.get(form.TOKEN), purpose(lang))
        except (TokenInvalid, TokenExpired, TokenTooFast):
            return page(lang, code=typed, notice=again, status=400)
        try:
            code = normalise_receipt(typed)
        except ReceiptError:
            error = lazy_gettext(
                "This is not a receipt code. A receipt code has 16 letters and digits, for example K7QM-4XPA-9TNR-2HWC."
            )
            return page(lang, code=typed, error=error, status=400)
        budget = budgets.of(routes.route_of(request.environ))
        if not budget.take():
            response = page(
                lang,
                code=typed,
                status=503,
                notice=lazy_gettext(
                    "Many people are using this page right now. Please wait a minute and look up your code again."
                ),
            )
            response.headers["Retry-After"] = RETRY_AFTER
            return response
        # Spent only after the code was read and a unit of the look-ups' budget taken, in the
        # look-ups' own table: junk codes spend nothing, and the table (sized from this budget,
        # shared/token.py: spent_slots) holds at most what the budget lets through.
        if not spent.spend(token_id):
            budget.give_back()
            return page(lang, code=typed, notice=again, status=400)
        try:
            found = store.status_of(code)
        except StoreUnavailable:
            budget.give_back()
            spent.give_back(token_id)
            response = page(
                lang,
                code=typed,
                status=503,
                notice=lazy_gettext("We cannot look up statuses at this moment. Please try again in a few minutes."),
            )
            response.headers["Retry-After"] = RETRY_AFTER
            return response
        return page(lang, found=found, looked_up=True)

    return bp
