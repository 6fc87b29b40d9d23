"""Bech32 (BIP 173) for age keys, without BIP 173's 90-character limit.

age drops the length limit because a post-quantum recipient is about 1,950 characters long.
Strings must be all lowercase or all uppercase; the checksum is always over the lowercase form.
"""

from __future__ import annotations

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_VALUES = {c: i for i, c in enumerate(_CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)

# The longest key string we will look at: an age1pq recipient is 1,958 characters. Anything much
# longer is not a key, and bounding it keeps a pasted megabyte from costing a polymod over it.
MAX_LENGTH = 4096


class Bech32Error(ValueError):
    """The string is not valid Bech32 (callers turn this into their own typed error)."""


def _polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GENERATOR[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], frm: int, to: int, pad: bool) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << to) - 1
    for value in data:
        if value >> frm:
            raise Bech32Error("invalid data value")
        acc = (acc << frm) | value
        bits += frm
        while bits >= to:
            bits -= to
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (to - bits)) & maxv)
    elif bits >= frm or (acc << (to - bits)) & maxv:
        # Leftover bits must be fewer than a whole input group and all zero: anything else
        # would let two strings decode to the same key.
        raise Bech32Error("invalid padding")
    return out


def encode(hrp: str, data: bytes) -> str:
    """Encodes `data` under the human-readable part `hrp`, in lowercase."""
    hrp = hrp.lower()
    values = _convert_bits(data, 8, 5, pad=True)
    polymod = _polymod(_hrp_expand(hrp) + values + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[v] for v in values + checksum)


def decode(text: str) -> tuple[str, bytes]:
    """Returns (hrp in lowercase, data). Raises Bech32Error on any deviation."""
    if len(text) > MAX_LENGTH:
        raise Bech32Error("too long")
    if text.lower() != text and text.upper() != text:
        raise Bech32Error("mixed case")
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise Bech32Error("invalid character")
    text = text.lower()
    sep = text.rfind("1")
    if sep < 1 or sep + 7 > len(text):
        raise Bech32Error("separator misplaced")
    hrp, rest = text[:sep], text[sep + 1 :]
    try:
        values = [_VALUES[c] for c in rest]
    except KeyError:
        raise Bech32Error("invalid character") from None
    if _polymod(_hrp_expand(hrp) + values) != 1:
        raise Bech32Error("invalid checksum")
    return hrp, bytes(_convert_bits(values[:-6], 5, 8, pad=False))


def decode_key(text: str, hrp: str, *, secret: bool, error: type[Exception], what: str) -> bytes:
    """The data of an age key string with this HRP, or `error` naming `what` and the expected form.

    age writes recipients in lowercase and identities in uppercase, and accepts only that case.
    """
    try:
        got_hrp, data = decode(text)
    except Bech32Error as exc:
        raise error(f"invalid {what}: {exc}") from None
    expected_case = text.upper() if secret else text.lower()
    if got_hrp != hrp or text != expected_case:
        form = f"{hrp.upper()}1…, uppercase" if secret else f"{hrp}1…, lowercase"
        raise error(f"invalid {what} (expected {form})")
    return data
