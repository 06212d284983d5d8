"""Split long text into chunks that fit Zalo's 2000-character message limit."""

from __future__ import annotations

import unicodedata

ZALO_TEXT_LIMIT = 2000
# Boundaries in order of preference: paragraph, line, sentence, word.
_BOUNDARIES: tuple[tuple[str, ...], ...] = (("\n\n",), ("\n",), (". ", "? ", "! ", "… "), (" ",))
_ZWJ = "\u200d"


def utf16_len(text: str) -> int:
    """Return the length of text in UTF-16 code units, the unit Zalo's limit is assumed to use."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def split_text(text: str, limit: int = ZALO_TEXT_LIMIT) -> list[str]:
    """Split text into chunks of at most `limit` UTF-16 units, cutting at the gentlest boundary."""
    if limit < 2:
        raise ValueError("limit must leave room for a surrogate pair")
    chunks: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        cut = _best_cut(rest, _fitting_prefix(rest, limit))
        # Whitespace at a cut only separates the chunks; a message should not start or end with it.
        chunk, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if chunk:
            chunks.append(chunk)
    if rest.strip():
        chunks.append(rest)
    return chunks


def _fitting_prefix(text: str, limit: int) -> int:
    """Return how many code points of text fit in `limit` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def _best_cut(text: str, end: int) -> int:
    """Return where to cut text[:end]: after the latest preferred boundary in its second half."""
    window = text[:end]
    # A boundary early in the window would leave a tiny chunk, so only the second half counts.
    floor = end // 2
    for markers in _BOUNDARIES:
        position = max(window.rfind(marker) for marker in markers)
        if position >= floor:
            return position + 1
    return _safe_hard_cut(text, end)


def _safe_hard_cut(text: str, end: int) -> int:
    """Return a cut at or before `end` that does not detach accents or break a joined emoji."""
    cut = end
    while cut > 1 and _joins(text[cut - 1], text[cut]):
        cut -= 1
    return cut


def _joins(before: str, after: str) -> bool:
    """Tell whether the two characters belong to one visible symbol."""
    if before == _ZWJ or after == _ZWJ:
        return True
    if unicodedata.combining(after) or after in ("\ufe0f", "\ufe0e"):
        return True
    return 0x1F3FB <= ord(after) <= 0x1F3FF  # skin-tone modifier
