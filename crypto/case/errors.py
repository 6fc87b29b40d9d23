"""The case file's failures, each a crypto.errors.Error that the command line shows as one line."""

from __future__ import annotations

from crypto.errors import Error


class CaseError(Error):
    """The case file cannot be used: missing, unsafe permissions, made by a newer meldpunt."""


class InputError(Error):
    """An analyst's input is refused: an unknown address, verdict or status, an overlong note."""
