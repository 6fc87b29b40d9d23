"""Every failure meldpunt reports to a person derives from `Error`.

The command line maps `Error` to one line on stderr in a single place; anything else that escapes
is a bug and is allowed to show a traceback. Each layer defines its own subclasses beside
its code: crypto/age/errors.py for the age format, crypto/envelope/errors.py for the report
envelope.
"""


class Error(Exception):
    """A failure with a message fit to show a user as it is (no secrets, no plaintext)."""


class FileError(Error):
    """An input or output file cannot be read or written."""
