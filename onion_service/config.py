"""The configuration: one TOML file, read once at start-up, validated here, frozen afterwards.

Nothing else in the server reads the file or the environment for settings: every part receives the
`Config` (or the piece of it that it needs) from the application factory or the CLI. Errors are
`ConfigError` with a message that names the key, never its value (values may be secrets or keys).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crypto.periods.schedule import Schedule
from onion_service import languages as installed_languages
from onion_service.config_values import (
    ConfigError,
    check_bind,
    parse_https_bind,
    parse_public_hosts,
    parse_recipients,
    parse_schedules,
    parse_status_key,
    parse_tor_control,
    same_socket,
)


@dataclass(frozen=True)
class Text:
    """Text the hotline writes itself: one string for every language, or one per language."""

    by_language: tuple[tuple[str, str], ...]
    fallback: str

    def get(self, language: str) -> str:
        return dict(self.by_language).get(language, self.fallback)


@dataclass(frozen=True)
class Emergency:
    label: Text
    number: str


@dataclass(frozen=True)
class Hotline:
    name: Text
    contact: Text
    emergency: tuple[Emergency, ...]
    # Where the quick-exit link leads: a neutral page outside this site. It is a plain link, so
    # nothing is loaded from there unless the reporter clicks it (and no Referer is sent).
    quick_exit_url: str


@dataclass(frozen=True)
class Limits:
    reports_per_minute: int  # per route (shared/route_budgets.py)
    form_min_seconds: int
    form_max_hours: int
    # Per Tor circuit (onion_service/shared/circuits.py); SECURITY.md says why these defaults.
    reports_per_circuit: int
    pages_per_circuit: int
    circuit_window_minutes: int
    # Free space the data directory's file system keeps; past it, reports are refused.
    min_free_mb: int
    # The status page's look-ups a minute, per route; its own budget and spent table, smaller than
    # the reports': a look-up flood never touches reports, and the table's memory follows it.
    lookups_per_minute: int = 600


@dataclass(frozen=True)
class Web:
    bind: str
    workers: int
    threads: int
    # DNS names the form is also published under over HTTPS (by a reverse proxy in front).
    public_hosts: tuple[str, ...]
    # The languages offered, in the language switcher's order: every installed one unless the
    # hotline lists a subset ([web] languages).
    languages: tuple[str, ...] = ()
    # The reverse proxy's own socket: public_hosts are answered there and only there, and no
    # PROXY line is expected on it (tor's socket, `bind`, keeps requiring one). None: no HTTPS route.
    https_bind: str | None = None


@dataclass(frozen=True)
class Tor:
    control: str
    control_password_file: str
    pow_queue_rate: int
    pow_queue_burst: int
    max_streams: int
    intro_dos_rate: int
    intro_dos_burst: int
    # Require tor's PROXY line (HiddenServiceExportCircuitID haproxy) on every connection.
    circuit_ids: bool


@dataclass(frozen=True)
class Status:
    # The public key (meldpunt-status1…) that must have signed every status file imported; none
    # means the status page says that statuses are not offered here.
    public_key: str | None = None


@dataclass(frozen=True)
class Config:
    recipients: tuple[str, ...]
    data_dir: Path
    database_url: str
    default_language: str
    hotline: Hotline
    limits: Limits
    web: Web
    tor: Tor
    status: Status = Status()
    # Keys by period (crypto/periods): each report sealed to every staff member's key for the period
    # holding its day; empty with long-term `recipients`.
    schedules: tuple[Schedule, ...] = ()
    schedule_warn_days: int = 14


def _languages(listed: list[object], installed: tuple[str, ...], default: str) -> tuple[str, ...]:
    """The languages offered: the listed ones in their order, or every installed one (the default
    first, then by tag). Each must be installed, and the default among them."""
    if not listed:
        return (default, *(tag for tag in installed if tag != default))
    if not all(isinstance(tag, str) and tag in installed for tag in listed):
        raise ConfigError(f"web.languages: each must be an installed language: {', '.join(installed)}")
    if len(set(listed)) != len(listed):
        raise ConfigError("web.languages names a language twice")
    if default not in listed:
        raise ConfigError("web.languages must include default_language")
    return tuple(str(tag) for tag in listed)


def load_config(path: str | Path) -> Config:
    """Reads and validates the TOML file at `path`; relative paths in it are relative to the file."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration {path} is not valid TOML: {exc}") from None
    return parse_config(raw, base_dir=path.resolve().parent)


