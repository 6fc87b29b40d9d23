"""A report's language: a BCP 47 tag, checked by its form alone.

The offline side must open every report without the server's catalogues, and a report sealed in a
language the server offered years ago must still open after the hotline stopped offering it. So
the report schema checks only that the tag is well formed, never that it is one of a list.
"""

from __future__ import annotations

import re

# The part of BCP 47 a translation catalogue is named by: a language (2 or 3 lowercase letters),
# an optional script (Latn, Cyrl, …) and an optional region (BE, 419, …), in babel's "_" or BCP 47's
# "-" form. Extensions, variants and private use are refused: no catalogue is named that way.
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:[-_][A-Z][a-z]{3})?(?:[-_](?:[A-Z]{2}|[0-9]{3}))?")
# The longest tag the pattern allows ("abc-Latn-419"): the form token carries it, so it is bounded.
MAX_TAG_CHARS = 12


def is_language_tag(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TAG_CHARS and LANGUAGE_TAG.fullmatch(value) is not None
