"""The API the server relies on (notes-team/contracts.md), and its bounds."""

from __future__ import annotations

import pytest

from crypto import age
from crypto.age import errors, keys
from crypto.age.mlkem import MLKEMIdentity, MLKEMRecipient
from crypto.age.x25519 import X25519Identity, X25519Recipient
from crypto.envelope.errors import FrameError, ReceiptError, ReportError
from crypto.errors import Error


def test_error_hierarchy():
    for cls in (
        errors.HeaderError,
        errors.HeaderMACError,
        errors.PayloadError,
        errors.NoIdentityMatchError,
        errors.ArmorError,
    ):
        assert issubclass(cls, errors.AgeError)
    for cls in (
        errors.AgeError,
        errors.RecipientError,
        errors.IdentityError,
        FrameError,
        errors.PassphraseError,
        ReportError,
        ReceiptError,
    ):
        assert issubclass(cls, Error)


def test_parse_recipient_types():
    pq = keys.generate("pq")
    classic = keys.generate("x25519")
    assert isinstance(keys.parse_recipient(pq.recipient().encode()), MLKEMRecipient)
    assert isinstance(keys.parse_recipient(classic.recipient().encode()), X25519Recipient)
    assert pq.recipient().encode().startswith("age1pq1")
    assert len(pq.recipient().encode()) > 1900
    assert keys.parse_recipient(" " + pq.recipient().encode() + "\n") == pq.recipient()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "age1",
        "age1pq1",
        "hello",
        "AGE-SECRET-KEY-1QQQQ",
        "ssh-ed25519 AAAA",
        "x" * 10_000,
    ],
)
def test_parse_recipient_rejects(text):
    with pytest.raises(errors.RecipientError):
        keys.parse_recipient(text)


def test_parse_recipient_rejects_changed_character():
    text = keys.generate("pq").recipient().encode()
    changed = text[:100] + ("q" if text[100] != "q" else "p") + text[101:]
    with pytest.raises(errors.RecipientError):
        keys.parse_recipient(changed)
    with pytest.raises(errors.RecipientError):
        keys.parse_recipient(text.upper())


def test_identity_text_round_trip_and_no_secret_in_repr():
    for kind, cls in (("pq", MLKEMIdentity), ("x25519", X25519Identity)):
        identity = keys.generate(kind)
        text = keys.identity_file_text(identity)
        [parsed] = keys.parse_identities(text)
        assert isinstance(parsed, cls)
        assert parsed.encode() == identity.encode()
        assert parsed.recipient() == identity.recipient()
        assert identity.encode() not in repr(identity)
        assert identity.encode()[20:40] not in repr(identity)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "AGE-SECRET-KEY-1NOPE\n", "age1abc\n"])
def test_parse_identities_rejects(text):
    with pytest.raises(errors.IdentityError):
        keys.parse_identities(text)


def test_identity_error_does_not_echo_the_line():
    secret_like = "AGE-SECRET-KEY-XYZZY-THIS-LOOKS-SECRET"
    with pytest.raises(errors.IdentityError) as info:
        keys.parse_identities(secret_like)
    assert "XYZZY" not in str(info.value)


def test_encrypt_refuses_no_recipients_and_mixing():
    with pytest.raises(errors.RecipientError):
        age.encrypt(b"x", [])
    with pytest.raises(errors.RecipientError):
        age.encrypt(b"x", [keys.generate("pq").recipient(), keys.generate("x25519").recipient()])


def test_several_recipients_each_open():
    ids = [keys.generate("pq") for _ in range(3)]
    sealed = age.encrypt(b"report", [i.recipient() for i in ids])
    for identity in ids:
        assert age.decrypt(sealed, [identity]) == b"report"
    with pytest.raises(errors.NoIdentityMatchError):
        age.decrypt(sealed, [keys.generate("pq")])
