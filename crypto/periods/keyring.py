"""The period identity file: one age identity per period, and a line for each destroyed one.

    # meldpunt-keyring-v1
    # period 2026-12-01
    AGE-SECRET-KEY-PQ-1…
    # period 2027-01-01
    AGE-SECRET-KEY-PQ-1…
    # retired 2026-11-01 2027-05-03

Every line but the keys is an age comment, so the file (plain, or protected with a passphrase as
`meldpunt keygen` writes it) still works with `meldpunt decrypt -i` and `age -d -i`. A retired
period keeps only its first day and the day its key was destroyed, so that a report of that
period can be answered with "retired on …" rather than a bare decryption failure.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from crypto.age import keys
from crypto.periods.errors import KeyringError, RetiredKeyError
from crypto.periods.schedule import MAX_PERIODS, Period, Schedule

MAGIC = "# meldpunt-keyring-v1"
LENGTHS = ("week", "month", "quarter")


@dataclass(frozen=True)
class Keyring:
    held: dict[datetime.date, str] = field(default_factory=dict)  # first day -> identity text
    retired: dict[datetime.date, datetime.date] = field(default_factory=dict)  # first day -> destroyed on

    def identities(self) -> list:
        return [keys.parse_identity(text) for _, text in sorted(self.held.items())]

    def period_of(self, day: datetime.date) -> datetime.date | None:
        """The first day of the period (held or retired) that holds `day`."""
        starts = [d for d in (*self.held, *self.retired) if d <= day]
        return max(starts) if starts else None

    def explain(self, day: datetime.date) -> RetiredKeyError | None:
        """For a report of `day` that no identity opened: the retirement that explains it."""
        first = self.period_of(day)
        if first is not None and first in self.retired:
            return RetiredKeyError(first.isoformat(), self.retired[first].isoformat())
        return None

    def text(self) -> str:
        lines = [MAGIC]
        for first, identity in sorted(self.held.items()):
            lines += [f"# period {first.isoformat()}", identity]
        lines += [f"# retired {first.isoformat()} {on.isoformat()}" for first, on in sorted(self.retired.items())]
        return "\n".join(lines) + "\n"


def is_keyring(text: str) -> bool:
    return text.lstrip().startswith(MAGIC)


def parse(text: str) -> Keyring:
    if not is_keyring(text):
        raise KeyringError("not a period identity file (it does not start with meldpunt-keyring-v1)")
    held: dict[datetime.date, str] = {}
    retired: dict[datetime.date, datetime.date] = {}
    pending: datetime.date | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line == MAGIC:
            continue
        if line.startswith("# period "):
            if pending is not None:
                raise KeyringError(f"line {n}: the period {pending} has no key")
            pending = _day(line.removeprefix("# period "), n)
        elif line.startswith("# retired "):
            first, _, on = line.removeprefix("# retired ").partition(" ")
            retired[_day(first, n)] = _day(on, n)
        elif line.startswith("#"):
            continue
        else:
            if pending is None:
                raise KeyringError(f"line {n}: a key without its '# period' line")
            keys.parse_identity(line)  # IdentityError names what is wrong, never the key
            held[pending] = line
            pending = None
    if pending is not None:
        raise KeyringError(f"the period {pending} has no key")
    if set(held) & set(retired):
        raise KeyringError("a period is listed both as held and as retired")
    return Keyring(held, retired)


def period_starts(start: datetime.date, count: int, length: str) -> list[datetime.date]:
    """`count` consecutive first days from `start`: weeks of 7 days, or the first day of each
    following month or quarter (the first period runs from `start` to the next such day)."""
    if length not in LENGTHS:
        raise KeyringError(f"a period is a {', a '.join(LENGTHS)}")
    if not 1 <= count <= MAX_PERIODS:
        raise KeyringError(f"make 1 to {MAX_PERIODS} periods")
    if length == "week":
        return [start + datetime.timedelta(days=7 * i) for i in range(count)]
    step = 1 if length == "month" else 3
    starts, year, month = [start], start.year, start.month
    for _ in range(count - 1):
        month += step
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        starts.append(datetime.date(year, month, 1))
    return starts


def generate(
    start: datetime.date, count: int, length: str = "month", kind: str = "pq"
) -> tuple[Keyring, Schedule, datetime.date]:
    """A new keyring of `count` periods and its public schedule; the third value is the end."""
    starts = period_starts(start, count + 1, length)
    held, periods = {}, []
    for first in starts[:-1]:
        identity = keys.generate(kind)
        held[first] = keys.identity_file_text(identity).strip().splitlines()[-1]
        periods.append(Period(first, identity.recipient().encode()))
    return Keyring(held), Schedule(tuple(periods), starts[-1]), starts[-1]


def retire(keyring: Keyring, firsts: list[datetime.date], on: datetime.date) -> Keyring:
    """The keyring without the identities of `firsts`, each recorded as destroyed `on`."""
    missing = [d for d in firsts if d not in keyring.held]
    if missing:
        raise KeyringError(f"no key is held for the period starting {missing[0].isoformat()}")
    held = {d: t for d, t in keyring.held.items() if d not in firsts}
    return Keyring(held, {**keyring.retired, **{d: on for d in firsts}})


def _day(text: str, n: int) -> datetime.date:
    try:
        if len(text.strip()) != 10:
            raise ValueError
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise KeyringError(f"line {n}: {text!r} is not a day (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class RetiredPeriods:
    """Stands among the identities opened from a keyring: it opens nothing (its `unwrap` always
    declines), but for a report that no identity opened it tells whether the report's period was
    retired, and when (`explain`)."""

    keyring: Keyring

    def unwrap(self, stanzas: object) -> None:
        return None

    def explain(self, day: str) -> str | None:
        try:
            found = self.keyring.explain(datetime.date.fromisoformat(day))
        except ValueError:
            return None
        return str(found) if found else None


def explain_unopened(identities: list, day: str) -> str | None:
    """Why no identity opened a report of `day`, where a keyring knows (a retired period)."""
    for identity in identities:
        if isinstance(identity, RetiredPeriods):
            reason = identity.explain(day)
            if reason:
                return reason
    return None


def load_identities(path: str, passphrase_provider: keys.PassphraseProvider) -> list:
    """The identities of an identity file, plain or protected, an ordinary one or a keyring (then
    with its RetiredPeriods last): what `open`, `find` and `case import` use."""
    text = read_text(path, passphrase_provider)
    if not is_keyring(text):
        return keys.load_identities(text.encode("utf-8"), passphrase_provider, path)
    try:
        ring = parse(text)
    except KeyringError as exc:
        raise KeyringError(f"{path}: {exc}") from None
    return [*ring.identities(), RetiredPeriods(ring)]


def read_text(path: str, passphrase_provider: keys.PassphraseProvider) -> str:
    data = keys.unprotect(keys.read_identity_file(path), passphrase_provider, path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyringError(f"{path} is not a text identity file") from None


def retire_before(keyring: Keyring, day: datetime.date, on: datetime.date) -> tuple[Keyring, list[datetime.date]]:
    """Retires every held period that ends on or before `day` (all its reports are older than
    `day`); the last held period is never retired, whatever `day`, since its end is not known
    from the keyring alone. Returns the new keyring and the first days retired."""
    firsts = sorted(keyring.held)
    due = [first for first, following in zip(firsts, firsts[1:], strict=False) if following <= day]
    return (retire(keyring, due, on) if due else keyring), due
