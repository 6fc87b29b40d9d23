"""The signed status file and its keys: what verifies, and every way a file is refused."""

from __future__ import annotations

import datetime
import os

import pytest

from crypto.age.errors import PassphraseError
from crypto.age.keys import protect
from crypto.envelope.errors import ReceiptError
from crypto.envelope.receipt import new_receipt
from crypto.status import file as status_file
from crypto.status.errors import SignatureError, StatusFileError, StatusKeyError
from crypto.status.keys import SigningKey, VerifyKey, key_file_text, load_key_file
from crypto.status.lookup import lookup_key
from crypto.status.states import ID, MESSAGES, STATES

DAY = datetime.date(2026, 12, 1)
KEY = SigningKey.generate()


def _file(n: int = 3, *, version: int = 4, key: SigningKey = KEY) -> tuple[bytes, list[str], bytes]:
    salt = os.urandom(32)
    codes = [new_receipt() for _ in range(n)]
    states = list(STATES)
    entries = tuple(
        status_file.Entry(lookup_key(salt, c), states[i % len(states)], "abroad" if i % 2 else None, DAY)
        for i, c in enumerate(codes)
    )
    return status_file.encode(status_file.StatusFile(version, salt, entries), key), codes, salt


def test_a_file_round_trips_and_finds_each_code_in_any_spelling():
    data, codes, salt = _file()
    parsed = status_file.decode(data, KEY.public())
    assert parsed.version == 4 and parsed.salt == salt and len(parsed.entries) == 3
    by_key = {e.key: e for e in parsed.entries}
    for i, code in enumerate(codes):
        typed = code.lower().replace("-", " ")
        entry = by_key[lookup_key(salt, typed)]
        assert entry.state == list(STATES)[i] and entry.day == DAY
    assert [e.key for e in parsed.entries] == sorted(by_key)  # canonical order, not the order given


def test_the_file_holds_no_code_and_a_new_salt_gives_new_keys():
    data, codes, salt = _file()
    for code in codes:
        assert code.encode() not in data and code.replace("-", "").encode() not in data
    assert lookup_key(salt, codes[0]) != lookup_key(os.urandom(32), codes[0])


def test_only_a_rows_values_follow_it_from_file_to_file():
    # SECURITY.md: a new salt changes every key, yet a row whose (state, message, day) is the
    # only one of its kind in two files is the same report's row in both.
    codes = [new_receipt() for _ in range(4)]
    rows = [("received", None, DAY)] * 3 + [("forwarded", "abroad", DAY - datetime.timedelta(days=2))]
    files = []
    for version in (1, 2):
        salt = os.urandom(32)
        entries = tuple(status_file.Entry(lookup_key(salt, c), *row) for c, row in zip(codes, rows, strict=True))
        files.append(
            status_file.decode(status_file.encode(status_file.StatusFile(version, salt, entries), KEY), KEY.public())
        )
    first, second = ({e.key: (e.state, e.message, e.day) for e in f.entries} for f in files)
    assert not set(first) & set(second)
    assert [v for v in first.values() if v[0] == "forwarded"] == [v for v in second.values() if v[0] == "forwarded"]


def test_another_key_is_refused_by_name():
    data, _, _ = _file(key=SigningKey.generate())
    with pytest.raises(SignatureError, match="signed with another key"):
        status_file.decode(data, KEY.public())


def test_every_changed_byte_is_refused():
    data, _, _ = _file(2)
    for i in range(len(data)):
        for flip in (0x01, 0x20):
            changed = bytearray(data)
            changed[i] ^= flip
            with pytest.raises(StatusFileError):
                status_file.decode(bytes(changed), KEY.public())


def test_every_truncation_is_refused():
    data, _, _ = _file(2)
    for n in range(len(data)):
        with pytest.raises(StatusFileError):
            status_file.decode(data[:n], KEY.public())


def test_two_files_cannot_be_mixed():
    one, _, _ = _file(2, version=5)
    two, _, _ = _file(2, version=5)
    head_one, tail_two = one.split(b"count 2\n")[0], two.split(b"count 2\n")[1]
    with pytest.raises(SignatureError):
        status_file.decode(head_one + b"count 2\n" + tail_two, KEY.public())
    # An entry of one file moved into the other, with its signature line kept.
    lines_one, lines_two = one.split(b"\n"), two.split(b"\n")
    lines_two[5] = lines_one[5]
    with pytest.raises(SignatureError):
        status_file.decode(b"\n".join(lines_two), KEY.public())


def _signed(body: str) -> bytes:
    raw = body.encode()
    return raw + b"signature " + KEY.sign(b"meldpunt status file signature v1\x00" + raw).hex().encode() + b"\n"


