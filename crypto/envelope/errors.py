"""The failures of the report envelope: a frame, a report or a receipt code that is not valid."""

from crypto.errors import Error


class FrameError(Error):
    """A report does not fit in a frame, or a frame is not exactly what `frame()` produces."""


class ReportError(Error):
    """A decoded report does not match the schema (crypto/envelope/report.py)."""


class ReceiptError(Error):
    """A receipt code is malformed (crypto/envelope/receipt.py)."""
