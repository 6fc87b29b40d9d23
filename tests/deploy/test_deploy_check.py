"""meldpunt-check's rules for the HTTPS route, on configurations parsed here (its run inside the
check unit's sandbox: tests/deploy/test_deploy_sandbox.py)."""

from __future__ import annotations

import importlib.util

import pytest

from tests.deploy.deploykit import DEPLOY
from tests.harness import make_config

PUBLIC = "report.example.org"


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("meldpunt_check", DEPLOY / "meldpunt-check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def deployed(tmp_path, staff, **web):
    return make_config(tmp_path, staff.recipient, bind="unix:/run/meldpunt/web.sock", tor={"control": "torrc"}, **web)


def test_public_hosts_without_the_proxys_socket_are_refused(check, tmp_path, staff):
    errors, _ = check.problems(deployed(tmp_path, staff, public_hosts=[PUBLIC]))
    assert [e for e in errors if e.startswith("web.public_hosts is set but web.https_bind is not")]


def test_the_proxys_socket_must_be_in_its_own_directory(check, tmp_path, staff):
    for bind in ("unix:/run/meldpunt/https.sock", "127.0.0.1:8443", "unix:/tmp/https.sock"):
        errors, _ = check.problems(deployed(tmp_path, staff, public_hosts=[PUBLIC], https_bind=bind))
        assert [e for e in errors if e.startswith("web.https_bind must be a unix socket in /run/meldpunt-https/")], bind


def test_the_proxys_socket_as_install_sh_sets_it_up(check, tmp_path, staff, monkeypatch):
    config = deployed(tmp_path, staff, public_hosts=[PUBLIC], https_bind="unix:/run/meldpunt-https/https.sock")
    # As after install.sh --https-proxy: the directory is there (os.path.isdir, as the check asks).
    monkeypatch.setattr(check.os.path, "isdir", lambda path: path == "/run/meldpunt-https")
    errors, _ = check.problems(config)
    assert not [e for e in errors if "https" in e], errors
    # Without the directory tmpfiles makes, gunicorn could not bind: the check says so first.
    monkeypatch.setattr(check.os.path, "isdir", lambda path: False)
    errors, _ = check.problems(config)
    assert [e for e in errors if "is missing" in e and "--https-proxy" in e]
    # No public names at all: every request there would get 421; a warning, not a refusal.
    monkeypatch.setattr(check.os.path, "isdir", lambda path: path == "/run/meldpunt-https")
    errors, warnings = check.problems(deployed(tmp_path, staff, https_bind="unix:/run/meldpunt-https/https.sock"))
    assert not [e for e in errors if "https" in e] and [w for w in warnings if "public_hosts is empty" in w]


def test_the_examples_placeholders_are_refused_and_nothing_of_another_hotline_ships(check, tmp_path, staff):
    import tomllib

    from onion_service.config import parse_config

    text = (DEPLOY / "meldpunt.toml.example").read_text()
    for other in ("Child Focus", "stopchildporno", "116 000"):
        assert other not in text, other
    doc = tomllib.loads(text)
    doc["recipients"] = [staff.recipient]
    errors, _ = check.problems(parse_config(doc, base_dir=tmp_path))
    refused = {e.split(" ", 1)[0] for e in errors if "placeholder" in e}
    assert refused == {
        "hotline.name",
        "hotline.contact",
        "hotline.emergency[0].label",
        "hotline.emergency[0].number",
        "hotline.emergency[1].label",
        "hotline.emergency[1].number",
    }
    # The hotline's own texts pass.
    doc["hotline"]["name"] = {"nl": "Meldpunt", "en": "Hotline"}
    doc["hotline"]["contact"] = "www.example-hotline.org"
    doc["hotline"]["emergency"] = [{"label": "Police", "number": "112"}]
    errors, _ = check.problems(parse_config(doc, base_dir=tmp_path))
    assert not [e for e in errors if "placeholder" in e]
