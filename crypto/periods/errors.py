"""The typed failures of key periods."""

from crypto.errors import Error


class ScheduleError(Error):
    """A schedule file is malformed, or no period holds the day asked for."""


class KeyringError(Error):
    """A period identity file is malformed, or lacks the key a report needs."""


class RetiredKeyError(KeyringError):
    """The key of a report's period was destroyed (retired): the report can never be opened."""

    def __init__(self, first_day: str, retired_on: str) -> None:
        super().__init__(
            f"the key for the period starting {first_day} was retired on {retired_on}: "
            "reports of that period can no longer be opened, by design"
        )
        self.first_day, self.retired_on = first_day, retired_on