def parse_config(raw: dict[str, Any], *, base_dir: Path) -> Config:
    """Validates an already parsed TOML document (tests build configurations this way)."""
    t = _Table(raw, "")
    schedule_paths = t.get("schedules", list, default=[])
    recipients = () if schedule_paths and "recipients" not in raw else parse_recipients(t.get("recipients", list))
    t.seen.add("recipients")
    if schedule_paths and recipients:
        raise ConfigError("give either recipients (long-term keys) or schedules (keys by period), not both")
    schedules = parse_schedules(schedule_paths, base_dir)
    schedule_warn_days = t.integer("schedule_warn_days", 14, low=0, high=366)
    data_dir = Path(t.get("data_dir", str, required=True))
    if not data_dir.is_absolute():
        data_dir = base_dir / data_dir
    database_url = t.get("database_url", str, default="") or f"sqlite:///{data_dir}/reports.sqlite3"
    if not database_url.startswith(("sqlite:///", "postgresql+psycopg://")):
        raise ConfigError("database_url: only sqlite:/// and postgresql+psycopg:// are supported")
    installed = installed_languages.installed()
    default_language = t.get("default_language", str, default="nl")
    if default_language not in installed:
        raise ConfigError(f"default_language must be an installed language: one of {', '.join(installed)}")

    h = t.table("hotline")
    emergency = []
    for i, item in enumerate(h.get("emergency", list, default=[])):
        e = _Table(item, f"hotline.emergency[{i}].")
        number = e.get("number", str, required=True).strip()
        if not number or len(number) > 32:
            raise ConfigError(f"hotline.emergency[{i}].number must be a short phone number")
        emergency.append(Emergency(label=e.text("label", required=True), number=number))
        e.done()
    quick_exit = h.get("quick_exit_url", str, default="https://www.wikipedia.org/")
    if not quick_exit.startswith("https://"):
        raise ConfigError("hotline.quick_exit_url must be an https:// address")
    hotline = Hotline(
        name=h.text("name", required=True),
        contact=h.text("contact", default=""),
        emergency=tuple(emergency),
        quick_exit_url=quick_exit,
    )
    h.done()

    lim = t.table("limits")
    limits = Limits(
        reports_per_minute=lim.integer("reports_per_minute", 4500, low=1, high=1_000_000),
        # 0 is allowed for benchmarks and tests that post at machine speed.
        form_min_seconds=lim.integer("form_min_seconds", 3, low=0, high=600),
        form_max_hours=lim.integer("form_max_hours", 6, low=1, high=72),
        reports_per_circuit=lim.integer("reports_per_circuit", 3, low=1, high=10_000),
        pages_per_circuit=lim.integer("pages_per_circuit", 60, low=5, high=100_000),
        circuit_window_minutes=lim.integer("circuit_window_minutes", 10, low=1, high=24 * 60),
        min_free_mb=lim.integer("min_free_mb", 512, low=0, high=10_000_000),
        lookups_per_minute=lim.integer("lookups_per_minute", 600, low=1, high=1_000_000),
    )
    lim.done()

    w = t.table("web")
    web = Web(
        bind=check_bind(w.get("bind", str, default="127.0.0.1:8080"), key="web.bind"),
        workers=w.integer("workers", 2, low=1, high=64),
        threads=w.integer("threads", 16, low=1, high=256),
        public_hosts=parse_public_hosts(w.get("public_hosts", list)),
        languages=_languages(w.get("languages", list, default=[]), installed, default_language),
        https_bind=parse_https_bind(w.get("https_bind", str, default="")),
    )
    if web.https_bind is not None and same_socket(web.https_bind, web.bind):
        raise ConfigError(
            "web.https_bind must be another socket than web.bind: tor's socket demands "
            "tor's PROXY line, the reverse proxy's must not"
        )
    w.done()
    from onion_service.shared.route_budgets import budgets_spending  # the spent tables are sized from these
    from onion_service.shared.token import spent_slots

    for key in ("reports_per_minute", "lookups_per_minute"):
        try:
            spent_slots(budgets_spending(web.https_bind) * getattr(limits, key), limits.form_max_hours * 3600)
        except ValueError as exc:
            raise ConfigError(f"limits.{key} x form_max_hours is too large: {exc}") from None

    tt = t.table("tor")
    tor = Tor(
        control=parse_tor_control(tt.get("control", str, default="unix:/run/tor/control")),
        control_password_file=tt.get("control_password_file", str, default=""),
        pow_queue_rate=tt.integer("pow_queue_rate", 25, low=1, high=1_000_000),
        pow_queue_burst=tt.integer("pow_queue_burst", 250, low=1, high=10_000_000),
        max_streams=tt.integer("max_streams", 32, low=0, high=65535),
        intro_dos_rate=tt.integer("intro_dos_rate", 25, low=1, high=0x7FFFFFFF),
        intro_dos_burst=tt.integer("intro_dos_burst", 200, low=1, high=0x7FFFFFFF),
        circuit_ids=tt.get("circuit_ids", bool, default=True),
    )
    if tor.intro_dos_burst < tor.intro_dos_rate:
        raise ConfigError("tor.intro_dos_burst must be at least tor.intro_dos_rate")
    if tor.pow_queue_burst < tor.pow_queue_rate:
        raise ConfigError("tor.pow_queue_burst must be at least tor.pow_queue_rate")
    tt.done()
    st = t.table("status")
    status = Status(public_key=parse_status_key(st.get("public_key", str, default="")))
    st.done()
    t.done()
    return Config(
        recipients=recipients,
        schedules=schedules,
        schedule_warn_days=schedule_warn_days,
        data_dir=data_dir,
        database_url=database_url,
        default_language=default_language,
        hotline=hotline,
        limits=limits,
        web=web,
        tor=tor,
        status=status,
    )


