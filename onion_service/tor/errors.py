"""The failures of the Tor side, as messages a sysadmin can act on."""

from __future__ import annotations

from crypto.errors import Error


class TorError(Error):
    """Tor could not be reached, used or started; the message says what to check."""


class TorVersionError(TorError):
    """The tor we talk to is too old for what the service needs (proof-of-work defences)."""


class OnionKeyError(TorError):
    """The onion service's key file is missing, malformed or readable by others."""
