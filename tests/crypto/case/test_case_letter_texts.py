"""Takedown letters are files, one a language: a new file is a new language, and a file that
forgets a field (the addresses, say) is refused before any letter is written."""

from __future__ import annotations

import pytest

from crypto.case import letter_texts


def test_every_letter_file_is_a_language_with_every_field(tmp_path):
    assert {"nl", "fr", "de", "en"} <= set(letter_texts.LETTERS)
    for tag, template in letter_texts.LETTERS.items():
        text = template.substitute(
            sender="S",
            provider="P",
            day="2026-12-07",
            reference="REF-1",
            reply_to="r@x.example",
            count=1,
            addresses="  http://x.example/",
        )
        assert "http://x.example/" in text and "REF-1" in text and "r@x.example" in text, tag


def test_a_file_is_a_language_and_a_field_missing_is_refused(tmp_path):
    (tmp_path / "eo.txt").write_text("$sender $provider $day $reference $reply_to $count\n$addresses\n")
    assert set(letter_texts.load(tmp_path)) == {"eo"}
    (tmp_path / "xx.txt").write_text("$sender $provider $day $reference $reply_to $count\n")  # no $addresses
    with pytest.raises(letter_texts.LetterTextError, match="xx.txt"):
        letter_texts.load(tmp_path)
    (tmp_path / "xx.txt").unlink()
    (tmp_path / "Not a tag.txt").write_text("$sender $provider $day $reference $reply_to $count $addresses")
    with pytest.raises(letter_texts.LetterTextError, match="not a language tag"):
        letter_texts.load(tmp_path)
