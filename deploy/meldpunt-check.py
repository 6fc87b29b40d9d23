"""Checks a deployed meldpunt's configuration against the sandbox meldpunt.service runs in.

Installed as /opt/meldpunt/libexec/meldpunt-check and run by meldpunt-check.service before every
start, and by deploy/install.sh before it enables the service. It writes nothing, prints one line
per problem (keys and paths, never values) and exits 1 if meldpunt must not start.

Why a separate check: meldpunt.service runs with no network (PrivateNetwork=yes), a read-only
file system except its data and socket directories, and no output at all. A configuration that
is valid TOML can still be useless there: a TCP bind that tor cannot reach, a data directory the
sandbox makes read-only, the example's placeholder recipient. This says so, in the journal,
instead of a service that starts and silently serves nothing.
"""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import parse_qs, urlsplit

from crypto.errors import Error
from onion_service.config import load_config

# The paths the systemd units and tmpfiles.d entry of deploy/ give the service.
DATA_DIR = "/var/lib/meldpunt"  # StateDirectory=meldpunt
SOCKET_DIR = "/run/meldpunt"  # tmpfiles.d: 0750 meldpunt:debian-tor, ReadWritePaths=


def problems(config) -> tuple[list[str], list[str]]:
    """(errors, warnings) for a loaded configuration."""
    errors: list[str] = []
    warnings: list[str] = []
    bind = config.web.bind
    if not bind.startswith(f"unix:{SOCKET_DIR}/"):
        errors.append(f"web.bind must be a unix socket in {SOCKET_DIR}/ (e.g. unix:{SOCKET_DIR}/web.sock): "
                      "the service has no network, so tor can reach it only through that socket")
    control = config.tor.control
    if not control.startswith("unix:"):
        errors.append("tor.control must be the system tor's control socket (unix:/run/tor/control): "
                      "the service has no network, so it cannot reach a TCP control port or launch a tor")
    if str(config.data_dir) != DATA_DIR:
        errors.append(f"data_dir must be {DATA_DIR}: it is the only directory the service may write "
                      "(StateDirectory=meldpunt)")
    url = config.database_url
    if url.startswith("postgresql") and not _unix_socket_database(url):
        errors.append("database_url: reach PostgreSQL through a unix socket "
                      "(postgresql+psycopg:///meldpunt?host=/run/postgresql): the service has no network; "
                      "a database on another server is reached through meldpunt-db-proxy.socket "
                      "(deploy/onionbalance/README.md)")
    if control.startswith("unix:"):
        warnings += _control_socket(control[len("unix:"):])
    return errors, warnings


def _unix_socket_database(url: str) -> bool:
    # No host at all is libpq's default, the unix socket directory (/run/postgresql on Debian).
    parts = urlsplit(url)
    hosts = parse_qs(parts.query).get("host", [])
    return not parts.hostname and all(h.startswith("/") for h in hosts)


def _control_socket(path: str) -> list[str]:
    # A refused permission is a deployment error that no retry fixes; tor being down or still
    # starting is not (systemd restarts meldpunt until tor answers), so that is only a warning.
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(2)
        probe.connect(path)
    except PermissionError:
        raise SystemExit(f"meldpunt-check: no permission to open tor's control socket {path}: "
                         "the service needs group debian-tor and tor's ControlSocketsGroupWritable 1") from None
    except OSError as exc:
        return [f"tor's control socket {path} is not reachable now ({exc.strerror}); "
                "meldpunt starts once tor is running (systemd retries every few seconds)"]
    finally:
        probe.close()
    cookie = os.path.join(os.path.dirname(path), "control.authcookie")
    if os.path.exists(cookie) and not os.access(cookie, os.R_OK):
        raise SystemExit(f"meldpunt-check: cannot read tor's authentication cookie {cookie}: "
                         "tor needs CookieAuthFileGroupReadable 1 and the service group debian-tor")
    return []


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: meldpunt-check /etc/meldpunt/meldpunt.toml", file=sys.stderr)
        return 2
    try:
        config = load_config(argv[1])
    except Error as exc:
        print(f"meldpunt-check: {exc}", file=sys.stderr)
        return 1
    errors, warnings = problems(config)
    for line in warnings:
        print(f"meldpunt-check: warning: {line}", file=sys.stderr)
    for line in errors:
        print(f"meldpunt-check: {line}", file=sys.stderr)
    if errors:
        return 1
    kind = "post-quantum" if all(r.startswith("age1pq1") for r in config.recipients) else "classic"
    print(f"meldpunt-check: configuration OK ({len(config.recipients)} {kind} staff recipient(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
