"""Address keys: spellings of one address meet, different addresses stay apart."""

from __future__ import annotations

import os
import sqlite3

import pytest

from crypto.case.errors import CaseError
from crypto.case.normalise import address_key
from crypto.case.schema import open_case

SAME = [
    ("HTTP://EXAMPLE.test/a", "http://example.test/a"),
    ("http://example.test./a", "http://example.test/a"),
    ("http://example.test:80/a", "http://example.test/a"),
    ("https://example.test:443", "https://example.test/"),
    ("example.test/a", "http://example.test/a"),
    ("http://example.test/a?utm_source=x&id=3&fbclid=y&UTM_Medium=z&gclid=1", "http://example.test/a?id=3"),
    ("http://example.test/%7euser/%2f", "http://example.test/~user/%2F"),
    ("magnet:?xt=urn:btih:" + "AB" * 20 + "&dn=name&tr=udp://t", "ab" * 20),
    ("magnet:?xt=urn:btih:" + "A" * 32, "A" * 32),
    ("http://[::1]:8080/x", "HTTP://[::1]:8080/x"),
]
DIFFERENT = [
    ("http://example.test/a", "https://example.test/a"),  # another scheme
    ("http://example.test/a", "http://example.test/A"),  # a path's case
    ("http://example.test/a?id=1", "http://example.test/a?id=2"),
    ("http://example.test/a?x=1&y=2", "http://example.test/a?y=2&x=1"),  # order may matter to the site
    ("http://example.test/a#one", "http://example.test/a#two"),
    ("http://example.test:8080/a", "http://example.test/a"),
    ("http://example.test/%2F", "http://example.test//"),
    ("ab" * 20, "cd" * 20),
]


@pytest.mark.parametrize("a,b", SAME)
def test_spellings_of_one_address_have_one_key(a, b):
    assert address_key(a) == address_key(b)


@pytest.mark.parametrize("a,b", DIFFERENT)
def test_different_addresses_have_different_keys(a, b):
    assert address_key(a) != address_key(b)


@pytest.mark.parametrize("text", ["http://[::1", "http://example.test:99999/", "\x00\u202e", "magnet:?xt=urn:x:y"])
def test_any_text_gets_a_key(text):
    assert isinstance(address_key(text), str)


def test_a_case_file_from_a_newer_meldpunt_or_readable_by_others_is_refused(tmp_path):
    case = tmp_path / "case"
    open_case(str(case), create=True).close()
    with sqlite3.connect(case / "case.sqlite3") as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(CaseError, match="newer meldpunt"):
        open_case(str(case))
    os.chmod(case / "case.sqlite3", 0o644)
    with pytest.raises(CaseError, match="chmod 600"):
        open_case(str(case))
    with pytest.raises(CaseError, match="holds no case file"):
        open_case(str(tmp_path))
