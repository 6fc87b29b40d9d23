"""Every failure meldpunt reports to a person derives from `Error`.

The CLI maps `Error` to one line on stderr in a single place (crypto/cli.py); anything else that
escapes is a bug and is allowed to show a traceback.
"""


class Error(Exception):
    """A failure with a message fit to show a user as it is (no secrets, no plaintext)."""
