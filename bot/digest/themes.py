"""Emerging themes: the Vietnamese terms whose share of reports rose most against the previous quarter.

Vietnamese words are made of syllables separated by spaces, so candidate terms are runs of 2-3
syllables that do not cross punctuation and neither start nor end with a function word. Counting
folds diacritics (people often type without them), display uses the most common accented form.
Each term counts once per report (document frequency), so one long report cannot dominate.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from bot.digest.model import Theme
from bot.textnorm import fold

MIN_COUNT = 2  # a theme needs at least this many reports in the quarter
NGRAMS = (2, 3)
MAX_PHRASE = 7  # syllables, when fragments of one phrase are joined back for display
# Two terms found in mostly the same reports (Jaccard similarity) are parts of one phrase.
SAME_PHRASE = 0.8
# A rise must stand out from sampling noise: a two-proportion z-score of at least this.
MIN_Z = 0.5
# A longer term replaces the shorter ones inside it when it covers this share of their reports.
SUBSUME = 0.8

# Function words, as written with diacritics.
STOP = frozenset(
    """
    và của là có các những được cho với đã đang sẽ này nay đó kia thì mà ở tại trong ngoài về để ra vào
    lên xuống không chưa rất cũng nên như theo từ đến khi nhưng hay hoặc một hai ba bốn năm nhiều ít mọi
    mỗi bị do vì nếu thế vậy rồi lại còn vẫn đều chỉ nào ai gì sao đây đấy ấy họ tôi chúng ta em anh chị
    ông bà cô chú bác người con cái việc vị hiện qua trên dưới sau trước cùng nhau luôn thêm đi
    làm nhận ngày tháng tuần hôm lúc giờ sáng chiều tối đêm mai xin thôn xã ấp bản buôn sóc tổ phường
    huyện tỉnh khoảng gần giữa
    """.split()
)
# The same words typed without diacritics, only where the folded form is rarely anything else
# ("dang" could be đảng, "de" could be đê, "la" could be lạ: those are left out on purpose).
STOP_FOLDED = frozenset(
    """
    va cua cac nhung duoc voi nay thi ma tai vao khong chua rat cung nhu theo khi hoac mot neu roi van
    deu nao gi hien sau truoc ngay thang tuan hom luc gio xin thon xa khoang
    """.split()
)
# Generic two-syllable words of any report; both syllables count as function words where they meet.
STOP_PAIRS = frozenset(
    fold(word.replace("_", " "))
    for word in """
    phản_ánh bà_con người_dân nhân_dân đề_nghị kiến_nghị báo_cáo tình_hình địa_bàn hiện_nay hiện_tại
    ổn_định bình_thường tổ_chức diễn_ra xảy_ra khu_vực đề_xuất
    """.split()
)
_SEGMENT_RE = re.compile(r"[^\w\s]+|\d+|_")  # punctuation and numbers end a phrase
_SYLLABLE_RE = re.compile(r"[^\W\d_]+")
_ACCENTED_RE = re.compile(r"[^\W\d_a-zA-Z]")  # a letter outside ASCII: the text has diacritics


@lru_cache(maxsize=65536)
def _fold(syllable: str) -> str:
    """Fold one syllable; cached, as a language has far fewer syllables than a sample has words."""
    return fold(syllable)


def _is_stop(syllable: str, folded: str, plain: bool) -> bool:
    """Tell whether a lower-case syllable is a function word; ``plain``: the text has no diacritics at all."""
    return syllable in STOP or (plain and folded in STOP_FOLDED)


def terms(text: str) -> dict[str, str]:
    """Return the report's candidate terms: folded key -> the surface form written in this report."""
    found: dict[str, str] = {}
    normal = unicodedata.normalize("NFC", text)
    # Only a report typed without any diacritics makes "xa" ambiguous (xa, xã); otherwise it is "xa".
    plain = _ACCENTED_RE.search(normal) is None
    for segment in _SEGMENT_RE.split(normal):
        surface = _SYLLABLE_RE.findall(segment)
        if len(surface) < NGRAMS[0]:
            continue
        lower = [s.lower() for s in surface]
        folded = [_fold(s) for s in lower]
        if surface[0][1:] == lower[0][1:]:
            surface[0] = lower[0]  # a capital that only starts the sentence is not part of the term
        stops = [_is_stop(s, f, plain) for s, f in zip(lower, folded, strict=True)]
        for i in range(len(folded) - 1):
            if f"{folded[i]} {folded[i + 1]}" in STOP_PAIRS:
                stops[i] = stops[i + 1] = True
        for n in NGRAMS:
            for i in range(len(lower) - n + 1):
                if stops[i] or stops[i + n - 1]:
                    continue
                found.setdefault(" ".join(folded[i : i + n]), " ".join(surface[i : i + n]))
    return found


