"""meldpunt's own page for the requests gunicorn refuses before the application sees them.

gunicorn answers a malformed request (a request line over its limit, a broken header, a bad
Content-Length, …) with its own English page, without the security headers, in a format that
names the server software. This worker answers those with the page the application gives
every other refusal: the same template in the default language, the same headers, and nothing
about the request in a log.
"""

from __future__ import annotations

import http

from gunicorn import util
from gunicorn.http import errors as http_errors

from onion_service.process.worker import BufferingWorker

# Errors in our own response, not in the request: gunicorn answers them with 500 too.
_OURS = (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName, http_errors.ConfigurationProblem)


def refusal_status(exc: BaseException) -> int:
    """The status meldpunt answers for what gunicorn raised: 414, 400, or 500 for our own fault."""
    if isinstance(exc, _OURS) or not isinstance(exc, http_errors.ParseException):
        return 500
    if isinstance(exc, http_errors.LimitRequestLine):
        return 414
    return 400  # every other malformed request, whatever gunicorn would have called it


class RefusingWorker(BufferingWorker):
    """BufferingWorker whose refusals of malformed requests are meldpunt's translated pages."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pages: dict[int, bytes] = {}

    def handle_error(self, req, client, addr, exc) -> None:
        code = refusal_status(exc)
        if code == 500:
            # The type only: gunicorn's own message would carry the request line.
            self.log.error("error while serving a request: %s", type(exc).__name__)
        try:
            util.write_nonblock(client, self._page(code))
        except OSError:
            return  # the client has gone; there is no one left to answer

    def _page(self, code: int) -> bytes:
        page = self._pages.get(code)
        if page is None:
            response = self.meldpunt_app.extensions["meldpunt_refusal_page"](code)
            head = [f"HTTP/1.1 {code} {http.HTTPStatus(code).phrase}"]
            head += [f"{name}: {value}" for name, value in response.headers.items() if name.lower() != "connection"]
            head.append("Connection: close")
            page = self._pages[code] = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.get_data()
        return page
