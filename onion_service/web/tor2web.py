"""Tor2web: a visit through a web gateway to onion services is not anonymous, so it gets a warning.

A Tor2web gateway is an ordinary website that fetches onion pages for browsers without Tor. It
sees the visitor's IP address and everything they type, and announces itself with an
`X-Tor2web` header. Such a visit gets a page that says so, in the reporter's language, instead of
the form; nothing it sent is read or kept.
"""

from __future__ import annotations

from flask import Flask, Response, render_template, request

HEADER = "X-Tor2web"


def install(app: Flask) -> None:
    @app.before_request
    def warn_tor2web() -> Response | None:
        if HEADER not in request.headers:
            return None
        # 403: the gateway must not cache it as the page, and nothing else is served through it.
        return Response(render_template("tor2web.html"), status=403, mimetype="text/html")
