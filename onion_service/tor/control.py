"""Reaching a tor's control port or socket, authenticating, and checking that it is new enough.

Only loopback and unix sockets are accepted: the server never opens an outbound connection.
"""

from __future__ import annotations

import ipaddress
import os

import stem
import stem.connection
import stem.control
import stem.version

from crypto.files import read_bounded
from onion_service.tor.errors import TorError, TorVersionError

# Onion-service proof-of-work (ADD_ONION PoWDefensesEnabled) arrived in tor 0.4.9.2-alpha.
MINIMUM_VERSION = stem.version.Version("0.4.9.2")
PASSWORD_MAX_BYTES = 1024  # a control password file is one short line; refuse to slurp anything else


def parse_control(spec: str) -> tuple[str, str | int]:
    """`unix:/path` -> ("unix", path); `127.0.0.1:9051` -> (host, port). TorError otherwise."""
    if spec.startswith("unix:"):
        path = spec[len("unix:") :]
        if not os.path.isabs(path):
            raise TorError(f"tor control socket must be an absolute path: {spec!r}")
        return "unix", path
    host, sep, port = spec.rpartition(":")
    host = host.strip("[]")
    try:
        if not sep or not ipaddress.ip_address(host).is_loopback:
            raise ValueError
        number = int(port)
        if not 0 < number < 65536:
            raise ValueError
    except ValueError:
        raise TorError(f"tor control must be unix:/path or a loopback address:port, not {spec!r}") from None
    return host, number


def connect(spec: str, password_file: str | None = None) -> stem.control.Controller:
    """An authenticated controller for `spec`; closes it again on any failure."""
    kind, where = parse_control(spec)
    try:
        if kind == "unix":
            controller = stem.control.Controller.from_socket_file(where)
        else:
            controller = stem.control.Controller.from_port(kind, where)
    except stem.SocketError as exc:
        what = "socket" if kind == "unix" else "port"
        raise TorError(f"cannot reach tor's control {what} at {spec}: {exc}") from None
    try:
        password = _read_password(password_file) if password_file else None
        controller.authenticate(password=password)
        check_version(controller)
    except stem.connection.IncorrectPassword:
        controller.close()
        raise TorError(f"tor refused the control password from {password_file}") from None
    except stem.connection.AuthenticationFailure as exc:
        controller.close()
        raise TorError(
            f"cannot authenticate to tor at {spec} ({type(exc).__name__}); "
            "check cookie file permissions (group debian-tor) or set control_password_file"
        ) from None
    except BaseException:
        controller.close()
        raise
    return controller


def check_version(controller: stem.control.Controller) -> stem.version.Version:
    version = controller.get_version()
    if version < MINIMUM_VERSION:
        raise TorVersionError(
            f"tor {version} is too old: meldpunt needs tor {MINIMUM_VERSION} or later "
            "for onion-service proof-of-work defences"
        )
    return version


def _read_password(path: str) -> str:
    data = read_bounded(path, PASSWORD_MAX_BYTES, TorError, "control_password_file")
    try:
        return data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise TorError(f"control_password_file {path} is not UTF-8 text") from None
