"""Properties of decryption over arbitrary and altered input (hypothesis)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto import age
from crypto.age import armor, errors, keys, stream, wire
from crypto.age.scrypt import ScryptIdentity, ScryptRecipient

PQ = keys.generate("pq")
X = keys.generate("x25519")
IDENTITIES = [PQ, X, ScryptIdentity("a passphrase", max_work_factor=10)]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SEALED = {
    "pq": age.encrypt(b"a report" * 40, [PQ.recipient()]),
    "x25519": age.encrypt(b"a report" * 40, [X.recipient()]),
    "scrypt": age.encrypt(b"a report" * 40, [ScryptRecipient("a passphrase", 4)]),
    "two chunks": age.encrypt(os.urandom(stream.CHUNK_SIZE + 100), [PQ.recipient()]),
}
SEALED["armored"] = armor.encode(SEALED["x25519"])


def decrypt_or_typed_error(data: bytes) -> bytes | errors.AgeError:
    try:
        return age.decrypt(data, IDENTITIES)
    except errors.AgeError as exc:  # anything else escapes and fails the test
        return exc


@SETTINGS
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_end_in_a_result_or_a_typed_error(data):
    decrypt_or_typed_error(data)


@SETTINGS
@given(st.sampled_from(sorted(set(SEALED) - {"armored"})), st.data())  # armor allows blank lines around it
def test_arbitrary_headers_lines_end_in_a_typed_error(name, data):
    # Splice random lines into a valid header: deeper than random bytes ever get.
    sealed = SEALED[name]
    lines = sealed.split(b"\n")
    at = data.draw(st.integers(0, min(len(lines) - 1, 8)))
    junk = data.draw(
        st.one_of(
            st.binary(max_size=80),
            st.text(alphabet="-> abcXYZ019+/=\r", max_size=80).map(str.encode),
        )
    )
    mutated = b"\n".join(lines[:at] + [junk] + lines[at:])
    result = decrypt_or_typed_error(mutated)
    if not isinstance(result, errors.AgeError):
        # Only an ignored, well-formed extra stanza could leave the file valid; the MAC forbids it.
        pytest.fail(f"altered header accepted: {junk!r}")


@SETTINGS
@given(st.sampled_from(sorted(SEALED)), st.data())
def test_flipping_any_byte_makes_it_fail(name, data):
    sealed = SEALED[name]
    index = data.draw(st.integers(0, len(sealed) - 1))
    bit = data.draw(st.integers(0, 7))
    mutated = bytearray(sealed)
    mutated[index] ^= 1 << bit
    result = decrypt_or_typed_error(bytes(mutated))
    assert isinstance(result, errors.AgeError), f"flipped bit {bit} of byte {index} went unnoticed"


@SETTINGS
@given(st.sampled_from(sorted(SEALED)), st.data())
def test_truncating_or_extending_makes_it_fail(name, data):
    sealed = SEALED[name]
    # Armor may end with or without its final newline: cut before it.
    cut = data.draw(st.integers(0, len(sealed.rstrip(b"\n")) - 1))
    assert isinstance(decrypt_or_typed_error(sealed[:cut]), errors.AgeError)
    if name != "armored":  # whitespace after armor is allowed by the spec
        extra = data.draw(st.binary(min_size=1, max_size=40))
        assert isinstance(decrypt_or_typed_error(sealed + extra), errors.AgeError)


SIZES = [
    0,
    1,
    2,
    stream.CHUNK_SIZE - 1,
    stream.CHUNK_SIZE,
    stream.CHUNK_SIZE + 1,
    3 * stream.CHUNK_SIZE,
    3 * stream.CHUNK_SIZE + 17,
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", ["pq", "x25519", "scrypt"])
@pytest.mark.parametrize("armored", [False, True])
def test_round_trip(size, kind, armored):
    plaintext = os.urandom(size)
    recipient, identity = {
        "pq": (PQ.recipient(), PQ),
        "x25519": (X.recipient(), X),
        "scrypt": (ScryptRecipient("pw for round trips", 2), ScryptIdentity("pw for round trips")),
    }[kind]
    sealed = age.encrypt(plaintext, [recipient], armor=armored)
    assert age.decrypt(sealed, [identity]) == plaintext
    if not armored:
        header, offset = wire.parse_header(sealed)
        chunks = max(1, -(-size // stream.CHUNK_SIZE))
        assert len(sealed) - offset == stream.NONCE_SIZE + size + chunks * stream.TAG_SIZE


@SETTINGS
@given(st.binary(max_size=3000), st.booleans())
def test_round_trip_any_plaintext(plaintext, armored):
    assert age.decrypt(age.encrypt(plaintext, [PQ.recipient()], armor=armored), [PQ]) == plaintext


@SETTINGS
@given(st.binary(max_size=600))
def test_armor_round_trips_and_is_strict(data):
    encoded = armor.encode(data)
    assert armor.decode(encoded) == data
    assert armor.decode(b"\r\n  " + encoded.replace(b"\n", b"\r\n") + b" \n") == data
    assert armor.is_armored(encoded)


@SETTINGS
@given(st.text(max_size=200))
def test_parsers_of_keys_end_in_typed_errors(text):
    for parse, error in ((keys.parse_recipient, errors.RecipientError), (keys.parse_identities, errors.IdentityError)):
        try:
            parse(text)
        except error:
            pass
