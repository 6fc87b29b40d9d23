"""onion_service/config.py: the TOML file, validated once, and the documented example."""

import tomllib
from pathlib import Path

import pytest

from onion_service.config import ConfigError, check_bind, load_config, parse_config
from tests.kit import ROOT, new_staff

EXAMPLE = ROOT / "deploy" / "meldpunt.toml.example"


@pytest.fixture(scope="module")
def recipients():
    return new_staff("pq").recipient, new_staff("x25519").recipient


def raw(recipient, **top):
    return {"recipients": [recipient], "data_dir": "/var/lib/meldpunt", "hotline": {"name": "H"}, **top}


def test_example_documents_every_key_and_loads(tmp_path, recipients):
    text = EXAMPLE.read_text()
    doc = tomllib.loads(text)
    doc["recipients"] = [recipients[0]]
    config = parse_config(doc, base_dir=tmp_path)
    assert config.default_language in ("nl", "fr", "de", "en")
    assert config.database_url.startswith("sqlite:///") and config.database_url.endswith("reports.sqlite3")
    # Every field of every section appears in the example with a comment.
    import dataclasses

    for section in ("hotline", "limits", "web", "tor"):
        for field in dataclasses.fields(getattr(config, section)):
            assert f"\n{field.name} =" in text or f"[[{section}.{field.name}]]" in text, field.name
    for field in ("recipients", "data_dir", "database_url", "default_language"):
        assert f"\n{field} =" in text


def test_defaults_and_relative_data_dir(tmp_path, recipients):
    path = tmp_path / "m.toml"
    path.write_text(f'recipients = ["{recipients[0]}"]\ndata_dir = "state"\n[hotline]\nname = "H"\n')
    config = load_config(path)
    assert config.data_dir == tmp_path / "state"
    assert config.database_url == f"sqlite:///{tmp_path}/state/reports.sqlite3"
    assert config.limits.reports_per_minute == 4500 and config.limits.form_min_seconds == 3
    assert config.limits.lookups_per_minute == 600
    assert (config.limits.reports_per_circuit, config.limits.circuit_window_minutes) == (3, 10)
    assert config.tor.circuit_ids is True
    assert (config.tor.pow_queue_rate, config.tor.pow_queue_burst) == (25, 250)
    assert (config.tor.intro_dos_rate, config.tor.intro_dos_burst) == (25, 200)
    # Measured with bench/system.py (bench/README.md): the budget of each route is above what the
    # introduction queue lets through at most (every circuit with its 3 reports), so that under a
    # flood of new circuits the queue, where proof-of-work ranks clients, binds before the
    # budget refuses reporters.
    lim, tor = config.limits, config.tor
    assert lim.reports_per_minute >= tor.pow_queue_rate * lim.reports_per_circuit * 60
    assert config.web.bind == "127.0.0.1:8080"
    assert config.web.https_bind is None  # no HTTPS route unless one is configured
    with pytest.raises(AttributeError):
        config.data_dir = Path("/")  # frozen


