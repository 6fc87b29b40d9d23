"""What every response carries and what every request must pass: headers, the host check.

The headers say: nothing may be loaded from elsewhere, nothing may be cached, nothing refers
back here, no feature of the browser is wanted. Headers that would identify the software or
let a page be recognised later (Server, ETag, Last-Modified) and cookies never leave.

Two routes reach the same form: the onion service, and the hotline's HTTPS names (web.public_hosts)
through its reverse proxy. They differ in two headers only, both on the HTTPS names: Onion-Location,
so Tor Browser offers the onion, and Strict-Transport-Security. Neither route learns who is asking:
`forget_client` removes the peer address and every header a proxy could carry one in, before the
application sees the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import Flask, Response, abort, g, request

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# Every feature a page could ask the browser for, denied (none is needed to fill in a form).
_FEATURES = (
    "accelerometer", "ambient-light-sensor", "autoplay", "battery", "bluetooth", "browsing-topics",
    "camera", "clipboard-read", "clipboard-write", "display-capture", "document-domain",
    "encrypted-media", "fullscreen", "gamepad", "geolocation", "gyroscope", "hid", "idle-detection",
    "interest-cohort", "local-fonts", "magnetometer", "microphone", "midi", "payment",
    "picture-in-picture", "publickey-credentials-create", "publickey-credentials-get",
    "screen-wake-lock", "serial", "speaker-selection", "storage-access", "usb", "web-share",
    "window-management", "xr-spatial-tracking",
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
# One year, the floor browsers' preload lists ask for; no includeSubDomains: the hotline's other
# names are not this server's to decide.
HSTS = "max-age=31536000"

# WSGI environ keys that hold, or may hold, the address of whoever is asking: the socket's peer
# (gunicorn fills it for TCP; empty on a unix socket) and what proxies put in headers.
CLIENT_KEYS = (
    "REMOTE_ADDR", "REMOTE_PORT", "REMOTE_HOST", "HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP",
    "HTTP_X_CLIENT_IP", "HTTP_CLIENT_IP", "HTTP_TRUE_CLIENT_IP", "HTTP_CF_CONNECTING_IP", "HTTP_X_CLUSTER_CLIENT_IP",
    "HTTP_X_FORWARDED", "HTTP_FORWARDED_FOR", "HTTP_VIA",
)


def forget_client(wsgi_app):
    """`wsgi_app`, seeing no client address: not the peer's, not one a proxy or the client wrote.
    Nothing in the application can then log, store or act on one, even by mistake."""

    def app(environ, start_response):
        for key in CLIENT_KEYS:
            environ.pop(key, None)
        return wsgi_app(environ, start_response)

    return app


def host_names(onion_address: str | None = None, public_hosts: Iterable[str] = ()) -> frozenset[str]:
    """The Host names this server answers for: loopback always, the onion address when published,
    and the hotline's HTTPS names."""
    names = {"127.0.0.1", "localhost", "[::1]", *public_hosts}
    if onion_address:
        names.add(onion_address.strip().lower())
    return frozenset(names)


def host_name(header: str) -> str:
    """The name part of a Host header that host_allowed accepted, without the port."""
    host = header.strip().lower()
    return host[: host.find("]") + 1] if host.startswith("[") else host.partition(":")[0]


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


def install(app: Flask, names: frozenset[str], *, public_hosts: Iterable[str] = (),
            onion_address: str | None = None) -> None:
    """The host check and the headers. `public_hosts` are the names of the HTTPS route (they must
    be in `names` too); `onion_address`, when known, is what Onion-Location points to there."""
    public = frozenset(public_hosts)
    onion = onion_address.strip().lower() if onion_address else None
    app.wsgi_app = forget_client(app.wsgi_app)  # type: ignore[method-assign]  # Flask's way to wrap

    @app.before_request
    def check_host() -> None:
        # Runs before routing errors are raised, so an unknown host learns nothing, not even
        # which paths exist. Host is read from the raw header: no fallback to the bind address.
        hosts = request.headers.getlist("Host")
        if len(hosts) != 1 or not host_allowed(hosts[0], names):
            abort(421)
        # The HTTPS route: the pages then say that Tor Browser protects the reporter better.
        g.public_route = host_name(hosts[0]) in public
        g.onion_address = onion

    @app.after_request
    def set_headers(response: Response) -> Response:
        for name in NEVER:
            response.headers.pop(name, None)
        response.headers.update(HEADERS)
        if g.get("public_route"):
            response.headers["Strict-Transport-Security"] = HSTS
            if onion:
                response.headers["Onion-Location"] = onion_location(onion)
        return response
