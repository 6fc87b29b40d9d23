"""The comparison key of a reported address: two spellings of one address get one key.

The key is for de-duplication only; the reporter's own spelling is kept beside it and is what
staff read and hand on. Only differences that cannot change what a server returns are removed:
the case of the scheme and host, a host's trailing dot, a default port, an empty path, the
case of %-escapes and escaped characters that need none, and parameters that only track who
clicked. Anything else (the path's case, the order of other parameters, the fragment) may
matter to the site and is kept. A host is compared in its IDNA (punycode) form
(crypto/case/display.py), so `bücher.example` and `xn--bcher-kva.example` are one address; case
files from before compared Unicode hosts as written, and `legacy_key` gives that key so that their
addresses keep collecting reports (crypto/case/importing.py). A bare host is read as http, as the
form reads it. A magnet link
and a bare info-hash name one torrent, so both become `btih:<hex>` (or `btmh:<hex>`).
"""

from __future__ import annotations

import base64
import re
import urllib.parse

from crypto.case.display import idna_host, unicode_label

# Query parameters that name a campaign or a click, never the content.
_TRACKING_PREFIXES = ("utm_",)
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "twclid",
        "ttclid",
        "li_fat_id",
        "srsltid",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEX40 = re.compile(r"[0-9a-fA-F]{40}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_BASE32_32 = re.compile(r"[A-Za-z2-7]{32}")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def address_key(url: str, *, host_form: str = "idna") -> str:
    """The comparison key of one reported address (as the report's schema admits it)."""
    text = url.strip()
    torrent = _torrent_key(text)
    if torrent is not None:
        return torrent
    if not _SCHEME.match(text):
        text = "http://" + text
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError:
        return text  # not an address this module understands: compared as written
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if host_form != "as-written":
        host = idna_host(host)
    if host_form == "unicode":  # as an older meldpunt keyed the same host typed in Unicode
        host = ".".join(unicode_label(label) for label in host.split("."))
    netloc = host if ":" not in host else f"[{host}]"
    if parts.username is not None or parts.password is not None:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    path = _escapes(parts.path) or "/"
    query = _query(parts.query)
    key = f"{scheme}://{netloc}{path}"
    if query:
        key += "?" + query
    if parts.fragment:
        key += "#" + _escapes(parts.fragment)
    return key


def legacy_key(url: str) -> str:
    """The key case files before IDNA comparison gave: Unicode hosts as written (lower case)."""
    return address_key(url, host_form="as-written")


def keys_of(url: str) -> tuple[str, ...]:
    """The key, then the keys an older meldpunt may have stored an address of this URL under:
    its host as written, and in Unicode (had it been typed so)."""
    key = address_key(url)
    if url.isascii() and "xn--" not in key:
        return (key,)  # no host an older meldpunt could have keyed otherwise
    return tuple(dict.fromkeys((key, legacy_key(url), address_key(url, host_form="unicode"))))


def _escapes(text: str) -> str:
    # %7e and %7E and ~ are one character; %2F and / are not (a server may tell them apart).
    def fix(m: re.Match[str]) -> str:
        byte = int(m.group(1), 16)
        return chr(byte) if byte in _UNRESERVED else "%" + m.group(1).upper()

    return _ESCAPE.sub(fix, text)


def _query(query: str) -> str:
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = urllib.parse.unquote_plus(pair.split("=", 1)[0]).lower()
        if name in _TRACKING or name.startswith(_TRACKING_PREFIXES):
            continue
        kept.append(_escapes(pair))
    return "&".join(kept)


def _torrent_key(text: str) -> str | None:
    if _HEX40.fullmatch(text):
        return "btih:" + text.lower()
    if _HEX64.fullmatch(text):
        return "btmh:1220" + text.lower()
    if _BASE32_32.fullmatch(text) and not text.lower().endswith(".onion"):
        return "btih:" + base64.b32decode(text.upper()).hex()
    if text[:8].lower() != "magnet:?":
        return None
    hashes = []
    for pair in text[8:].split("&"):
        name, _, value = pair.partition("=")
        if name.lower() != "xt":
            continue
        kind, _, digest = urllib.parse.unquote(value).lower().rpartition(":")
        if kind == "urn:btih" and _HEX40.fullmatch(digest):
            hashes.append("btih:" + digest)
        elif kind == "urn:btih" and _BASE32_32.fullmatch(digest):
            hashes.append("btih:" + base64.b32decode(digest.upper()).hex())
        elif kind == "urn:btmh":
            hashes.append("btmh:" + digest)
    # A magnet naming several torrents is keyed by all of them, in a fixed order.
    return " ".join(sorted(hashes)) if hashes else "magnet:?" + text[8:]
