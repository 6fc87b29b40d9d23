"""One rule for showing a reported address, wherever it goes: terminal, page, CSV, letters, hand-offs.

An address is shown as something a provider or the police can type back and look up, that no
character in it can disguise:
- every invisible or direction-changing character (control, format such as U+202E, separators,
  every kind of space, unassigned and private code points) is percent-encoded as its UTF-8
  bytes, as a browser would send it: `https://evil.example/%E2%80%AEgpj.exe` stays readable in
  its real order, where the raw U+202E made it read `…exe.jpg`;
- the host is shown in its IDNA (punycode) form, which is what DNS resolves and what the
  comparison key holds (crypto/case/normalise.py), with the Unicode form beside it for reading;
- a host label that mixes letters of several scripts (a Cyrillic `а` inside a Latin name) carries
  a warning: it is how a look-alike of a known name is made.
Info-hashes and magnet links have no host and only get the first rule.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Unicode categories percent-encoded: control, format, surrogate, private use, unassigned,
# line and paragraph separators, and spaces (a space inside an address is never meant to be read).
_ENCODED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
# Scripts that are written together in one name; any other mixture is a warning.
_ASCII_HIDDEN = re.compile(r"[\x00-\x20\x7f]")  # what _ENCODED holds of ASCII: controls and the space
_TOGETHER = (frozenset({"CJK", "HIRAGANA", "KATAKANA"}), frozenset({"CJK", "HANGUL"}))


def _encode_char(ch: str) -> str:
    if unicodedata.category(ch) not in _ENCODED:
        return ch
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))


def percent_encode_hidden(text: str) -> str:
    return "".join(_encode_char(ch) for ch in text)


def idna_label(label: str) -> str:
    """One host label as DNS has it: lower case, and punycode (xn--) when it is not ASCII.

    Per label, without IDNA 2003's mapping (which would fold `ß` into `ss` and so make two
    hosts one): only NFC and lower case, which cannot change the name a registry holds."""
    if label.isascii():  # the common case, kept cheap: an import computes thousands of keys
        return label.lower() if _ASCII_HIDDEN.search(label) is None else percent_encode_hidden(label.lower())
    label = unicodedata.normalize("NFC", label).lower()
    if any(unicodedata.category(ch) in _ENCODED for ch in label):
        return percent_encode_hidden(label)  # shown as what it holds, never hidden inside punycode
    if label.isascii():
        return label
    try:
        return "xn--" + label.encode("punycode").decode("ascii")
    except UnicodeError:
        return label


def unicode_label(label: str) -> str:
    if label.startswith("xn--"):
        try:
            return label[4:].encode("ascii").decode("punycode")
        except UnicodeError:
            return label
    return label


def idna_host(host: str) -> str:
    return ".".join(idna_label(label) for label in host.split("."))


def mixed_scripts(host: str) -> tuple[str, ...]:
    """The scripts of the first host label whose letters mix several, or ()."""
    for label in host.split("."):
        scripts = set()
        for ch in unicode_label(label):
            if unicodedata.category(ch).startswith("L"):
                name = unicodedata.name(ch, "UNKNOWN")
                scripts.add(name.split()[0])
        if len(scripts) > 1 and not any(scripts <= ok for ok in _TOGETHER):
            return tuple(sorted(s.title() for s in scripts))
    return ()


@dataclass(frozen=True)
class Shown:
    text: str  # the address to type: punycode host, hidden characters percent-encoded; ASCII host
    unicode_host: str  # the host in Unicode when it differs from its IDNA form, else ""
    mixed: tuple[str, ...]  # scripts mixed in one host label, () when none

    @property
    def warning(self) -> str:
        return f"host mixes {' and '.join(self.mixed)} letters (a look-alike?)" if self.mixed else ""

    def line(self) -> str:
        """The address with its Unicode host beside it and its warning, on one line."""
        out = self.text
        if self.unicode_host:
            out += f" (host {percent_encode_hidden(self.unicode_host)})"
        if self.mixed:
            out += f" [! {self.warning}]"
        return out


def shown(url: str) -> Shown:
    """How one reported address is shown everywhere: the host replaced in the text as written
    (nothing else is re-spelled), then every hidden character percent-encoded."""
    text = url.strip()
    if text[:7].lower() == "magnet:":
        return Shown(percent_encode_hidden(text), "", ())
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    at = netloc.rfind("@")
    userinfo, hostport = netloc[: at + 1], netloc[at + 1 :]
    if hostport.startswith("["):  # an IPv6 literal has no name to show otherwise
        host, port = hostport, ""
    else:
        host, colon, port = hostport.rpartition(":")
        if not colon or not port.isdigit():
            host, port = hostport, ""
        else:
            port = ":" + port
    ascii_host = idna_host(host) if not host.startswith("[") else host
    unicode_host = ".".join(unicode_label(label) for label in ascii_host.split("."))
    rebuilt = f"{scheme}{sep}{userinfo}{ascii_host}{port}{tail}"
    return Shown(
        percent_encode_hidden(rebuilt), unicode_host if unicode_host != ascii_host else "", mixed_scripts(ascii_host)
    )


def line(url: str) -> str:
    return shown(url).line()
