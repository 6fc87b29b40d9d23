"""The onion service's HiddenServiceDir: where its key lives, and moving an old key into it.

Why a HiddenServiceDir and not ADD_ONION: only services configured that way get
HiddenServiceExportCircuitID (the circuit id the per-circuit limits need),
HiddenServiceEnableIntroDoSDefense and Onionbalance instances. The key then is tor's: it lies in
the directory tor reads (mode 0700, the key 0600), and the web server neither reads it nor talks to
tor. Before this, meldpunt kept the key in `data_dir/onion.key` and added it with ADD_ONION; the
file has tor's own `hs_ed25519_secret_key` layout, so it is moved in as it is and the address
stays the same.

Here, for a tor meldpunt configures over its control port (its own launched tor, the demo, the
tests): `data_dir/onion-service`. In production the system tor's drop-in names
/var/lib/tor/meldpunt/ and deploy/install.sh moves the key there (deploy/README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

from crypto import files
from onion_service.tor import keys
from onion_service.tor.errors import OnionKeyError

DIR_NAME = "onion-service"
SECRET_FILE = "hs_ed25519_secret_key"
PUBLIC_FILE = "hs_ed25519_public_key"
PUBLIC_HEADER = b"== ed25519v1-public: type0 ==".ljust(32, b"\0")


def service_dir(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / DIR_NAME


def prepare(directory: str | os.PathLike, legacy_key: str | os.PathLike) -> keys.OnionKey:
    """The service's key in `directory` (made 0700), moved from `legacy_key` if that exists, made
    new otherwise. The legacy file is removed only once the key is synced in its new place."""
    directory, legacy = Path(directory), Path(legacy_key)
    # tor refuses a HiddenServiceDir others can read
    files.private_dir(directory, error=OnionKeyError, force_mode=True)
    secret = directory / SECRET_FILE
    if secret.exists():
        key = keys.load(secret)
        if legacy.exists():
            if keys.load(legacy) != key:
                raise OnionKeyError(
                    f"{legacy} and {secret} hold different onion keys; keep the one "
                    "whose address is published and remove the other"
                )
            legacy.unlink()
        return key
    key = keys.load(legacy) if legacy.exists() else keys.generate()
    files.create_new(secret, keys.HEADER + key.expanded, error=OnionKeyError)
    public = directory / PUBLIC_FILE
    if not public.exists():
        files.create_new(public, PUBLIC_HEADER + keys.public_key(key.expanded[:32]), error=OnionKeyError)
    if legacy.exists():
        legacy.unlink()
        files.fsync_dir(legacy.parent)
    return key
