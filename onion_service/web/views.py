"""The reporting blueprint: the language choice, the form, and the pipeline behind it.

POST /<lang>/ runs form -> validate -> frame+seal -> store, and only after the store has
committed does the reporter see the thank-you page with their receipt. Every dependency comes in
through `make_blueprint`; nothing here is global.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable
from typing import TypedDict

from flask import Blueprint, Response, g, render_template, request
from flask_babel import force_locale, gettext, lazy_gettext

from crypto.envelope.purge_secret import purge_hash
from crypto.envelope.receipt import new_receipt
from crypto.envelope.report import FOUND_ON, KINDS, Report, is_campaign
from onion_service import languages as languages_info
from onion_service.shared.budget import RETRY_AFTER
from onion_service.shared.circuits import ENVIRON_KEY, CircuitLimits
from onion_service.shared.route_budgets import RouteBudgets
from onion_service.shared.token import FormTokens, SpentTokens, TokenExpired, TokenInvalid, TokenTooFast
from onion_service.store import Store, StoreUnavailable
from onion_service.web import form, i18n, prefill, routes, validate
from onion_service.web.seal import NoPeriodError, Sealer


def lang_rule(languages: tuple[str, ...]) -> str:
    """The URL rule of a path's language segment: the offered languages and nothing else."""
    return "<any(" + ", ".join(languages) + "):lang>"


def utc_today() -> datetime.date:
    # The only date the server ever records: the UTC day, never a time of day.
    return datetime.datetime.now(datetime.UTC).date()


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


def circuit() -> int | None:
    """The Tor circuit of this request, as the worker read it from tor's PROXY line (memory only)."""
    return request.environ.get(ENVIRON_KEY)


def new_circuit_notice() -> object:
    return lazy_gettext(
        "Many pages or reports have come over your connection to this site in a short time, so we "
        "cannot take more over it now. Please open a new connection: in Tor Browser, open the menu "
        "(the three lines at the top right) and choose \u201cNew Tor circuit for this site\u201d, then send "
        "your report again. Your answers are still below."
    )


class _Kept(TypedDict):
    """The reporter's answers, for the form shown again (show_form's keywords)."""

    values: dict[str, str]
    kinds: tuple[str, ...]