@pytest.mark.parametrize(
    "change, words",
    [
        ({"recipients": []}, "at least one"),
        ({"recipients": ["age1notakey"]}, "recipients[0]"),
        ({"recipients": ["AGE-SECRET-KEY-1XYZ"]}, "recipients[0]"),
        ({"default_language": "eo"}, "default_language"),
        ({"web": {"languages": ["nl", "eo"]}}, "web.languages"),
        ({"web": {"languages": ["fr", "en"]}}, "web.languages"),
        ({"database_url": "mysql://x"}, "database_url"),
        ({"surprise": 1}, "unknown configuration key surprise"),
        ({"limits": {"reports_per_minute": 0}}, "limits.reports_per_minute"),
        ({"limits": {"lookups_per_minute": 0}}, "limits.lookups_per_minute"),
        ({"limits": {"form_max_hours": True}}, "limits.form_max_hours"),
        ({"limits": {"typo": 1}}, "limits.typo"),
        ({"web": {"bind": "0.0.0.0:80"}}, "never listens on a public address"),
        ({"web": {"bind": "192.168.1.2:80"}}, "web.bind"),
        ({"web": {"bind": "unix:relative.sock"}}, "absolute"),
        ({"web": {"https_bind": "0.0.0.0:443"}}, "web.https_bind must be 127.0.0.1:PORT"),
        ({"web": {"https_bind": "unix:https.sock"}}, "web.https_bind: a unix socket needs an absolute path"),
        ({"web": {"https_bind": 443}}, "web.https_bind must be a str"),
        # One socket cannot both demand tor's PROXY line and take nginx's requests without one.
        ({"web": {"bind": "unix:/run/m/web.sock", "https_bind": "unix:/run/m/web.sock"}}, "another socket"),
        ({"web": {"bind": "localhost:8080", "https_bind": "127.0.0.1:8080"}}, "another socket"),
        ({"tor": {"control": "10.0.0.1:9051"}}, "tor.control"),
        ({"limits": {"reports_per_circuit": 0}}, "limits.reports_per_circuit"),
        ({"limits": {"pages_per_circuit": 2}}, "limits.pages_per_circuit"),
        ({"limits": {"circuit_window_minutes": 0}}, "limits.circuit_window_minutes"),
        ({"limits": {"min_free_mb": -1}}, "limits.min_free_mb"),
        ({"tor": {"circuit_ids": 1}}, "tor.circuit_ids must be a bool"),
        ({"tor": {"pow_queue_rate": 0}}, "tor.pow_queue_rate"),
        ({"tor": {"intro_dos_rate": 50, "intro_dos_burst": 10}}, "tor.intro_dos_burst"),
        ({"hotline": {}}, "hotline.name"),
        ({"hotline": {"name": {"eo": "x"}}}, "hotline.name"),
        ({"hotline": {"name": "H", "quick_exit_url": "http://x"}}, "quick_exit_url"),
        ({"hotline": {"name": "H", "emergency": [{"label": "Police"}]}}, "number"),
    ],
)
def test_invalid_configurations_fail_with_a_message_naming_the_key(recipients, change, words):
    with pytest.raises(ConfigError, match=__import__("re").escape(words)):
        parse_config(raw(recipients[0], **change), base_dir=Path("/"))


def test_post_quantum_and_classic_recipients_cannot_be_mixed(recipients):
    with pytest.raises(ConfigError, match="recipients"):
        parse_config(raw(recipients[0], recipients=list(recipients)), base_dir=Path("/"))


def test_error_messages_do_not_repeat_values(recipients):
    secret = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQSECRET"
    with pytest.raises(ConfigError) as info:
        parse_config(raw(recipients[0], recipients=[secret]), base_dir=Path("/"))
    assert "SECRET" not in str(info.value)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
    (tmp_path / "bad.toml").write_text("recipients = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")


def test_https_bind_is_read_like_bind(recipients):
    web = {"bind": "unix:/run/meldpunt/web.sock", "https_bind": "unix:/run/meldpunt-https/https.sock"}
    config = parse_config(raw(recipients[0], web=web), base_dir=Path("/"))
    assert (config.web.bind, config.web.https_bind) == (web["bind"], web["https_bind"])
    loopback = parse_config(raw(recipients[0], web={"https_bind": "[::1]:8443"}), base_dir=Path("/"))
    assert loopback.web.https_bind == "[::1]:8443"
    assert parse_config(raw(recipients[0], web={"https_bind": ""}), base_dir=Path("/")).web.https_bind is None


@pytest.mark.parametrize("bind", ["127.0.0.1:0", "[::1]:8080", "localhost:80", "unix:/run/meldpunt/web.sock"])
def test_loopback_binds(bind):
    assert check_bind(bind) == bind


@pytest.mark.parametrize("bind", ["0.0.0.0:80", ":80", "[::]:80", "example.org:80", "127.0.0.1", "127.0.0.1:99999"])
def test_public_binds_are_refused(bind):
    with pytest.raises(ConfigError):
        check_bind(bind)
