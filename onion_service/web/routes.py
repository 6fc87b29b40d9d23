"""The two routes a request reaches the form by, one listening socket each.

- The onion route: tor's socket (`[web] bind`). tor puts its PROXY line before every connection
  there (when `[tor] circuit_ids` is on), and the Host is the onion address (or loopback, for the
  local preview and the tests).
- The HTTPS route: the reverse proxy's socket (`[web] https_bind`). No PROXY line; the Host is one
  of `[web] public_hosts`; the proxy's own limits stand in for the per-circuit ones.

A socket answers only for its own route's names: a public name on tor's socket and the onion
address on the proxy's get 421. So a misdirected proxy (nginx pointed at tor's socket) or a
client that reaches the wrong socket is refused plainly instead of being half served.

The worker (onion_service/process/worker.py) knows which socket each connection came in on and
says so in the WSGI environ under ENVIRON_KEY; no HTTP header can set an environ key with a dot,
so a client cannot choose its route. A request without the key (the application called in-process,
as the unit tests do) is on the onion route.
"""

from __future__ import annotations

from collections.abc import Iterable

ENVIRON_KEY = "meldpunt.route"
ONION = "onion"
HTTPS = "https"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def route_of(environ: dict) -> str:
    return HTTPS if environ.get(ENVIRON_KEY) == HTTPS else ONION


def host_names(route: str, *, onion_address: str | None, public_hosts: Iterable[str]) -> frozenset[str]:
    """The Host names answered on `route`: the public names on the HTTPS route; loopback and the
    onion address (when known) on the onion route."""
    if route == HTTPS:
        return frozenset(public_hosts)
    names = set(LOOPBACK_HOSTS)
    if onion_address:
        names.add(onion_address.strip().lower())
    return frozenset(names)
