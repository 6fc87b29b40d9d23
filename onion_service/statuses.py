"""Import: the signed status file from the offline machine replaces the server's status table.

The file is checked whole before the table is touched: its size, then its signature against
`[status] public_key` (nothing unsigned is parsed), then its format. The store then refuses a
version not newer than the one in use and replaces every row in one transaction. Any failure
leaves the previous statuses answering, and says why in one line (crypto.errors.Error).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from crypto.files import read_bounded
from crypto.status import file as status_file
from crypto.status.errors import StatusFileError
from crypto.status.keys import VerifyKey
from onion_service.config import Config, ConfigError
from onion_service.store import Store
from onion_service.store.statuses import Replaced


def import_status_file(config: Config, store: Store, path: str | Path) -> Replaced:
    if config.status.public_key is None:
        raise ConfigError(
            "[status] public_key is not set: the server cannot check a status file "
            "(`meldpunt case signing-key` prints it)"
        )
    data = read_bounded(path, status_file.MAX_FILE_BYTES, StatusFileError, "the status file")
    parsed = status_file.decode(data, VerifyKey.parse(config.status.public_key))
    return store.replace_statuses(parsed, hashlib.sha256(data).digest())
