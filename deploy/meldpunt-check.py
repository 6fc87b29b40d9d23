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

import glob
import os
import sys
from urllib.parse import parse_qs, urlsplit

from crypto.errors import Error
from onion_service import key_schedule
from onion_service.config import load_config

# The paths the systemd units and tmpfiles.d entry of deploy/ give the service.
DATA_DIR = "/var/lib/meldpunt"  # StateDirectory=meldpunt
SOCKET_DIR = "/run/meldpunt"  # tmpfiles.d: 0750 meldpunt:debian-tor, ReadWritePaths=
HTTPS_SOCKET_DIR = "/run/meldpunt-https"  # install.sh --https-proxy: 0750 meldpunt:www-data
# What marks the example's placeholders (deploy/meldpunt.toml.example): none may reach reporters.
PLACEHOLDER = "replace-with-"
# The drop-ins (deploy/tor/meldpunt.conf): tor reads them through /etc/tor/torrc-meldpunt (the Debian
# package) or an %include line install.sh adds to /etc/tor/torrc.
TORRC_DIR = "/etc/tor/torrc.d"

# [tor] keys of meldpunt.toml and the torrc option that holds each when the system tor publishes
# the service (control = "torrc"): then tor reads the option, and meldpunt never sees the key.
TOR_OPTIONS = {
    "pow_queue_rate": "HiddenServicePoWQueueRate",
    "pow_queue_burst": "HiddenServicePoWQueueBurst",
    "max_streams": "HiddenServiceMaxStreams",
    "intro_dos_rate": "HiddenServiceEnableIntroDoSRatePerSec",
    "intro_dos_burst": "HiddenServiceEnableIntroDoSBurstPerSec",
}


def problems(config) -> tuple[list[str], list[str]]:
    """(errors, warnings) for a loaded configuration."""
    errors: list[str] = list(placeholders(config))
    warnings: list[str] = []
    bind = config.web.bind
    if not bind.startswith(f"unix:{SOCKET_DIR}/"):
        errors.append(
            f"web.bind must be a unix socket in {SOCKET_DIR}/ (e.g. unix:{SOCKET_DIR}/web.sock): "
            "the service has no network, so tor can reach it only through that socket"
        )
    errors += _https_problems(config, warnings)
    if config.tor.control != "torrc":
        errors.append(
            'tor.control must be "torrc": the system tor publishes the service from its own '
            "configuration (/etc/tor/torrc.d/meldpunt.conf); the service holds neither the onion "
            "key nor access to tor's control interface"
        )
    if not config.tor.circuit_ids:
        warnings.append(
            "tor.circuit_ids is off: the per-circuit limits cannot tell one Tor circuit "
            "from another, so one circuit can send reports up to the onion route's budget"
        )
    if str(config.data_dir) != DATA_DIR:
        errors.append(
            f"data_dir must be {DATA_DIR}: it is the only directory the service may write (StateDirectory=meldpunt)"
        )
    url = config.database_url
    if url.startswith("postgresql") and not _unix_socket_database(url):
        errors.append(
            "database_url: reach PostgreSQL through a unix socket "
            "(postgresql+psycopg:///meldpunt?host=/run/postgresql): the service has no network; "
            "a database on another server is reached through meldpunt-db-proxy.socket "
            "(deploy/onionbalance/README.md)"
        )
    errors += _credential_problems(url)
    if config.schedules:
        try:
            late = key_schedule.check_today(config.schedules, key_schedule.utc_today(), config.schedule_warn_days)
        except Error as exc:
            errors.append(f"schedules: {exc}")
        else:
            if late:
                warnings.append(f"schedules: {late}")
    if config.tor.control == "torrc":
        warnings += tor_sources(config)[1]
    if not os.path.exists(os.path.join(DATA_DIR, "onion-address")):
        warnings.append(
            f"{DATA_DIR}/onion-address is missing: meldpunt.service copies it from tor's "
            "hostname file as it starts (is tor running with the meldpunt drop-in?)"
        )
    return errors, warnings


def placeholders(config) -> list[str]:
    """The hotline's texts still holding the example's placeholders (recipients with one are not
    keys at all, and refused by load_config already)."""
    hotline = config.hotline
    texts = {"hotline.name": hotline.name, "hotline.contact": hotline.contact}
    for i, e in enumerate(hotline.emergency):
        texts[f"hotline.emergency[{i}].label"] = e.label
    found = [
        key
        for key, text in texts.items()
        if any(PLACEHOLDER in s.lower() for s in [text.fallback, *dict(text.by_language).values()])
    ]
    found += [
        f"hotline.emergency[{i}].number" for i, e in enumerate(hotline.emergency) if PLACEHOLDER in e.number.lower()
    ]
    return [f"{key} still holds the example's placeholder: put your hotline's own text there" for key in found]


def _torrc_services(torrc_dir: str) -> list[dict[str, tuple[str, str]]]:
    """The onion services of the drop-ins, as tor reads them (files in name order, each
    HiddenService* line belonging to the HiddenServiceDir above it): option -> (value, file)."""
    services: list[dict[str, tuple[str, str]]] = []
    for path in sorted(glob.glob(os.path.join(torrc_dir, "*.conf"))):
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                lines = fh.read().splitlines()
        except OSError:
            continue  # tor's own business; the sandbox may hide a file
        for line in lines:
            words = line.split(None, 1)
            if len(words) != 2 or words[0].startswith("#"):
                continue
            key, value = words[0].lower(), words[1].split("#", 1)[0].strip()
            if key == "hiddenservicedir":
                services.append({})
            if key.startswith("hiddenservice") and services:
                services[-1][key] = (value, path)
    return services


