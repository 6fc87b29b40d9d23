"""Checks of single configuration values (addresses to listen on, recipients, schedules, host
names, keys), each raising ConfigError that names the key; config.py reads the file and calls them."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

from crypto.errors import Error
from crypto.periods.schedule import Schedule


class ConfigError(Error):
    """The configuration file is missing, unreadable or invalid."""


LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")


def check_bind(bind: str, *, key: str = "bind") -> str:
    """`bind` if it is a loopback host:port or a unix socket; the server never listens elsewhere."""
    if bind.startswith("unix:"):
        if not bind[5:].startswith("/"):
            raise ConfigError(f"{key}: a unix socket needs an absolute path (unix:/run/…)")
        return bind
    host, sep, port = bind.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or host not in LOOPBACK_NAMES or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(
            f"{key} must be 127.0.0.1:PORT, [::1]:PORT, localhost:PORT or unix:/PATH; "
            "meldpunt never listens on a public address"
        )
    return bind


def parse_schedules(paths: list[Any], base_dir: Path) -> tuple[Schedule, ...]:
    from onion_service import key_schedule

    try:
        return key_schedule.load(paths, base_dir)
    except key_schedule.ScheduleConfigError as exc:
        raise ConfigError(f"schedules: {exc}") from None


def parse_https_bind(value: str) -> str | None:
    # Checked as bind is: the reverse proxy runs on this machine and reaches loopback or a socket.
    return check_bind(value, key="web.https_bind") if value else None


def same_socket(a: str, b: str) -> bool:
    """Whether two checked binds name one listening socket (localhost is 127.0.0.1 for gunicorn)."""

    def norm(bind: str) -> str:
        host, _, port = bind.rpartition(":")
        return bind if bind.startswith("unix:") else f"{'127.0.0.1' if host == 'localhost' else host}:{port}"

    return norm(a) == norm(b)


def parse_recipients(values: list[Any]) -> tuple[str, ...]:
    # Imported here so that reading the TOML does not pull the crypto stack into every caller.
    from crypto.age import encrypt
    from crypto.age.keys import parse_recipient

    if not values:
        raise ConfigError("recipients: at least one age recipient (age1pq1… or age1…) is required")
    out, parsed = [], []
    for i, value in enumerate(values):
        # Every entry must parse: a typo that silently dropped a staff key would leave that
        # person unable to read reports, which nobody would notice until it mattered.
        if not isinstance(value, str):
            raise ConfigError(f"recipients[{i}] must be a string")
        try:
            parsed.append(parse_recipient(value.strip()))
        except Error as exc:
            raise ConfigError(f"recipients[{i}] is not a valid age recipient: {exc}") from None
        out.append(value.strip())
    try:
        # A trial seal finds combinations the age layer refuses (post-quantum beside classic)
        # now, at start-up, rather than at the first report.
        encrypt(b"", parsed)
    except Error as exc:
        raise ConfigError(f"recipients: {exc}") from None
    return tuple(out)


# A DNS name as RFC 1035 writes it, in lower case: dotted labels of letters, digits and inner
# hyphens, the last one letters only (so no IP address), 253 characters in all.
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$)(?:{_LABEL}\.)+[a-z]{{2,63}}")
# A handful of names (the hotline's domain, its www. form, a campaign domain); more is a mistake.
MAX_PUBLIC_HOSTS = 16


def parse_public_hosts(values: list[Any]) -> tuple[str, ...]:
    if len(values) > MAX_PUBLIC_HOSTS:
        raise ConfigError(f"web.public_hosts: at most {MAX_PUBLIC_HOSTS} host names")
    for i, value in enumerate(values):
        # The onion address comes from the service's key; here only names DNS resolves.
        if not isinstance(value, str) or not _HOST_NAME.fullmatch(value) or value.endswith(".onion"):
            raise ConfigError(
                f"web.public_hosts[{i}] must be a DNS host name in lower case "
                "(report.example.org): no scheme, port, path or onion address"
            )
        if value in values[:i]:
            raise ConfigError(f"web.public_hosts[{i}] is listed twice")
    return tuple(values)


def parse_status_key(value: str) -> str | None:
    from crypto.status.keys import VerifyKey

    if not value:
        return None
    try:
        return VerifyKey.parse(value).encode()
    except Error as exc:
        raise ConfigError(f"status.public_key: {exc}") from None


def parse_tor_control(value: str) -> str:
    # "torrc": the system tor's own configuration publishes the service (deploy/tor/meldpunt.conf);
    # meldpunt then needs no control access at all.
    if value in ("launch", "torrc") or (value.startswith("unix:/")):
        return value
    host, sep, port = value.rpartition(":")
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not sep or not loopback or not port.isdigit():
        raise ConfigError("tor.control must be torrc, launch, unix:/PATH or a loopback HOST:PORT")
    return value
