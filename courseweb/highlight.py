"""Mark a search's words in text, safely: the text is escaped first, then the marks become <mark>.

Imports no app, so every app's search can use it (Postgres's ts_headline marks with MARK_START/MARK_END too).
"""

import re

from django.utils.html import escape
from django.utils.safestring import mark_safe

# Private-use characters no text of ours holds: they survive escaping and are turned into <mark> afterwards.
MARK_START, MARK_END = "\ue000", "\ue001"
WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 10


def query_words(query) -> list[str]:
    """Return the words of a search, at most ten (punctuation and operators dropped)."""
    return WORD.findall(query or "")[:MAX_WORDS]


def marked(text) -> str:
    """Return safe HTML of text that carries MARK_START/MARK_END: escaped, the marks as <mark>."""
    escaped = escape(text or "")
    return mark_safe(escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))  # noqa: S308 - escaped


def _pattern(words):
    return re.compile("|".join(re.escape(word) for word in sorted(words, key=len, reverse=True)), re.IGNORECASE)


def _with_marks(text, words):
    if not words:
        return text
    return _pattern(words).sub(lambda match: f"{MARK_START}{match.group(0)}{MARK_END}", text)


def highlight(text, words) -> str:
    """Return safe HTML: the whole text escaped, each occurrence of the words in <mark>."""
    return marked(_with_marks(text or "", words))


def excerpt(text, words, *, size=240) -> str:
    """Return safe HTML: about `size` characters of the text around the first of the words, the words marked."""
    text = " ".join((text or "").split())
    found = _pattern(words).search(text) if words else None
    start = max(0, found.start() - size // 3) if found else 0
    part = text[start : start + size]
    prefix, suffix = ("… " if start else ""), (" …" if start + size < len(text) else "")
    return marked(prefix + _with_marks(part, words) + suffix)