class _Table:
    """One TOML table being read: typed getters, and `done()` to refuse keys nobody read."""

    def __init__(self, raw: Any, prefix: str) -> None:
        if not isinstance(raw, dict):
            raise ConfigError(f"{prefix.rstrip('.') or 'configuration'} must be a table")
        self.raw, self.prefix = raw, prefix
        self.seen: set[str] = set()

    def get(self, key: str, kind: type, *, default: Any = None, required: bool = False) -> Any:
        self.seen.add(key)
        if key not in self.raw:
            if required or (default is None and kind is not list):
                raise ConfigError(f"{self.prefix}{key} is required")
            return [] if default is None else default
        value = self.raw[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"{self.prefix}{key} must be a {kind.__name__}")
        return value

    def integer(self, key: str, default: int, *, low: int, high: int) -> int:
        value = self.get(key, int, default=default)
        if not low <= value <= high:
            raise ConfigError(f"{self.prefix}{key} must be between {low} and {high}")
        return value

    def text(self, key: str, *, default: str | None = None, required: bool = False) -> Text:
        self.seen.add(key)
        value = self.raw.get(key, default)
        if value is None:
            raise ConfigError(f"{self.prefix}{key} is required")
        if isinstance(value, str):
            return Text(by_language=(), fallback=value)
        installed = installed_languages.installed()
        if isinstance(value, dict) and value and all(k in installed and isinstance(v, str) for k, v in value.items()):
            first = value.get("en") or next(iter(value.values()))
            return Text(by_language=tuple(sorted(value.items())), fallback=first)
        raise ConfigError(
            f"{self.prefix}{key} must be a string or a table of strings keyed by installed languages "
            f"({', '.join(installed)})"
        )

    def table(self, key: str) -> _Table:
        self.seen.add(key)
        return _Table(self.raw.get(key, {}), f"{self.prefix}{key}.")

    def done(self) -> None:
        unknown = sorted(set(self.raw) - self.seen)
        if unknown:
            raise ConfigError(f"unknown configuration key {self.prefix}{unknown[0]}")
