"""Vietnamese text folding for matching what people type without diacritics."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Return lower-case text without diacritics (đ → d), for tolerant keyword matching."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
