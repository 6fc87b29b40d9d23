"""What every response carries and what every request must pass: headers, the host check.

The headers say: nothing may be loaded from elsewhere, nothing may be cached, nothing refers
back here, no feature of the browser is wanted. Headers that would identify the software or
let a page be recognised later (Server, ETag, Last-Modified) and cookies never leave.

Two routes reach the same form, each by a socket of its own (onion_service/web/routes.py): the onion
service, and the hotline's HTTPS names (web.public_hosts) through its reverse proxy. Each socket
answers for its own route's names only. They differ in two headers, both on the HTTPS names:
Onion-Location, so Tor Browser offers the onion, and Strict-Transport-Security. Neither route learns who is asking:
`forget_client` removes the peer address and every header a proxy could carry one in, before the
application sees the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import Flask, Response, abort, g, request

from onion_service.web import routes

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Every feature a page could ask the browser for, denied (none is needed to fill in a form).
_FEATURES = (
    "accelerometer",
    "ambient-light-sensor",
    "autoplay",
    "battery",
    "bluetooth",
    "browsing-topics",
    "camera",
    "clipboard-read",
    "clipboard-write",
    "display-capture",
    "document-domain",
    "encrypted-media",
    "fullscreen",
    "gamepad",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "interest-cohort",
    "local-fonts",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-create",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "speaker-selection",
    "storage-access",
    "usb",
    "web-share",
    "window-management",
    "xr-spatial-tracking",
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": ", ".join(f"{f}=()" for f in _FEATURES),
}
NEVER = ("Server", "ETag", "Last-Modified", "Set-Cookie", "Expires", "Pragma")
# What leaves no response as the application set it: NEVER's names are dropped, HEADERS' replaced.
_REPLACED = frozenset(name.lower() for name in (*NEVER, *HEADERS))
_SENT = list(HEADERS.items())
# One year, the floor browsers' preload lists ask for; no includeSubDomains: the hotline's other
# names are not this server's to decide.
HSTS = "max-age=31536000"

# WSGI environ keys that hold, or may hold, the address of whoever is asking: the socket's peer
# (gunicorn fills it for TCP; empty on a unix socket) and what proxies put in headers.
CLIENT_KEYS = (
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "REMOTE_HOST",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_FORWARDED",
    "HTTP_X_REAL_IP",
    "HTTP_X_CLIENT_IP",
    "HTTP_CLIENT_IP",
    "HTTP_TRUE_CLIENT_IP",
    "HTTP_CF_CONNECTING_IP",
    "HTTP_X_CLUSTER_CLIENT_IP",
    "HTTP_X_FORWARDED",
    "HTTP_FORWARDED_FOR",
    "HTTP_VIA",
)


def sent_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """`headers` as they leave: without NEVER's names and HEADERS' names, whoever set them (a
    view, Flask, Werkzeug), then HEADERS."""
    return [(name, value) for name, value in headers if name.lower() not in _REPLACED] + _SENT


def send_headers(wsgi_app):
    """`wsgi_app`, whose every response leaves with `sent_headers`. Set here, below Flask, rather
    than on each response object: there Werkzeug checked and copied the same ten headers twice
    per response, and gunicorn checks them once more on the way out."""

    def app(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, sent_headers(headers), exc_info)

        return wsgi_app(environ, start)

    return app


def forget_client(wsgi_app):
    """`wsgi_app`, seeing no client address: not the peer's, not one a proxy or the client wrote.
    Nothing in the application can then log, store or act on one, even by mistake."""

    def app(environ, start_response):
        for key in CLIENT_KEYS:
            environ.pop(key, None)
        return wsgi_app(environ, start_response)

    return app


# What of the request target goes into Onion-Location: a path of URL characters (the one Werkzeug
# decoded is quoted again) and a query string of plain ASCII, or no query at all.
_QUERY = re.compile(r"[\x21-\x7e]{1,2048}")


def onion_location(onion_address: str) -> str:
    from urllib.parse import quote

    target = f"http://{onion_address}{quote(request.path, safe='/')}"
    query = request.query_string.decode("latin-1")
    return f"{target}?{query}" if _QUERY.fullmatch(query) else target


def host_allowed(header: str | None, names: Iterable[str]) -> bool:
    if not header or len(header) > 300:
        return False
    host = header.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        name, rest = host[: end + 1], host[end + 1 :]
    else:
        name, _, port = host.partition(":")
        rest = ":" + port if _ else ""
    if rest and not (rest.startswith(":") and rest[1:].isdigit() and len(rest) <= 6):
        return False
    return name in names


def install(app: Flask, *, public_hosts: Iterable[str] = (), onion_address: str | None = None) -> None:
    """The host check and the headers. `public_hosts` are the names of the HTTPS route, answered on
    its socket only; `onion_address`, when known, is answered on tor's socket and is what
    Onion-Location points to on the HTTPS route."""
    onion = onion_address.strip().lower() if onion_address else None
    names = {
        route: routes.host_names(route, onion_address=onion, public_hosts=public_hosts)
        for route in (routes.ONION, routes.HTTPS)
    }
    app.wsgi_app = forget_client(send_headers(app.wsgi_app))  # type: ignore[method-assign]  # Flask's way to wrap

    @app.before_request
    def check_host() -> None:
        # Runs before routing errors are raised, so an unknown host learns nothing, not even
        # which paths exist. Host is read from the raw header: no fallback to the bind address.
        route = routes.route_of(request.environ)
        # The server joins repeated Host headers into one value, which host_allowed refuses.
        if not host_allowed(request.environ.get("HTTP_HOST"), names[route]):
            abort(421)
        # The HTTPS route: the pages then say that Tor Browser protects the reporter better.
        g.public_route = route == routes.HTTPS
        g.onion_address = onion

    @app.after_request
    def set_route_headers(response: Response) -> Response:
        # The headers of the HTTPS names only; every response's own are sent_headers'.
        if g.get("public_route"):
            response.headers["Strict-Transport-Security"] = HSTS
            if onion:
                response.headers["Onion-Location"] = onion_location(onion)
        return response
