"""`meldpunt extension`: the browser extension in extension/, made the hotline's own copy.

The copy carries the hotline's name in every language, its onion address, its public HTTPS
address and its default language; it is written as an unpacked folder (to load and try) and as a
zip with manifest.json at its root (what the browsers' stores take). The source tree is read
from the checkout, or from where pip installed it (share/meldpunt/extension).
"""

from __future__ import annotations

import base64
import json
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from crypto.errors import Error
from onion_service import languages
from onion_service.config import Config
from onion_service.tor import keys

# What the browsers load; the tests, the SVG source and the npm set-up stay behind.
SHIPPED = ("manifest.json", "*.js", "*.html", "*.css", "_locales/*/messages.json", "icons/icon-*.png")
# Stores cut longer extension names (Firefox's add-on site takes 50 characters).
MAX_NAME_CHARS = 45
_ONION = re.compile(r"[a-z2-7]{56}\.onion")


class ExtensionError(Error):
    """The extension cannot be built: no address to report to, or no source tree."""


@dataclass(frozen=True)
class Built:
    folder: Path
    zip: Path


def build(config: Config, out_dir: Path, *, onion_address: str | None = None) -> Built:
    onion = check_onion(onion_address) if onion_address else service_onion(config.data_dir)
    https = f"https://{config.web.public_hosts[0]}" if config.web.public_hosts else ""
    if not onion and not https:
        raise ExtensionError(
            "no address to report to: give --onion-address, or list web.public_hosts "
            "in the configuration (the data directory holds no onion key)"
        )
    folder, archive = out_dir / "extension", out_dir / "meldpunt-extension.zip"
    for path in (folder, archive):
        if path.exists():
            raise ExtensionError(f"{path} exists already; remove it or choose another --out")
    files = _source_files()
    offered = config.web.languages or (config.default_language,)
    files["hotline.js"] = _hotline_module(
        onion and f"http://{onion}", https, config.default_language, [[tag, languages.endonym(tag)] for tag in offered]
    )
    # Every language the extension has messages for (its _locales, like the server's catalogues).
    for name in [n for n in files if n.startswith("_locales/")]:
        lang = name.split("/")[1]
        files[name] = _messages(files[name], config.hotline.name.get(lang))
    manifest = json.loads(files["manifest.json"])
    # The Firefox add-on id must be unique to this hotline and stable between its versions.
    manifest["browser_specific_settings"]["gecko"]["id"] = f"report@{config.web.public_hosts[0] if https else onion}"
    files["manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(files.items()):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    with zipfile.ZipFile(archive, "x", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            # A fixed date: the same configuration gives the same zip, byte for byte.
            zf.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return Built(folder, archive)


def check_onion(address: str) -> str:
    """`address` as a host name (xyz….onion) if it is a valid version-3 onion address."""
    host = address.strip().lower().removeprefix("http://").removeprefix("https://").rstrip("/")
    if not _ONION.fullmatch(host):
        raise ExtensionError("--onion-address must be a version-3 onion address (56 characters, then .onion)")
    public = base64.b32decode(host[:56].upper())[:32]
    if keys.onion_service_id(public) != host[:56]:  # the checksum and the version byte
        raise ExtensionError("--onion-address has a wrong checksum: a letter was mistyped")
    return host


def service_onion(data_dir: Path) -> str:
    """The service's address as serve writes it to `data_dir`, or that of a key still in
    `data_dir` from before the key moved to the HiddenServiceDir; "" when there is neither."""
    try:
        return check_onion((data_dir / keys.ADDRESS_FILE).read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    try:
        return keys.load(data_dir / keys.KEY_FILE).hostname
    except FileNotFoundError:
        return ""
    except PermissionError:
        raise ExtensionError(
            f"cannot read {data_dir / keys.KEY_FILE}: run as the service's user, or give --onion-address"
        ) from None


def source_dir() -> Path:
    for candidate in (
        Path(__file__).resolve().parents[1] / "extension",
        Path(sys.prefix) / "share" / "meldpunt" / "extension",
    ):
        if (candidate / "manifest.json").is_file():
            return candidate
    raise ExtensionError("the extension's source (extension/manifest.json) is not installed")


def _source_files() -> dict[str, bytes]:
    root = source_dir()
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for pattern in SHIPPED
        for path in sorted(root.glob(pattern))
        if path.is_file()
    }


def _hotline_module(onion: str, https: str, language: str, offered: list[list[str]]) -> bytes:
    values = json.dumps(
        {"onion": onion, "https": https, "defaultLanguage": language, "languages": offered},
        indent=2,
        ensure_ascii=False,
    )
    return (
        f"// Written by `meldpunt extension` from the hotline's configuration.\n"
        f"export const HOTLINE = Object.freeze({values});\n"
    ).encode()


def _messages(source: bytes, name: str) -> bytes:
    if len(name) > MAX_NAME_CHARS:
        name = name[: MAX_NAME_CHARS - 1].rstrip() + "…"
    messages = json.loads(source)
    for entry in messages.values():
        if "hotline" in entry.get("placeholders", {}):
            # In a message "$" starts a placeholder; "$$" is the character itself.
            entry["placeholders"]["hotline"]["content"] = name.replace("$", "$$")
    return (json.dumps(messages, indent=2, ensure_ascii=False) + "\n").encode()
