"""The hotline the extension tests build their copy for: a configuration unlike the example."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests import harness
from tests.kit import new_staff

# Names in four languages, none of them in the example configuration or in the source tree.
NAMES = {"nl": "Proefmeldlijn", "fr": "Ligne d'essai", "de": "Prüfstelle", "en": "Trial Line"}
PUBLIC_HOST = "report.trial-line.test"


@dataclass(frozen=True)
class Hotline:
    config_path: Path
    onion: str  # host name, xyz….onion
    https: str  # https://host


def write_config(path: Path, data_dir: Path, *, public_hosts: list[str], name: str | None = None) -> None:
    harness.write_config(
        path,
        data_dir,
        new_staff().recipient,
        default_language="fr",
        form_min_seconds=0,
        workers=1,
        public_hosts=public_hosts,
        hotline_name=name or NAMES,
    )