def make_blueprint(
    *,
    languages: tuple[str, ...],
    tokens: FormTokens,
    spent: SpentTokens,
    budgets: RouteBudgets,
    circuits: CircuitLimits,
    sealer: Sealer,
    store: Store,
    today: Callable[[], datetime.date] = utc_today,
) -> Blueprint:
    bp = Blueprint("report", __name__)
    LANG = lang_rule(languages)
    no_options = {"provide_automatic_options": False}
    # Pages that differ only by a random or per-second value (receipt, token) are rendered once
    # per language and variant, with a placeholder for that value: rendering and translating a
    # page costs more than sealing and storing the report. The placeholder holds no data.
    # Kept as the UTF-8 bytes around the placeholder: joining them costs a quarter of replacing
    # the placeholder in the text and encoding the page again.
    rendered: dict[tuple[object, ...], list[bytes]] = {}
    slot = "\x00meldpunt-slot\x00"

    def cached(key: tuple[object, ...], value: str, render: Callable[[], str]) -> bytes:
        # Pages on the HTTPS names carry the Tor Browser notice (security.py): a variant of its own.
        key = (*key, bool(g.get("public_route")))
        parts = rendered.get(key)
        if parts is None:
            parts = rendered[key] = [part.encode("utf-8") for part in render().split(slot)]
        return value.encode("utf-8").join(parts)

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
        html: str | bytes
        if values == {form.DANGER: "no"} and not (kinds or errors or notice):
            html = cached(("form", lang), token, lambda: render(slot))  # the empty form
        else:
            html = render(token)
        return Response(html, status=status, mimetype="text/html")

    @bp.before_request
    def count_page() -> Response | None:
        # Every page over one circuit counts, the form posts too. Past the limit a post gets its
        # form back with the answers; a page gets the same advice on the error page.
        if circuits.page(circuit()):
            return None
        if request.method == "POST" and request.view_args and request.endpoint == "report.submit":
            fields = form.read_fields(request)
            return show_form(request.view_args["lang"], **kept(fields), notice=new_circuit_notice(), status=429)
        if request.method == "POST" and request.view_args and request.endpoint == "report.prefilled":
            return show_form(
                request.view_args["lang"], values=prefill.posted(request), notice=new_circuit_notice(), status=429
            )
        html = render_template(
            "error.html", code=429, title=gettext("Please use a new connection"), message=new_circuit_notice()
        )
        return Response(html, status=429, mimetype="text/html")

    def kept(fields: form.Fields) -> _Kept:
        # The reporter's answers, for the form shown again; never the honeypot (an autofilled
        # one would otherwise be sent back, and refused, again and again).
        values = {k: v for k, v in fields.single.items() if k not in (form.HONEYPOT, form.TOKEN)}
        return _Kept(values=values, kinds=fields.kinds)

    @bp.get("/", **no_options)
    def choose() -> Response:
        # Only a browser that names its languages is sent on (the switcher heads every page, for
        # Tor Browser's en-US and for anyone whose browser guessed wrong); the rest choose here.
        best = i18n.from_accept_language(request.headers.get("Accept-Language", ""), languages)
        if best is not None:
            return Response(status=303, headers={"Location": f"/{best}/", "Vary": "Accept-Language"})
        choices = []
        for code, name in i18n.switcher(languages):
            with force_locale(code):
                choices.append(
                    (code, name, languages_info.direction(code), gettext("Report child sexual abuse material"))
                )
        response = Response(render_template("choose.html", choices=choices), mimetype="text/html")
        response.headers["Vary"] = "Accept-Language"
        return response

    @bp.get(f"/{LANG}/", strict_slashes=False, **no_options)
    def show(lang: str) -> Response:
        # /<lang>/?url=…[&url=…] fills in addresses (prefill.py): only filled in, never submitted.
        values = prefill.values(request.args.getlist(prefill.FIELD)) or {}
        # ?c=<tag> (a campaign link) becomes a ticked box the reporter sees and can untick
        # (form.html); a tag that is not one is left out.
        campaign = request.args.get("c", "")
        if is_campaign(campaign):
            values[form.CAMPAIGN] = campaign
        return show_form(lang, values=values or None)

    @bp.post(f"/{LANG}/prefill", **no_options)
    def prefilled(lang: str) -> Response:
        # The browser extension's way in: the addresses in the body, so in no URL the browser
        # keeps. It files nothing and needs no token: the form it shows carries a fresh one.
        # Only the extension posts here, so its box ("the browser extension filled in this
        # form") is shown ticked, for the reporter to keep or untick.
        values = prefill.posted(request)
        if values:
            values[form.VIA] = "extension"
        return show_form(lang, values=values)

    @bp.get(f"/{LANG}/prefill", **no_options)
    def prefilled_again(lang: str) -> Response:
        # A restored or reloaded tab asks for the page again without its body: the empty form,
        # never a query read here (nobody should learn to put addresses in this URL).
        return show_form(lang)

    @bp.post(f"/{LANG}/", strict_slashes=False, **no_options)
    def submit(lang: str) -> Response:
        fields = form.read_fields(request)
        keep = kept(fields)
        # One message for a filled honeypot, a token that is not ours, one sent back too soon,
        # and one already used: a person gets their answers back and sends again; a machine
        # learns nothing about which check it failed.
        again = lazy_gettext("Please check your answers below and send the report again.")
        if fields.get(form.HONEYPOT):
            return show_form(lang, **keep, notice=again, status=400)
        try:
            token_id = tokens.check(fields.get(form.TOKEN), lang)
        except (TokenInvalid, TokenTooFast):
            return show_form(lang, **keep, notice=again, status=400)
        except TokenExpired:
            notice = lazy_gettext(
                "This form was open for a long time, so we could not accept it as it was. "
                "Your answers are still below: please check them and send the report again."
            )
            return show_form(lang, **keep, notice=notice, status=400)

        day = today()
        # The site the report came over: the reporter sees it in the address bar, and the form says it is kept.
        channel = routes.route_of(request.environ)  # the report records it; its budget is that route's
        result = validate.validate(fields, language=lang, today=day, receipt=new_receipt(), channel=channel)
        if isinstance(result, validate.Invalid):
            return show_form(lang, **keep, errors=result.errors, status=400)

        if not circuits.take_report(circuit()):
            return show_form(lang, **keep, notice=new_circuit_notice(), status=429)
        budget = budgets.of(channel)  # each route its own (shared/route_budgets.py says why)
        unsaved = lazy_gettext(
            "Your report could not be saved just now. Please try again in a few minutes. Your answers are still below."
        )

        shared_digest = tokens.spent_digest(token_id) if store.shares_spent_tokens else None
        spent_here = spent_in_store = False

        def refuse(notice: object) -> Response:
            circuits.give_back_report(circuit())
            if spent_here:
                spent.give_back(token_id)
            if spent_in_store and shared_digest is not None:  # (it is: only a shared digest is spent)
                # The store has just failed; if it fails again the row stays, and the reporter's
                # next try with this token gets the form back with a fresh one (one more click).
                with contextlib.suppress(StoreUnavailable):
                    store.give_back_token(shared_digest)
            response = show_form(lang, **keep, notice=notice, status=503)
            response.headers["Retry-After"] = RETRY_AFTER
            return response

        if budget.disk_full():
            return refuse(unsaved)
        if not budget.take():
            return refuse(
                lazy_gettext(
                    "Many reports are arriving right now. Please wait a minute and send your report "
                    "again. Your answers are still below."
                )
            )
        # Spent only now, under a unit of the budget: the spent table (sized from the budget,
        # shared/token.py: spent_slots) then holds at most what the budget lets through, whatever
        # is posted. A replay takes a unit for a moment and gives it back.
        if not spent.spend(token_id):
            budget.give_back()
            circuits.give_back_report(circuit())
            return show_form(lang, **keep, notice=again, status=400)
        spent_here = True
        if shared_digest is not None:
            # Another backend behind Onionbalance may have accepted this token already.
            try:
                fresh = store.spend_token(shared_digest, day)
            except StoreUnavailable:
                budget.give_back()
                return refuse(unsaved)
            if not fresh:
                # The database's row refuses this token from now on; the one here would hold a
                # slot the budget does not account for.
                budget.give_back()
                spent.give_back(token_id)
                circuits.give_back_report(circuit())
                return show_form(lang, **keep, notice=again, status=400)
            spent_in_store = True
        try:
            sealed = sealer.seal(result)
            # Returns only once the row is committed and synced (invariant 4).
            # Only the hash of the purge secret sealed inside: a purge must reveal the secret.
            store.add(sealed, day, purge_hash(result.purge_secret))
        except (StoreUnavailable, NoPeriodError):  # the schedule ran out: nothing sealed or stored
            budget.give_back()
            return refuse(unsaved)
        return thank(result)

    def thank(report: Report) -> Response:
        key = ("thanks", report.language, report.child_in_danger)
        html = cached(
            key,
            report.receipt,
            lambda: render_template("thanks.html", receipt=slot, child_in_danger=report.child_in_danger),
        )
        return Response(html, status=200, mimetype="text/html")

    return bp
