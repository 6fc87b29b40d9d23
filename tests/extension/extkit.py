"""The hotline the extension tests build their copy for: a configuration unlike the example."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kit import new_staff

# Names in four languages, none of them in the example configuration or in the source tree.
NAMES = {"nl": "Proefmeldlijn", "fr": "Ligne d'essai", "de": "Prüfstelle", "en": "Trial Line"}
PUBLIC_HOST = "report.trial-line.test"


@dataclass(frozen=True)
class Hotline:
    config_path: Path
    onion: str  # host name, xyz….onion
    https: str  # https://host


def write_config(path: Path, data_dir: Path, *, public_hosts: list[str], name: str | None = None) -> None:
    names = name or "{ " + ", ".join(f'{k} = "{v}"' for k, v in NAMES.items()) + " }"
    hosts = ", ".join(f'"{h}"' for h in public_hosts)
    path.write_text(
        f'recipients = ["{new_staff().recipient}"]\n'
        f'data_dir = "{data_dir}"\n'
        'default_language = "fr"\n'
        f"[hotline]\nname = {names}\n"
        "[limits]\nform_min_seconds = 0\n"
        f"[web]\nworkers = 1\nthreads = 4\npublic_hosts = [{hosts}]\n"
    )
