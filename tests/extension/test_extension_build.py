"""`meldpunt extension`, web.public_hosts, and the extension's tree as the stores see it."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from onion_service.config import ConfigError, load_config, parse_config
from onion_service.extension import ExtensionError, build, check_onion
from onion_service.tor import keys
from tests.clirun import meldpunt as run_meldpunt
from tests.extension.extkit import NAMES, PUBLIC_HOST, write_config
from tests.kit import ROOT

SOURCE = ROOT / "extension"
EXAMPLE = ROOT / "deploy" / "meldpunt.toml.example"
LANGS = ("nl", "fr", "de", "en")


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- web.public_hosts -----------------------------------------------------------------------------


def config_with_hosts(hosts, tmp_path):
    from tests.kit import new_staff

    raw = {
        "recipients": [new_staff().recipient],
        "data_dir": str(tmp_path),
        "hotline": {"name": "H"},
        "web": {"public_hosts": hosts},
    }
    return parse_config(raw, base_dir=tmp_path)


def test_public_hosts_default_empty_and_kept_in_order(tmp_path):
    from tests.kit import new_staff

    raw = {"recipients": [new_staff().recipient], "data_dir": str(tmp_path), "hotline": {"name": "H"}}
    assert parse_config(raw, base_dir=tmp_path).web.public_hosts == ()
    hosts = ["report.example.org", "www.report-site.example", "xn--mldpunt-fxa.example"]
    assert config_with_hosts(hosts, tmp_path).web.public_hosts == tuple(hosts)


@pytest.mark.parametrize(
    "bad",
    [
        "https://report.example.org",
        "report.example.org:443",
        "report.example.org/",
        "Report.example.org",
        "report.example.org.",
        "localhost",
        "127.0.0.1",
        "[::1]",
        "-x.example.org",
        "x-.example.org",
        "a..example.org",
        "exa mple.org",
        "x" * 64 + ".example",
        ("a." * 126) + "org",
        "q" * 56 + ".onion",
        "report.example.123",
        "",
        7,
    ],
)
def test_public_hosts_are_refused_unless_plain_dns_names(bad, tmp_path):
    with pytest.raises(ConfigError, match=r"web\.public_hosts\[1\]"):
        config_with_hosts(["fine.example.org", bad], tmp_path)


def test_public_hosts_refuses_duplicates_many_and_a_string(tmp_path):
    with pytest.raises(ConfigError, match="listed twice"):
        config_with_hosts(["a.example", "a.example"], tmp_path)
    with pytest.raises(ConfigError, match="at most 16"):
        config_with_hosts([f"h{i}.example" for i in range(17)], tmp_path)
    with pytest.raises(ConfigError, match="public_hosts must be a list"):
        config_with_hosts("a.example", tmp_path)


def test_the_example_documents_public_hosts():
    assert "\npublic_hosts = []" in EXAMPLE.read_text()


# -- the built copy -------------------------------------------------------------------------------


def test_the_copy_carries_the_hotline_and_nothing_of_the_example(built, hotline):
    files = tree(built.folder)
    assert json.loads(files["manifest.json"])["browser_specific_settings"]["gecko"]["id"] == f"report@{PUBLIC_HOST}"
    module = files["hotline.js"].decode()
    assert f'"onion": "http://{hotline.onion}"' in module and f'"https": "{hotline.https}"' in module
    assert '"defaultLanguage": "fr"' in module
    # The form's languages, as the server offers them, each named in itself (the options page lists them).
    assert '"fr",\n      "Français"' in module and '"ar",\n      "العربية"' in module
    for lang in LANGS:
        messages = json.loads(files[f"_locales/{lang}/messages.json"])
        named = [m for m in messages.values() if "hotline" in m.get("placeholders", {})]
        assert {"extensionName", "menuReport"} <= {k for k, m in messages.items() if m in named}
        assert {m["placeholders"]["hotline"]["content"] for m in named} == {NAMES[lang]}
    # Nothing of the example configuration, nor the source tree's stand-ins, is in the copy.
    example = load_config_from_example()
    everything = b"\n".join(files.values())
    for text in [example.hotline.name.get(lang) for lang in LANGS] + ["stopchildporno", "Child Focus"]:
        assert text.encode() not in everything, text
    for stand_in in [b"report@meldpunt.invalid", b'"onion": ""', b'"https": ""']:
        assert stand_in not in everything, stand_in


def load_config_from_example():
    import tomllib

    from tests.kit import new_staff

    doc = tomllib.loads(EXAMPLE.read_text())
    doc["recipients"] = [new_staff().recipient]
    return parse_config(doc, base_dir=ROOT)


def test_the_zip_holds_the_folder_and_is_reproducible(built, hotline, tmp_path):
    with zipfile.ZipFile(built.zip) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == tree(built.folder)
        # Entries dated by the clock would make each build differ from the one a second before.
        dates = {info.date_time for info in zf.infolist()}
        assert len(dates) == 1 and dates.pop()[0] < time.gmtime().tm_year
    names = set(tree(built.folder))
    assert "manifest.json" in names and not any(n.startswith(("tests/", "node_modules/")) for n in names)
    assert not names & {"package.json", "package-lock.json", "icons/icon.svg"}
    again = build(load_config(hotline.config_path), tmp_path, onion_address=hotline.onion)
    assert again.zip.read_bytes() == built.zip.read_bytes()


def test_the_onion_address_comes_from_the_service_key(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    write_config(tmp_path / "m.toml", data, public_hosts=[])
    config = load_config(tmp_path / "m.toml")
    with pytest.raises(ExtensionError, match="no address to report to"):
        build(config, tmp_path / "none")
    key = keys.load_or_create(data)
    built = build(config, tmp_path / "out")
    assert f'"onion": "http://{key.hostname}"' in (built.folder / "hotline.js").read_text()
    assert '"https": ""' in (built.folder / "hotline.js").read_text()
    gecko = json.loads((built.folder / "manifest.json").read_text())["browser_specific_settings"]["gecko"]
    assert gecko["id"] == f"report@{key.hostname}"
    with pytest.raises(ExtensionError, match="exists already"):
        build(config, tmp_path / "out")


def test_onion_addresses_are_checked():
    host = keys.generate().hostname
    assert check_onion(f"http://{host.upper()}/") == host
    wrong = host[:10] + ("a" if host[10] != "a" else "b") + host[11:]
    with pytest.raises(ExtensionError, match="checksum"):
        check_onion(wrong)
    for bad in ["abcd.onion", host[:-6], host + ".example", "q" * 16 + ".onion"]:
        with pytest.raises(ExtensionError, match="version-3 onion address"):
            check_onion(bad)


def test_the_command(hotline, tmp_path):
    out = tmp_path / "out"
    result = run_meldpunt(
        "extension", "--config", str(hotline.config_path), "--out", str(out), "--onion-address", hotline.onion
    )
    assert result.returncode == 0, result.stderr
    assert (out / "extension" / "manifest.json").is_file() and (out / "meldpunt-extension.zip").is_file()
    bad = run_meldpunt(
        "extension", "--config", str(hotline.config_path), "--out", str(tmp_path / "b"), "--onion-address", "nope.onion"
    )
    assert bad.returncode == 1 and bad.stderr.decode().startswith("meldpunt: --onion-address must be")
    assert "Traceback" not in bad.stderr.decode()


def test_a_long_name_is_cut_for_the_stores(tmp_path):
    write_config(tmp_path / "m.toml", tmp_path, public_hosts=["r.example"], name="N" * 60)
    built = build(load_config(tmp_path / "m.toml"), tmp_path / "out")
    messages = json.loads((built.folder / "_locales/en/messages.json").read_text())
    assert messages["extensionName"]["placeholders"]["hotline"]["content"] == "N" * 44 + "…"


# -- the tree as the browsers and stores read it --------------------------------------------------


def test_manifest_asks_for_nothing_beyond_the_three_permissions():
    manifest = json.loads((SOURCE / "manifest.json").read_text())
    assert manifest["manifest_version"] == 3
    assert set(manifest["permissions"]) <= {"contextMenus", "activeTab", "storage"}
    for key in (
        "host_permissions",
        "optional_permissions",
        "optional_host_permissions",
        "content_scripts",
        "web_accessible_resources",
        "externally_connectable",
        "update_url",
    ):
        assert key not in manifest, key
    # The extension's pages: their own scripts only, and a form only to an onion or an https
    # address (prefill.js posts to the hotline). Written out because Firefox's default for
    # Manifest V3 upgrades insecure requests, which would send the post for an http://….onion
    # form to https:// instead, where an onion service has no certificate.
    assert manifest["content_security_policy"] == {
        "extension_pages": "script-src 'self'; object-src 'none'; base-uri 'none'; form-action http://*.onion https:"
    }
    background = manifest["background"]
    assert background["service_worker"] == background["scripts"][0] == "background.js"
    assert manifest["browser_specific_settings"]["gecko"]["id"]


def test_every_locale_has_the_same_keys_and_every_manifest_message_is_defined():
    from onion_service import languages

    # The extension speaks exactly the server's installed languages.
    installed = languages.installed()
    catalogs = {lang: json.loads((SOURCE / "_locales" / lang / "messages.json").read_text()) for lang in installed}
    assert sorted(p.name for p in (SOURCE / "_locales").iterdir()) == sorted(installed)
    assert all(set(c) == set(catalogs["en"]) for c in catalogs.values())
    for lang, catalog in catalogs.items():
        for key, entry in catalog.items():
            used = {n.lower() for n in re.findall(r"\$([A-Za-z_]+)\$", entry["message"])}
            assert used == set(entry.get("placeholders", {})), (lang, key)
    manifest_text = (SOURCE / "manifest.json").read_text()
    wanted = set(re.findall(r"__MSG_(\w+)__", manifest_text))
    assert wanted >= {"extensionName", "extensionDescription"}
    assert wanted <= set(catalogs["en"])
    # Every key the pages and scripts ask for exists.
    code = "".join(p.read_text() for p in SOURCE.glob("*.js")) + "".join(p.read_text() for p in SOURCE.glob("*.html"))
    asked = set(re.findall(r'data-i18n="(\w+)"', code)) | set(re.findall(r'getMessage\("(\w+)"', code))
    asked |= set(re.findall(r'"(refused\w+)"', code))
    assert asked and asked <= set(catalogs["en"]), asked - set(catalogs["en"])


def test_no_code_reaches_out():
    # No remote code and no requests: the scripts never fetch, and the pages load only their own files.
    for path in SOURCE.glob("*.js"):
        text = path.read_text()
        for word in (
            "fetch(",
            "XMLHttpRequest",
            "sendBeacon",
            "WebSocket",
            "EventSource",
            "eval(",
            "new Function",
            "import(",
            "innerHTML",
        ):
            assert word not in text, (path.name, word)
        assert not re.search(r"https?://\w", text), path.name  # no address to load anything from
    for path in SOURCE.glob("*.html"):
        assert not re.search(r'(?:src|href)="(?!\w[\w.-]*\.(?:js|css)")', path.read_text()), path.name


def test_icons_are_the_svg_drawn_at_the_stores_sizes(tmp_path):
    rsvg = shutil.which("rsvg-convert")
    assert rsvg, "rsvg-convert (librsvg2-bin) is installed by make test-deps"
    manifest = json.loads((SOURCE / "manifest.json").read_text())
    assert manifest["icons"] == {s: f"icons/icon-{s}.png" for s in ("16", "32", "48", "128")}
    for size in (16, 32, 48, 128):
        png = (SOURCE / "icons" / f"icon-{size}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (size, size)
        drawn = tmp_path / f"{size}.png"
        subprocess.run(
            [rsvg, "-w", str(size), "-h", str(size), str(SOURCE / "icons" / "icon.svg"), "-o", str(drawn)], check=True
        )
        assert drawn.read_bytes() == png, f"icon-{size}.png is not icon.svg any more: run make icons"


# -- node's test runner and the Firefox linter ---------------------------------------------------


def test_the_url_rules_pass_nodes_own_tests():
    result = subprocess.run(["node", "--test", "extension/"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"^# pass ([1-9]\d*)$", result.stdout, re.M) and "# fail 0" in result.stdout


def test_web_ext_lint_finds_no_error_in_the_zip(built, tmp_path):
    web_ext = SOURCE / "node_modules" / ".bin" / "web-ext"
    assert web_ext.exists(), "run make npm-deps"
    unpacked = tmp_path / "from-zip"
    with zipfile.ZipFile(built.zip) as zf:
        zf.extractall(unpacked)
    result = subprocess.run(
        [str(web_ext), "lint", "--source-dir", str(unpacked), "--output", "json", "--no-config-discovery"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    report = json.loads(result.stdout)
    assert report["summary"]["errors"] == 0, report["errors"]
    assert report["summary"]["warnings"] <= 2, report["warnings"]  # service_worker on Firefox, Android's version


def test_the_package_ships_every_language_of_the_extension():
    # pip keeps no folders from a data-files glob: a language added to extension/_locales must be
    # listed in pyproject.toml too, or a server installed by pip builds an extension without it.
    import tomllib

    with open(SOURCE.parent / "pyproject.toml", "rb") as fh:
        data_files = tomllib.load(fh)["tool"]["setuptools"]["data-files"]
    shipped = {key.rsplit("/", 1)[1] for key in data_files if key.startswith("share/meldpunt/extension/_locales/")}
    assert shipped == {p.name for p in (SOURCE / "_locales").iterdir()}
