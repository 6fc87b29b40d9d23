"""The failures of status keys and status files, each a crypto.errors.Error shown as one line."""

from crypto.errors import Error


class StatusKeyError(Error):
    """A status signing or public key is malformed, or its file cannot be used."""


class StatusFileError(Error):
    """A status file is malformed, too large, or cut off."""


class SignatureError(StatusFileError):
    """A status file is signed with another key, or its bytes are not the ones that were signed."""


class RollbackError(StatusFileError):
    """A status file is not newer than the one in use (an older one, or another with the same version)."""
