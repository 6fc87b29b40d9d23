"""The harness that tests and benches share: one configuration writer and one launcher for
`meldpunt serve --local-only` (tests/server.py's, re-exported here). The staff key they seal to is
tests/kit.py's `Staff`, handed to tests as the session fixture `staff` (tests/conftest.py).

tests/ is a package: tests and benches (run from the repository root as `python -m bench.NAME`)
import this module as `tests.harness`.
Everything here talks to 127.0.0.1 only, and every wait is bounded in time.
"""

from __future__ import annotations

import json
from pathlib import Path

# Re-exported: the staff key and the launcher go with the harness.
from tests.kit import ROOT, Staff, new_staff  # noqa: F401
from tests.server import SERVE, Server, descendants, free_port, live_processes, proxy_line  # noqa: F401

# -- the configuration -----------------------------------------------------------------------------


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def config_dict(
    data_dir: Path,
    recipient: str,
    *,
    database_url: str = "",
    default_language: str = "nl",
    reports_per_minute: int = 10_000,
    form_min_seconds: int = 2,
    form_max_hours: int = 6,
    workers: int = 2,
    threads: int = 4,
    bind: str | None = None,
    https_bind: str | None = None,
    public_hosts: list[str] | None = None,
    hotline_name: str | dict = "Testmeldpunt",
    tor: dict | None = None,
    limits: dict | None = None,
    status_public_key: str | None = None,
) -> dict:
    """A configuration as `meldpunt serve` reads it from its TOML file. The defaults leave the
    budget far above what a test sends; the hotline's texts exist in every language."""
    raw: dict = {
        "recipients": [recipient],
        "data_dir": str(data_dir),
        "database_url": database_url,
        "default_language": default_language,
        "hotline": {
            "name": hotline_name,
            "contact": "Contact: test@example.org",
            "emergency": [
                {"label": {"nl": "Politie", "fr": "Police", "de": "Polizei", "en": "Police"}, "number": "101"}
            ],
        },
        "limits": {
            "reports_per_minute": reports_per_minute,
            "form_min_seconds": form_min_seconds,
            "form_max_hours": form_max_hours,
        },
        "web": {"workers": workers, "threads": threads},
    }
    if bind is not None:
        raw["web"]["bind"] = bind
    if public_hosts is not None:
        raw["web"]["public_hosts"] = list(public_hosts)
    if https_bind is not None:
        raw["web"]["https_bind"] = https_bind
    if tor is not None:
        raw["tor"] = dict(tor)
    if status_public_key is not None:
        raw["status"] = {"public_key": status_public_key}
    if limits is not None:
        raw["limits"].update(limits)  # the per-circuit limits and the disk reserve
    return raw


def config_text(raw: dict) -> str:
    """`raw` (as config_dict makes it) as TOML: keys first, then tables, then arrays of tables."""
    lines, tables = [], []
    for key, value in raw.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for name, table in tables:
        arrays = {k: v for k, v in table.items() if isinstance(v, list) and v and isinstance(v[0], dict)}
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if k not in arrays]
        for key, items in arrays.items():
            for item in items:
                lines.append(f"[[{name}.{key}]]")
                lines += [f"{k} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def write_config(path: Path, data_dir: Path, recipient: str, **options) -> Path:
    """The TOML file a server started as its own process reads (options: see config_dict)."""
    path.write_text(config_text(config_dict(data_dir, recipient, **options)))
    return path


def make_config(data_dir: Path, recipient: str, **options):
    """The same configuration parsed in this process, as onion_service.config.Config."""
    import tomllib

    from onion_service.config import parse_config

    raw = tomllib.loads(config_text(config_dict(data_dir, recipient, **options)))
    return parse_config(raw, base_dir=data_dir)


def files_containing(roots: list[Path], needles: list[bytes]) -> list[tuple[str, str]]:
    """(file, needle) for every needle found in a file below the roots: the no-trace scans."""
    hits = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                hits += [(str(path), n.decode()) for n in needles if n in data]
    return hits
