"""The PROXY protocol v1 line tor puts before each connection to an onion service.

With `HiddenServiceExportCircuitID haproxy`, tor writes one line before the client's bytes:

    PROXY TCP6 fc00:dead:beef:4dad::<hi>:<lo> ::1 <sport> <dport>\r\n

where the last 32 bits of the source address are the global id of the rendezvous circuit the
connection came over (tor's connection_export_circuit_id). That id is local to this tor process
and grows by one per circuit: it says nothing about the person, but it tells one circuit from
another, which is what the per-circuit limits need.

Read strictly: only the exact form tor writes, in at most MAX_LINE bytes, before anything else.
Anything else is not tor (or not a tor configured as we expect), and the worker closes the
connection. The id goes into the request's WSGI environ and nowhere else.
"""

from __future__ import annotations

import ipaddress

# The PROXY protocol's own bound for v1: "PROXY TCP6 " + two full IPv6 addresses + two ports
# + CRLF is at most 107 bytes.
MAX_LINE = 107
# tor's fixed prefix for exported circuit ids (fc00:dead:beef:4dad::/64, the id in the last 32 bits).
_PREFIX = ipaddress.IPv6Network("fc00:dead:beef:4dad::/64")


class ProxyLineError(Exception):
    """The connection does not start with a PROXY line as tor writes it."""


def parse(buf: bytes | bytearray) -> tuple[int, int] | None:
    """(circuit id, bytes the line took) once `buf` holds the whole line; None while it may still
    be arriving. ProxyLineError as soon as it cannot be one."""
    end = buf.find(b"\r\n", 0, MAX_LINE)
    if end < 0:
        if len(buf) >= MAX_LINE or not b"PROXY "[: len(buf)] == bytes(buf[:6]):
            raise ProxyLineError("no PROXY line")
        if b"\n" in buf or b"\r" in buf[:-1]:
            raise ProxyLineError("PROXY line broken")
        return None
    line = bytes(buf[:end])
    parts = line.split(b" ")
    if len(parts) != 6 or parts[0] != b"PROXY" or parts[1] != b"TCP6":
        raise ProxyLineError("not a PROXY TCP6 line")
    try:
        source = ipaddress.IPv6Address(parts[2].decode("ascii"))
        ipaddress.IPv6Address(parts[3].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise ProxyLineError("bad address in PROXY line") from None
    for port in parts[4:6]:
        if not port.isdigit() or len(port) > 5 or int(port) > 65535:
            raise ProxyLineError("bad port in PROXY line")
    if source not in _PREFIX:
        raise ProxyLineError("PROXY source is not a tor circuit id")
    return int(source) & 0xFFFF_FFFF, end + 2
