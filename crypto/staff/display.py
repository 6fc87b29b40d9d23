"""Showing a reporter's text to staff without letting it act on the screen.

Reports are written by strangers. A control character can move a terminal's cursor or rewrite
its title; a bidirectional override can make `evil.onion/a` read as `a/noino.live`; a zero-width
character can make two different URLs look the same. Such characters are shown as visible
`<U+202E>` marks instead, in the HTML overview and on the terminal alike.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

# Control (Cc), format (Cf: bidi marks and overrides, zero-width characters, tags), line and
# paragraph separators (Zl, Zp) and surrogates (Cs).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


@functools.cache
def _hidden() -> re.Pattern[str]:
    # Built on first use, not at import: it walks the whole code space once (~0.3 s).
    ranges: list[str] = []
    start = None
    for cp in range(sys.maxunicode + 2):
        hidden = cp <= sys.maxunicode and unicodedata.category(chr(cp)) in _HIDDEN_CATEGORIES
        if hidden and start is None:
            start = cp
        elif not hidden and start is not None:
            ranges.append(f"\\U{start:08x}-\\U{cp - 1:08x}")
            start = None
    return re.compile("[" + "".join(ranges) + "]")


def _mark(m: re.Match[str]) -> str:
    return f"<U+{ord(m.group()):04X}>"


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """The text with every invisible or controlling character replaced by a visible mark.

    With keep_newlines, line feeds and tabs stay (a description's paragraphs); carriage
    returns never do, since on a terminal they overwrite the line they end.
    """
    if keep_newlines:
        return "\n".join(
            "\t".join(_hidden().sub(_mark, part) for part in line.split("\t")) for line in text.split("\n")
        )
    return _hidden().sub(_mark, text)
