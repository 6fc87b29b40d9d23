"""The notice-and-takedown letter, one file a language: `<tag>.txt`, a string.Template in plain text.

A language is added by adding its file, with no code change. $sender is the hotline, $provider
the hosting provider as the analyst recorded it, $day the day of writing, $reference the letter's
reference and $reply_to the hotline's reply address (both from crypto/case/letters.py), $count and
$addresses the addresses, one a line, as text. French puts a non-breaking space before : ; ? and !.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from crypto.envelope.language import is_language_tag
from crypto.errors import Error

_FOLDER = Path(__file__).parent
# The fields every letter must use, and no other: a letter that forgot the addresses would be sent
# without them.
FIELDS = {"sender", "provider", "day", "reference", "reply_to", "count", "addresses"}


class LetterTextError(Error):
    """A letter file that is no language's, or that does not use exactly the letter's fields."""


def load(folder: Path = _FOLDER) -> dict[str, Template]:
    letters = {}
    for path in sorted(folder.glob("*.txt")):
        if not is_language_tag(path.stem):
            raise LetterTextError(f"{path.name}: the file name is not a language tag")
        template = Template(path.read_text(encoding="utf-8"))
        used = {
            m.group("named") or m.group("braced")
            for m in template.pattern.finditer(template.template)
            if m.group("named") or m.group("braced")
        }
        if used != FIELDS:
            raise LetterTextError(f"{path.name}: uses {sorted(used)}, not exactly {sorted(FIELDS)}")
        letters[path.stem] = template
    return letters


LETTERS = load()