class TermCounts:
    """Document frequencies of the terms of a set of reports, with their surface forms."""

    def __init__(self) -> None:
        self.docs = 0
        self.counts: Counter[str] = Counter()
        self.forms: dict[str, Counter[str]] = {}
        self.where: dict[str, list[int]] = {}  # the reports (by position) containing each term

    @classmethod
    def of(cls, texts: Iterable[str]) -> TermCounts:
        """Count the terms of some report texts."""
        counter = cls()
        for text in texts:
            counter.add(terms(text))
        return counter

    def add(self, found: dict[str, str]) -> None:
        """Count one report's terms (as returned by ``terms``)."""
        self.docs += 1
        for key, form in found.items():
            self.counts[key] += 1
            self.forms.setdefault(key, Counter())[form] += 1
            self.where.setdefault(key, []).append(self.docs)

    def display(self, key: str) -> str:
        """Return the most common accented form of a term (any form if none has diacritics)."""
        forms = self.forms.get(key) or Counter({key: 1})
        accented = [(n, f) for f, n in forms.items() if fold(f) != f.lower()]
        pool = accented or [(n, f) for f, n in forms.items()]
        return max(pool, key=lambda item: (item[0], item[1]))[1]


def emerging(current: TermCounts, previous: TermCounts, limit: int = 5) -> list[Theme]:
    """Return the terms whose share of reports rose most, one per phrase, longest phrasing shown."""
    if current.docs == 0:
        return []
    rising: dict[str, float] = {}
    for key, count in current.counts.items():
        if count < MIN_COUNT:
            continue
        rise = count / current.docs - previous.counts.get(key, 0) / max(previous.docs, 1)
        if rise > 0 and _z(count, current.docs, previous.counts.get(key, 0), previous.docs) >= MIN_Z:
            rising[key] = rise
    kept = _drop_subsumed(rising, current.counts)
    ranked = sorted(kept, key=lambda k: (-rising[k], -current.counts[k], k))
    themes: list[Theme] = []
    taken: list[set[int]] = []
    for key in ranked:
        docs = set(current.where[key])
        if any(_similar(docs, other) for other in taken):
            continue  # another fragment of a phrase already shown
        parts = _parts(docs, current)
        themes.append(_phrase(key, parts, current, previous))
        taken.append(docs)
        if len(themes) == limit:
            break
    return themes


def _z(count: int, docs: int, before: int, before_docs: int) -> float:
    """Return the two-proportion z-score of a rise (infinite when there is nothing to compare with)."""
    if before_docs == 0:
        return math.inf
    pooled = (count + before) / (docs + before_docs)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / docs + 1 / before_docs))
    return math.inf if spread == 0 else (count / docs - before / before_docs) / spread


def _parts(docs: set[int], current: TermCounts) -> list[str]:
    """Return the terms found in mostly the same reports as the seed: fragments of its phrase."""
    low, high = SAME_PHRASE * len(docs), len(docs) / SAME_PHRASE  # Jaccard bounds the sizes first
    return [
        k for k, n in current.counts.items()
        if n >= MIN_COUNT and low <= n <= high and _similar(docs, set(current.where[k]))
    ]


def _similar(a: set[int], b: set[int]) -> bool:
    return len(a & b) >= SAME_PHRASE * len(a | b)


def _phrase(seed: str, parts: list[str], current: TermCounts, previous: TermCounts) -> Theme:
    """Join the overlapping fragments of the seed's phrase ("dịch tả lợn" + "tả lợn châu" + ...)."""
    folded, shown = seed.split(), current.display(seed).split()
    used = [seed]
    grown = True
    while grown:
        grown = False
        for part in parts:
            words = part.split()
            if _contains(" ".join(folded), part) or len(folded) + len(words) - 2 > MAX_PHRASE:
                continue
            # Fragments join on two shared syllables: one alone is too often a coincidence.
            for k in range(len(words) - 1, 1, -1):
                if folded[-k:] == words[:k]:
                    folded, shown = folded + words[k:], shown + current.display(part).split()[k:]
                elif folded[:k] == words[-k:]:
                    folded, shown = words[:-k] + folded, current.display(part).split()[:-k] + shown
                else:
                    continue
                used.append(part)
                grown = True
                break
    docs = set.intersection(*(set(current.where[k]) for k in used))
    return Theme(" ".join(shown), len(docs), min(previous.counts.get(k, 0) for k in used))


def _drop_subsumed(candidates: dict[str, float], counts: Counter[str]) -> set[str]:
    """Drop a term when a longer candidate containing it covers most of its reports."""
    kept = set(candidates)
    longer = sorted(candidates, key=lambda k: -k.count(" "))
    for big in longer:
        for small in list(kept):
            if small != big and _contains(big, small) and counts[big] >= SUBSUME * counts[small]:
                kept.discard(small)
    return kept


def _contains(big: str, small: str) -> bool:
    return f" {small} " in f" {big} "


def _overlaps(a: str, b: str) -> bool:
    return _contains(a, b) or _contains(b, a)
