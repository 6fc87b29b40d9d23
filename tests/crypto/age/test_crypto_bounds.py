"""The input bounds written beside their reasons in crypto/, and a few format details."""

from __future__ import annotations

import pytest

from crypto import age
from crypto.age import armor, bech32, errors, keys, stream, wire
from crypto.age.scrypt import MAX_WORK_FACTOR, ScryptIdentity, ScryptRecipient
from crypto.age.wire import Stanza, b64decode, b64encode

PQ = keys.generate("pq")
FILE_KEY = bytes(range(16))


def header_with(stanzas: list[Stanza]) -> bytes:
    return wire.encode_header(stanzas, FILE_KEY) + bytes(16) + bytes(16)


def test_stanza_count_is_bounded():
    grease = [Stanza("grease", ("x",), b"") for _ in range(wire.MAX_STANZAS)]
    wire.parse_header(header_with(grease))  # at the bound: parses
    with pytest.raises(errors.HeaderError, match="stanzas"):
        wire.parse_header(header_with(grease + [Stanza("grease", ("y",), b"")]))


def test_line_length_is_bounded():
    long_arg = "a" * (wire.MAX_LINE_BYTES + 1)
    with pytest.raises(errors.HeaderError, match="too long"):
        wire.parse_header(header_with([Stanza("grease", (long_arg,), b"")]))


def test_header_size_is_bounded():
    body = bytes(48 * (wire.MAX_HEADER_BYTES // 64 + 10))  # a body wrapped over many lines
    with pytest.raises(errors.HeaderError, match="too long"):
        wire.parse_header(header_with([Stanza("grease", (), body)]))


def test_a_header_without_end_is_truncated_not_unbounded():
    with pytest.raises(errors.HeaderError, match="truncated"):
        wire.parse_header(b"age-encryption.org/v1\n-> X25519 abc\n")


def test_scrypt_work_factor_bound():
    assert MAX_WORK_FACTOR == 22
    with pytest.raises(ValueError):
        ScryptRecipient("passphrase", MAX_WORK_FACTOR + 1)
    sealed = age.encrypt(b"x", [ScryptRecipient("passphrase", 12)])
    with pytest.raises(errors.HeaderError, match="work factor"):
        age.decrypt(sealed, [ScryptIdentity("passphrase", max_work_factor=11)])
    assert age.decrypt(sealed, [ScryptIdentity("passphrase")]) == b"x"


def test_passphrase_bounds():
    with pytest.raises(errors.PassphraseError):
        ScryptRecipient("")
    with pytest.raises(errors.PassphraseError):
        ScryptIdentity("x" * 2000)


def test_scrypt_must_be_alone():
    with pytest.raises(errors.RecipientError):
        age.encrypt(b"x", [ScryptRecipient("passphrase", 2), PQ.recipient()])


def test_identity_file_size_is_bounded(tmp_path):
    path = tmp_path / "huge"
    path.write_bytes(b"#" * (keys.MAX_IDENTITY_FILE_BYTES + 1))
    with pytest.raises(errors.IdentityError, match="too large"):
        keys.load_identity_file(path, lambda: "unused")


def test_protected_identity_file(tmp_path):
    path = tmp_path / "id.age"
    path.write_bytes(keys.protect(keys.identity_file_text(PQ), "long passphrase", work_factor=4))
    asked = []

    def provider():
        asked.append(1)
        return "long passphrase"

    [loaded] = keys.load_identity_file(path, provider)
    assert loaded.encode() == PQ.encode() and asked == [1]
    with pytest.raises(errors.PassphraseError):
        keys.load_identity_file(path, lambda: "wrong passphrase")
    plain = tmp_path / "id.txt"
    plain.write_text(keys.identity_file_text(PQ))
    assert keys.load_identity_file(plain, lambda: pytest.fail("asked for a passphrase"))[0].encode() == PQ.encode()


def test_base64_is_canonical_and_unpadded():
    assert b64decode(b64encode(b"\x01\x02")) == b"\x01\x02"
    for bad in ("AQI=", "AQJ", "A", "A Q", "AQ\n"):
        with pytest.raises(ValueError):
            b64decode(bad)


def test_bech32_round_trip_and_strictness():
    data = bytes(range(32))
    text = bech32.encode("age", data)
    assert bech32.decode(text) == ("age", data)
    assert bech32.decode(text.upper()) == ("age", data)
    for bad in (
        text[:-1] + ("q" if text[-1] != "q" else "p"),
        text[:5] + text[5:].upper(),
        "age1",
        "x" * (bech32.MAX_LENGTH + 1),
    ):
        with pytest.raises(bech32.Bech32Error):
            bech32.decode(bad)


def test_stanza_body_wrapping():
    for size in (0, 47, 48, 49, 96):
        stanza = Stanza("t", ("a",), bytes(size))
        encoded = stanza.encode()
        lines = encoded.split(b"\n")[1:-1]
        assert all(len(line) == 64 for line in lines[:-1]) and len(lines[-1]) < 64
        header, _ = wire.parse_header(header_with([stanza]))
        assert header.stanzas == (stanza,)


def test_armor_rejects_what_it_must():
    good = armor.encode(b"x" * 100)
    for bad in (
        good.replace(b"-----END", b"-----FIN"),
        b"junk" + good,
        good + b"junk",
        good.replace(b"\n", b"\n ", 1),
        good.replace(b"==", b""),
    ):
        with pytest.raises(errors.ArmorError):
            armor.decode(bad)


def test_empty_payload_is_one_final_chunk():
    sealed = age.encrypt(b"", [PQ.recipient()])
    _, offset = wire.parse_header(sealed)
    assert len(sealed) - offset == stream.NONCE_SIZE + stream.TAG_SIZE
    assert age.decrypt(sealed, [PQ]) == b""


def test_identity_file_encrypted_to_a_key_is_refused_without_asking(tmp_path):
    path = tmp_path / "id.age"
    path.write_bytes(age.encrypt(keys.identity_file_text(PQ).encode(), [keys.generate("pq").recipient()]))
    with pytest.raises(errors.IdentityError, match="not passphrase-encrypted"):
        keys.load_identity_file(path, lambda: pytest.fail("asked for a passphrase"))
