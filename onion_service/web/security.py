"""What every response carries and what every request must pass: headers, the host check.

The headers say: nothing may be loaded from elsewhere, nothing may be cached, nothing refers
back here, no feature of the browser is wanted. Headers that would identify the software or
let a page be recognised later (Server, ETag, Last-Modified) and cookies never leave.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, abort, request

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


def host_names(onion_address: str | None = None) -> frozenset[str]:
    """The Host names this server answers for: loopback always, the onion address when published."""
    names = {"127.0.0.1", "localhost", "[::1]"}
    if onion_address:
        names.add(onion_address.strip().lower())
    return frozenset(names)


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


def install(app: Flask, names: frozenset[str]) -> None:
    @app.before_request
    def check_host() -> None:
        # Runs before routing errors are raised, so an unknown host learns nothing, not even
        # which paths exist. Host is read from the raw header: no fallback to the bind address.
        hosts = request.headers.getlist("Host")
        if len(hosts) != 1 or not host_allowed(hosts[0], names):
            abort(421)

    @app.after_request
    def set_headers(response: Response) -> Response:
        for name in NEVER:
            response.headers.pop(name, None)
        response.headers.update(HEADERS)
        return response
