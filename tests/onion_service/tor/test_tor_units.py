"""The Tor side's pieces without a tor: the key file, the ADD_ONION command, control addresses,
the version check (stem mocked at its boundary)."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from unittest import mock

import pytest
import stem.control
import stem.version
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from onion_service.tor import control, keys, service_dir
from onion_service.tor.errors import OnionKeyError, TorError, TorVersionError
from onion_service.tor.publisher import OnionSettings, service_options, target_for_bind


def test_key_is_created_once_with_mode_0600_and_loaded_the_same(tmp_path):
    first = keys.load_or_create(tmp_path)
    path = tmp_path / keys.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes()[:32] == b"== ed25519v1-secret: type0 ==\0\0\0"
    again = keys.load_or_create(tmp_path)
    assert again.service_id == first.service_id and again.expanded == first.expanded
    assert first.hostname == first.service_id + ".onion" and len(first.service_id) == 56
    assert keys.generate().service_id != first.service_id


def test_key_readable_by_others_or_malformed_is_refused(tmp_path):
    keys.load_or_create(tmp_path)
    path = tmp_path / keys.KEY_FILE
    os.chmod(path, 0o644)
    with pytest.raises(OnionKeyError, match="chmod 600"):
        keys.load_or_create(tmp_path)
    os.chmod(path, 0o600)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(OnionKeyError, match="not an ED25519-V3 onion key"):
        keys.load(path)


def test_key_repr_shows_no_secret():
    key = keys.generate()
    assert base64.b64encode(key.expanded).decode() not in repr(key)
    assert key.service_id in repr(key)


# The third seed is fixed but arbitrary: the same in every process that collects the tests (pytest -n).
@pytest.mark.parametrize("seed", [bytes(32), bytes(range(32)), hashlib.sha256(b"an arbitrary seed").digest()])
def test_public_key_matches_ed25519_from_the_seed(seed):
    # The expanded key is what tor stores; its public key must be Ed25519's for the same seed.
    digest = bytearray(hashlib.sha512(seed).digest())
    digest[0] &= 248
    digest[31] &= 63
    digest[31] |= 64
    expected = (
        Ed25519PrivateKey.from_private_bytes(seed)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    assert keys.public_key(bytes(digest[:32])) == expected


def test_onion_address_decodes_to_key_checksum_and_version():
    # The all-zero seed's Ed25519 public key; tor's own ServiceID for real keys is compared in
    # every publication (Publisher refuses a mismatch) and so in every Tor test.
    public = bytes.fromhex("3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29")
    assert keys.public_key(bytes(_expanded(bytes(32))[:32])) == public
    address = keys.onion_service_id(public)
    raw = base64.b32decode(address.upper())
    assert len(address) == 56 and raw[:32] == public and raw[34] == 3
    assert raw[32:34] == hashlib.sha3_256(b".onion checksum" + public + b"\x03").digest()[:2]


def _expanded(seed: bytes) -> bytearray:
    digest = bytearray(hashlib.sha512(seed).digest())
    digest[0] &= 248
    digest[31] &= 63
    digest[31] |= 64
    return digest


def test_address_file_is_public_and_complete(tmp_path):
    key = keys.generate()
    path = keys.write_address(tmp_path, key)
    assert path.read_text() == key.hostname + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_service_maps_only_port_80_with_circuit_ids_intro_defence_pow_and_stream_limits():
    settings = OnionSettings(pow_queue_rate=7, pow_queue_burst=70, max_streams=5, intro_dos_rate=9, intro_dos_burst=90)
    options = service_options("/d", "127.0.0.1:8080", settings)
    assert options[0] == ("HiddenServiceDir", "/d")
    assert [v for k, v in options if k == "HiddenServicePort"] == ["80 127.0.0.1:8080"]
    for expected in [
        ("HiddenServiceExportCircuitID", "haproxy"),
        ("HiddenServicePoWDefensesEnabled", "1"),
        ("HiddenServicePoWQueueRate", "7"),
        ("HiddenServicePoWQueueBurst", "70"),
        ("HiddenServiceMaxStreams", "5"),
        ("HiddenServiceMaxStreamsCloseCircuit", "1"),
        ("HiddenServiceEnableIntroDoSDefense", "1"),
        ("HiddenServiceEnableIntroDoSRatePerSec", "9"),
        ("HiddenServiceEnableIntroDoSBurstPerSec", "90"),
    ]:
        assert expected in options
    without = service_options("/d", "unix:/a b/web.sock", OnionSettings(circuit_ids=False))
    assert ("HiddenServicePort", '80 unix:"/a b/web.sock"') in without
    assert "HiddenServiceExportCircuitID" not in dict(without)


def test_an_old_onion_key_moves_into_the_service_dir_with_the_same_address(tmp_path):
    old = keys.load_or_create(tmp_path)  # data_dir/onion.key, as meldpunt kept it before
    legacy = tmp_path / keys.KEY_FILE
    moved = service_dir.prepare(tmp_path / "hs", legacy)
    assert moved == old and not legacy.exists()
    secret = tmp_path / "hs" / service_dir.SECRET_FILE
    assert secret.read_bytes() == keys.HEADER + old.expanded  # tor's hs_ed25519_secret_key
    assert stat.S_IMODE((tmp_path / "hs").stat().st_mode) == 0o700
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    public = (tmp_path / "hs" / service_dir.PUBLIC_FILE).read_bytes()
    assert keys.onion_service_id(public[32:]) == old.service_id
    assert service_dir.prepare(tmp_path / "hs", legacy) == old  # and again: the same
    other = keys.load_or_create(tmp_path)  # a second, different key beside it is refused
    assert other != old
    with pytest.raises(OnionKeyError, match="different onion keys"):
        service_dir.prepare(tmp_path / "hs", legacy)


def test_a_new_service_dir_gets_a_new_key(tmp_path):
    key = service_dir.prepare(tmp_path / "hs", tmp_path / keys.KEY_FILE)
    assert keys.load(tmp_path / "hs" / service_dir.SECRET_FILE) == key


@pytest.mark.parametrize(
    "bind, target",
    [
        ("127.0.0.1:8080", "127.0.0.1:8080"),
        ("localhost:8080", "127.0.0.1:8080"),
        ("[::1]:8080", "[::1]:8080"),
        ("unix:/run/meldpunt/web.sock", "unix:/run/meldpunt/web.sock"),
    ],
)
def test_targets_are_loopback_or_unix(bind, target):
    assert target_for_bind(bind) == target


@pytest.mark.parametrize("bind", ["0.0.0.0:80", "10.0.0.1:8080", "example.org:80"])
def test_public_targets_are_refused(bind):
    with pytest.raises(TorError):
        target_for_bind(bind)


@pytest.mark.parametrize("spec", ["10.1.2.3:9051", "example.org:9051", "unix:relative", "127.0.0.1:0", "127.0.0.1"])
def test_control_must_be_loopback_or_an_absolute_unix_socket(spec):
    with pytest.raises(TorError):
        control.parse_control(spec)


def test_control_specs_parse():
    assert control.parse_control("unix:/run/tor/control") == ("unix", "/run/tor/control")
    assert control.parse_control("127.0.0.1:9051") == ("127.0.0.1", 9051)
    assert control.parse_control("[::1]:9051") == ("::1", 9051)


def test_old_tor_is_refused_naming_the_minimum():
    controller = mock.Mock(spec=stem.control.Controller)
    controller.get_version.return_value = stem.version.Version("0.4.8.13")
    with pytest.raises(TorVersionError, match=r"0\.4\.9\.2"):
        control.check_version(controller)
    controller.get_version.return_value = stem.version.Version("0.4.9.11")
    assert control.check_version(controller) == stem.version.Version("0.4.9.11")


def test_unreachable_control_socket_is_a_clear_error(tmp_path):
    with pytest.raises(TorError, match="cannot reach tor's control socket"):
        control.connect(f"unix:{tmp_path}/missing.sock")


def test_password_file_is_read_as_one_line(tmp_path):
    path = tmp_path / "pw"
    path.write_bytes(b"s3cret\n")
    assert control._read_password(str(path)) == "s3cret"
    path.write_bytes(b"x" * 5000)
    with pytest.raises(TorError, match="longer than"):
        control._read_password(str(path))
