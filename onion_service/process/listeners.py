"""The sockets one gunicorn master listens on, and what each expects of its connections.

One socket per kind of client (onion_service/web/routes.py): tor's (`[web] bind`), where every
connection starts with tor's PROXY line when `circuit_ids` is on; and the reverse proxy's
(`[web] https_bind`), where none is expected (nginx sends none, and a PROXY line there would come
from nobody we trust). One master, one writer, one set of workers serve both: each worker tells
its connections apart by the listening socket they were accepted on.
"""

from __future__ import annotations

from dataclasses import dataclass

from gunicorn import util

from onion_service.web import routes


@dataclass(frozen=True)
class Listening:
    bind: str  # as check_bind accepted it: host:port on loopback, or unix:/path
    proxy_line: bool  # every connection must start with tor's PROXY line (others are closed)
    route: str  # routes.ONION or routes.HTTPS

    @property
    def address(self):
        """The address gunicorn binds for `bind` (its listener's cfg_addr), by gunicorn's own parser."""
        return util.parse_address(self.bind)


def listening(bind: str, https_bind: str | None, *, circuit_ids: bool) -> tuple[Listening, ...]:
    tor = Listening(bind, proxy_line=circuit_ids, route=routes.ONION)
    if https_bind is None:
        return (tor,)
    return (tor, Listening(https_bind, proxy_line=False, route=routes.HTTPS))


class UnknownListener(RuntimeError):
    """A worker was given a socket no Listening describes (it must not guess what it expects)."""


def by_socket_name(sockets, specs: tuple[Listening, ...]) -> dict:
    """{listening socket's getsockname(): its Listening}, the key gthread gives each connection
    (TConn.server). Every socket must be one of `specs`."""
    by_address = {spec.address: spec for spec in specs}
    out = {}
    for sock in sockets:
        spec = by_address.get(sock.cfg_addr)
        if spec is None:
            raise UnknownListener(f"no route for the listening socket {sock}")
        out[sock.getsockname()] = spec
    return out
