"""The onion service's ED25519-V3 key in tor's `hs_ed25519_secret_key` layout: the address for years.

The layout is a 32-byte tagged header, then the 64-byte expanded secret key. The key lives in the
service's HiddenServiceDir (onion_service/tor/service_dir.py); `load_or_create` and KEY_FILE are
the older place, `data_dir/onion.key`, which service_dir moves in unchanged.

The address is computed here rather than asked of tor, so that `serve` knows its host name before
tor is reachable and the web server can start (and refuse every other Host) at once.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from crypto import files
from onion_service.tor.errors import OnionKeyError

KEY_FILE = "onion.key"
ADDRESS_FILE = "onion-address"
HEADER = b"== ed25519v1-secret: type0 ==".ljust(32, b"\0")
EXPANDED_KEY_BYTES = 64


@dataclass(frozen=True)
class OnionKey:
    expanded: bytes  # the clamped scalar (32 bytes) then the nonce prefix (32 bytes)

    def __repr__(self) -> str:  # never show key material, even in a traceback
        return f"OnionKey({self.service_id}.onion)"

    @property
    def blob(self) -> str:
        """The key as ADD_ONION takes it: `ED25519-V3:<base64>`."""
        return "ED25519-V3:" + base64.b64encode(self.expanded).decode()

    @property
    def service_id(self) -> str:
        """The 56-character address without `.onion`."""
        return onion_service_id(public_key(self.expanded[:32]))

    @property
    def hostname(self) -> str:
        return self.service_id + ".onion"


def load_or_create(data_dir: str | os.PathLike) -> OnionKey:
    """The key in `data_dir/onion.key`, created (mode 0600, never overwritten) on first use."""
    path = Path(data_dir) / KEY_FILE
    try:
        return load(path)
    except FileNotFoundError:
        pass
    key = generate()
    if not files.create_new_or_keep(path, HEADER + key.expanded, error=OnionKeyError):
        return load(path)  # another process created it first: that one is the address
    return key


def load(path: str | os.PathLike) -> OnionKey:
    path = Path(path)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_IMODE(mode) & 0o077:
            raise OnionKeyError(f"{path} can be read by others (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}")
        data = os.read(fd, len(HEADER) + EXPANDED_KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) != len(HEADER) + EXPANDED_KEY_BYTES or not data.startswith(HEADER):
        raise OnionKeyError(f"{path} is not an ED25519-V3 onion key (tor's hs_ed25519_secret_key format)")
    expanded = data[len(HEADER) :]
    if expanded[0] & 7 or expanded[31] & 0xC0 != 0x40:
        raise OnionKeyError(f"{path} holds a malformed ED25519 key")
    return OnionKey(expanded)


def generate() -> OnionKey:
    # Ed25519 key expansion (RFC 8032 5.1.5): SHA-512 of a random seed, the first half clamped.
    digest = bytearray(hashlib.sha512(os.urandom(32)).digest())
    digest[0] &= 248
    digest[31] &= 63
    digest[31] |= 64
    return OnionKey(bytes(digest))


def write_address(data_dir: str | os.PathLike, key: OnionKey) -> Path:
    """Write `data_dir/onion-address` (public, mode 0644) by rename, so readers never see half."""
    path = Path(data_dir) / ADDRESS_FILE
    files.atomic_write(path, (key.hostname + "\n").encode(), mode=0o644, error=OnionKeyError)
    return path


def onion_service_id(public: bytes) -> str:
    # rend-spec-v3 6: base32(PUBKEY | CHECKSUM | VERSION), CHECKSUM from SHA3-256.
    version = b"\x03"
    checksum = hashlib.sha3_256(b".onion checksum" + public + version).digest()[:2]
    return base64.b32encode(public + checksum + version).decode().lower()


# -- Ed25519 base-point multiplication ------------------------------------------------------------
# `cryptography` derives public keys only from seeds, and a key moved in from a HiddenServiceDir has
# no seed. This runs once at start-up on a secret the process already holds; speed and timing
# side channels do not matter here.

_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_BY = 4 * pow(5, _P - 2, _P) % _P


def _recover_x(y: int) -> int:
    xx = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(xx, (_P + 3) // 8, _P)
    if (x * x - xx) % _P:
        x = x * pow(2, (_P - 1) // 4, _P) % _P
    return _P - x if x & 1 else x


_B = (_recover_x(_BY), _BY, 1, _recover_x(_BY) * _BY % _P)


def _add(p: tuple, q: tuple) -> tuple:
    # Extended twisted Edwards coordinates (Hisil et al. 2008), a = -1.
    a = (p[1] - p[0]) * (q[1] - q[0]) % _P
    b = (p[1] + p[0]) * (q[1] + q[0]) % _P
    c = 2 * p[3] * q[3] * _D % _P
    d = 2 * p[2] * q[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def public_key(scalar: bytes) -> bytes:
    n = int.from_bytes(scalar, "little")
    result, addend = (0, 1, 1, 0), _B
    while n:
        if n & 1:
            result = _add(result, addend)
        addend = _add(addend, addend)
        n >>= 1
    zinv = pow(result[2], _P - 2, _P)
    x, y = result[0] * zinv % _P, result[1] * zinv % _P
    return (y | (x & 1) << 255).to_bytes(32, "little")