def _body(rows: list[str], *, count: int | None = None, version: str = "3") -> str:
    head = [
        "meldpunt-status-file v1",
        f"key {KEY.public().encode()}",
        f"version {version}",
        f"salt {'ab' * 32}",
        f"count {len(rows) if count is None else count}",
    ]
    return "\n".join(head + rows) + "\n"


@pytest.mark.parametrize(
    "rows, count, version, reason",
    [
        (
            [f"{'11' * 32} received - 2026-12-01", f"{'11' * 32} closed - 2026-12-01"],
            None,
            "3",
            "out of order or repeated",
        ),
        ([f"{'22' * 32} received - 2026-12-01", f"{'11' * 32} closed - 2026-12-01"], None, "3", "out of order"),
        ([f"{'11' * 32} received - 2026-12-01"], 2, "3", "announces 2"),
        ([f"{'11' * 32} hacked - 2026-12-01"], None, "3", "unknown state"),
        ([f"{'11' * 32} received call-me - 2026-12-01"], None, "3", "malformed"),
        ([f"{'11' * 32} received free-text 2026-12-01"], None, "3", "unknown state or message"),
        ([f"{'11' * 32} received - 2026-02-30"], None, "3", "impossible day"),
        ([f"{'11' * 32} received - 2026-12-01 "], None, "3", "malformed"),
        ([f"{'11' * 32} received - 2026-12-01"], None, "03", "version line"),
        ([f"{'11' * 32} received - 2026-12-01"], None, "0", "positive"),
    ],
)
def test_a_signed_file_must_still_be_canonical(rows, count, version, reason):
    with pytest.raises(StatusFileError, match=reason):
        status_file.decode(_signed(_body(rows, count=count, version=version)), KEY.public())
    # The same file made canonical does verify: the refusal is the one named, not the signature.
    good = _body([f"{'11' * 32} received - 2026-12-01"])
    assert status_file.decode(_signed(good), KEY.public()).version == 3


def test_size_is_bounded_before_anything_is_read():
    with pytest.raises(StatusFileError, match="larger than"):
        status_file.decode(b"x" * (status_file.MAX_FILE_BYTES + 1), KEY.public())


def test_encode_refuses_what_decode_would_refuse():
    salt = os.urandom(32)
    with pytest.raises(StatusFileError):
        status_file.encode(status_file.StatusFile(0, salt, ()), KEY)
    with pytest.raises(StatusFileError):
        status_file.encode(status_file.StatusFile(1, salt, (status_file.Entry(b"k" * 32, "lost", None, DAY),)), KEY)
    twice = status_file.Entry(b"k" * 32, "received", None, DAY)
    with pytest.raises(StatusFileError):
        status_file.encode(status_file.StatusFile(1, salt, (twice, twice)), KEY)


def test_lookup_key_refuses_what_is_not_a_code():
    with pytest.raises(ReceiptError):
        lookup_key(os.urandom(32), "not a code")


def test_key_text_forms_catch_typos():
    public = KEY.public().encode()
    assert public.startswith("meldpunt-status1") and VerifyKey.parse(public) == KEY.public()
    assert SigningKey.parse(KEY.encode()).public() == KEY.public()
    typo = public[:-3] + ("q" if public[-3] != "q" else "p") + public[-2:]
    with pytest.raises(StatusKeyError):
        VerifyKey.parse(typo)
    with pytest.raises(StatusKeyError):
        VerifyKey.parse(public.upper())
    with pytest.raises(StatusKeyError):
        VerifyKey.parse(KEY.encode())  # the secret key where the public one belongs


def test_key_file_plain_and_protected(tmp_path):
    plain = tmp_path / "plain.key"
    plain.write_text(key_file_text(KEY))
    assert load_key_file(plain, lambda: pytest.fail("no passphrase for a plain file")).public() == KEY.public()
    protected = tmp_path / "protected.key"
    protected.write_bytes(protect(key_file_text(KEY), "correct horse battery", work_factor=4))
    assert b"SECRET-KEY" not in protected.read_bytes()
    assert load_key_file(protected, lambda: "correct horse battery").public() == KEY.public()
    with pytest.raises(PassphraseError):
        load_key_file(protected, lambda: "wrong passphrase")
    other = tmp_path / "identity.txt"
    other.write_text("AGE-SECRET-KEY-1QQQQ\n")
    with pytest.raises(StatusKeyError):
        load_key_file(other, lambda: "")


def test_the_vocabulary_is_ids_only():
    for ident in list(STATES) + list(MESSAGES):
        assert ID.fullmatch(ident), ident