def tor_sources(config, torrc_dir: str = TORRC_DIR) -> tuple[list[str], list[str]]:
    """(notes, warnings): with control = "torrc", where each of tor's settings for this service
    really comes from, and which [tor] values of meldpunt.toml are not in force."""
    socket = config.web.bind.removeprefix("unix:")
    mine = [
        s for s in _torrc_services(torrc_dir) if any(socket in v for k, (v, _) in s.items() if k == "hiddenserviceport")
    ]
    if not mine:
        return [], [
            f"tor: no HiddenServiceDir in {torrc_dir}/*.conf sends port 80 to {config.web.bind}: "
            'with tor.control = "torrc", tor publishes the service from there (the meldpunt package '
            "or deploy/install.sh installs it)"
        ]
    service = mine[-1]
    notes: list[str] = []
    warnings: list[str] = []
    for key, option in TOR_OPTIONS.items():
        value, path = service.get(option.lower(), (None, None))
        ours = getattr(config.tor, key)
        if value is None:
            notes.append(f"tor: {option} is tor's default (not set in {torrc_dir}/)")
            continue
        notes.append(f"tor: {option} {value}, from {path}")
        if value != str(ours):
            warnings.append(
                f"tor.{key} = {ours} in the configuration is not in force: with tor.control = "
                f'"torrc" tor uses {option} {value} from {path} (change it there)'
            )
    exported = service.get("hiddenserviceexportcircuitid", ("", ""))[0]
    if config.tor.circuit_ids and exported != "haproxy":
        warnings.append(
            f"tor.circuit_ids is on but {torrc_dir}/ has no HiddenServiceExportCircuitID haproxy "
            "for this service: meldpunt refuses every connection without tor's PROXY line"
        )
    return notes, warnings


def _https_problems(config, warnings: list[str]) -> list[str]:
    """The HTTPS route has a socket of its own: tor's socket demands tor's PROXY line (nginx sends
    none) and answers for the onion address only, so public names served without it are dead."""
    web = config.web
    if web.public_hosts and web.https_bind is None:
        return [
            f"web.public_hosts is set but web.https_bind is not: set it to unix:{HTTPS_SOCKET_DIR}/https.sock "
            "(deploy/nginx/meldpunt.conf reaches meldpunt there; on tor's socket the public names get 421)"
        ]
    if web.https_bind is None:
        return []
    if not web.https_bind.startswith(f"unix:{HTTPS_SOCKET_DIR}/"):
        return [
            f"web.https_bind must be a unix socket in {HTTPS_SOCKET_DIR}/ "
            f"(e.g. unix:{HTTPS_SOCKET_DIR}/https.sock): the service has no network, and nginx may enter "
            "that directory only"
        ]
    if not web.public_hosts:
        warnings.append("web.https_bind is set but web.public_hosts is empty: every request on it gets 421")
    if not os.path.isdir(HTTPS_SOCKET_DIR):
        # gunicorn could not make its socket there, and the service would stop at once.
        return [
            f"{HTTPS_SOCKET_DIR} is missing: deploy/install.sh --https-proxy makes it "
            "(/etc/tmpfiles.d/meldpunt-https.conf)"
        ]
    return []


def _credential_problems(url: str) -> list[str]:
    """The configuration is public data (kept with the hotline's documentation, readable by the
    service's group): a database password belongs in the service's own 0700 data directory."""
    parts = urlsplit(url)
    if parts.password:
        return [
            f"database_url holds a password: put it in {DATA_DIR}/pgpass (mode 0600, owner meldpunt) and "
            f"name it with passfile={DATA_DIR}/pgpass (deploy/onionbalance/README.md)"
        ]
    passfiles = parse_qs(parts.query).get("passfile", [])
    outside = [p for p in passfiles if not p.startswith(DATA_DIR + "/")]
    if outside:
        return [
            f"database_url: passfile must be in {DATA_DIR}/ (mode 0600, owner meldpunt), not beside "
            "the configuration, which holds only public data"
        ]
    return []


def _unix_socket_database(url: str) -> bool:
    # No host at all is libpq's default, the unix socket directory (/run/postgresql on Debian).
    parts = urlsplit(url)
    hosts = parse_qs(parts.query).get("host", [])
    return not parts.hostname and all(h.startswith("/") for h in hosts)


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
    if config.tor.control == "torrc":
        for line in tor_sources(config)[0]:
            print(f"meldpunt-check: {line}")
    for line in warnings:
        print(f"meldpunt-check: warning: {line}", file=sys.stderr)
    for line in errors:
        print(f"meldpunt-check: {line}", file=sys.stderr)
    if errors:
        return 1
    if config.schedules:
        print(f"meldpunt-check: configuration OK ({len(config.schedules)} staff key schedule(s))")
        return 0
    kind = "post-quantum" if all(r.startswith("age1pq1") for r in config.recipients) else "classic"
    print(f"meldpunt-check: configuration OK ({len(config.recipients)} {kind} staff recipient(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
