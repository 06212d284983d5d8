"""Topic tagger: tag a short report by topic and urgency, and explain every tag by its cues.

Pure logic apart from reading the lexicon (``bot/data/lexicon.toml``, format in its header), which
admins may edit while the bot runs. How a message is read:

1. Every word gets two keys: lower case with one tone placement ("hòa"), and bare ("hoa"). A
   message in which a quarter of the words carry marks is matched by the accented keys, any other
   by the bare ones, so "đạo" / "Dao" / "dao" stay apart when the writer typed diacritics, and
   context rules of the lexicon tell them apart when not.
2. Abbreviations are expanded; terms are found with word tries; a longer match hides shorter ones.
3. Each label adds up the weights of its distinct terms; negations and calm phrases cancel urgent
   terms. Every tag keeps its cues: the lexicon term and the text it matched.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import unicodedata
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate, chain, compress, pairwise, repeat
from operator import add, and_, itemgetter
from pathlib import Path
from typing import Any

TOPICS = ("dan_toc", "ton_giao", "nhan_dan")
URGENT = "urgent"
DEFAULT_LEXICON = Path(__file__).resolve().parent / "data" / "lexicon.toml"
THRESHOLD = 1.0  # a label is set when the weights of its distinct cues add up to this
LABELS_VI = {"dan_toc": "dân tộc", "ton_giao": "tôn giáo", "nhan_dan": "nhân dân", URGENT: "khẩn"}
INTENTS = ("deadline", "help", "thanks", "greeting")  # checked in this order
MODES = ("any", "accented", "plain")
CTX_LISTS = ("before", "after", "near", "not_before", "not_after", "unless")
RULE_KEYS = {"weight", "window", "mode", "in_names", "plain", "accented", *CTX_LISTS}
SECTIONS = {"version", "abbreviations", "hashtags", "sets", "topic", "urgent", "incident",
            "negation", "phrases", "intent"}
PHRASE_KINDS = ("calm", "ignore", "question")
PROPER = "@Proper"  # context word: the neighbouring word is written with a capital letter
MARKED_RATIO = 0.25  # at least this share of words carry diacritics -> match the accented form
MAX_REASON_SPANS = 3
_ORDER = (*TOPICS, URGENT)
_UNITS = {"k", "kg"}  # "k"/"kg" mean "không" except after a number: "50k", "7.000 đ/kg"

_HASHTAG = re.compile(r"#\w+")
_CLAUSE_BREAK = re.compile(r"[,.;:!?()\n]")
_LINE_TAG = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
_LINE_KEY = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_\-]+)\s*=""")


class LexiconError(ValueError):
    """The lexicon file is missing or malformed; ``errors`` lists what is wrong."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Cue:
    """One piece of evidence for a label: the lexicon term and the text span it matched."""

    label: str  # a topic code or "urgent"
    term: str  # lexicon term (or "#khan" for a hashtag)
    matched: str  # the span of the original text


@dataclass(frozen=True, init=False)
class TagResult:
    """Topics, urgency, the cues behind them, and what kind of message it was."""

    topics: tuple[str, ...]
    urgent: bool
    cues: tuple[Cue, ...]
    kind: str  # "report" | "chatter" | "question"
    intent: str | None  # "deadline" | "help" | "thanks" | "greeting" | None

    def __init__(
        self, topics: tuple[str, ...], urgent: bool, cues: tuple[Cue, ...], kind: str, intent: str | None
    ) -> None:
        """Set the fields.

        Written out because the __init__ of a frozen dataclass makes a slow call per field:
        twice as slow, and a twentieth of tagging a message.
        """
        fields = self.__dict__
        fields["topics"], fields["urgent"], fields["cues"], fields["kind"], fields["intent"] = (
            topics, urgent, cues, kind, intent
        )

    @property
    def reasons(self) -> list[str]:
        """Return one short Vietnamese line per label, naming what triggered it."""
        lines = []
        for label in (*self.topics, *((URGENT,) if self.urgent else ())):
            parts: list[str] = []
            # A hashtag decides the label whatever else was found, so it is named first.
            for cue in sorted(self.cues, key=lambda c: not c.term.startswith("#")):
                if cue.label != label:
                    continue
                part = f"hashtag {cue.term}" if cue.term.startswith("#") else f'"{cue.matched}"'
                if part not in parts:
                    parts.append(part)
            lines.append(f"{LABELS_VI[label]}: " + ", ".join(parts[:MAX_REASON_SPANS]))
        return lines


# --------------------------------------------------------------------------- normalisation

# Punctuation becomes a space so offsets stay put; apostrophes stay inside words only.
_LONE_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")
# Every blank but " " itself (what str.isspace() and re's \s accept, stable since Unicode 6.3):
# leaving plain spaces out of the class makes the substitution several times faster.
_BLANKS = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_PUNCT = re.compile(f"[{_BLANKS}" r",.;:!?()\[\]{}<>\"“”„«»/\\|\-–—_+=*&^%$@~`…•#]")
# The same for ASCII text as bytes: a table look-up per byte is several times faster than the regex.
_PUNCT_ASCII = bytes(32 if _PUNCT.match(chr(b)) else b for b in range(256))
_APOSTROPHE = re.compile(r"[’‘ʼ]")
# Old and new tone placement ("hoà" / "hòa", "thuỷ" / "thủy") must give the same key.
_TONE_MOVES = {
    first + second: moved + base
    for first, base, seconds in (("o", "a", "àáảãạ"), ("o", "e", "èéẻẽẹ"), ("u", "y", "ỳýỷỹỵ"))
    for second, moved in zip(seconds, "òóỏõọ" if first == "o" else "ùúủũụ", strict=True)
}
_TONE_MOVE = re.compile("o[àáảãạèéẻẽẹ]|u[ỳýỷỹỵ]")
# To find one, a pattern that starts with a letter is faster: the regex engine skips to that letter.
_TONE_MOVE_O, _TONE_MOVE_U = re.compile("o[àáảãạèéẻẽẹ]"), re.compile("u[ỳýỷỹỵ]")


def _spaced(text: str) -> str:
    """Return text with punctuation as spaces and one kind of apostrophe."""
    if text.isascii():
        text = text.encode().translate(_PUNCT_ASCII).decode()
    else:
        text = _PUNCT.sub(" ", text)
        if "’" in text or "‘" in text or "ʼ" in text:  # much faster than a regex search
            text = _APOSTROPHE.sub("'", text)
    return _LONE_APOSTROPHE.sub(" ", text) if "'" in text else text


def _accent_key(lowered: str) -> str:
    """Return lower-case text with one tone placement and no apostrophes."""
    # isascii() costs nothing, a search does
    if not lowered.isascii() and (_TONE_MOVE_O.search(lowered) or _TONE_MOVE_U.search(lowered)):
        lowered = _TONE_MOVE.sub(lambda m: _TONE_MOVES[m.group()], lowered)
    return lowered.replace("'", "") if "'" in lowered else lowered


def _plain_key(accented: str) -> str:
    """Return accented-key text without any mark, word for word: "người đạo" -> "nguoi dao"."""
    if accented.isascii():
        return accented
    # Dropping what is not ASCII after NFD is fast and right for Vietnamese; a word of another
    # script or an emoji would vanish, so such a text goes word by word instead.
    bare = unicodedata.normalize("NFD", accented.replace("đ", "d")).encode("ascii", "ignore").decode()
    if len(bare.split()) == len(accented.split()):
        return bare
    return " ".join(_plain_word(w) for w in accented.split())


def _plain_word(word: str) -> str:
    """Return one word without marks, keeping letters of other scripts."""
    bare = "".join(c for c in unicodedata.normalize("NFD", word.replace("đ", "d")) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare) or word


def _phrase_keys(phrase: str) -> tuple[str, str]:
    """Return the (accented, plain) keys of a lexicon phrase: words joined by single spaces."""
    acc = " ".join(w for w in _accent_key(_spaced(unicodedata.normalize("NFC", phrase)).lower()).split() if w)
    return acc, _plain_key(acc)


class _Msg:
    """A message split into words, with both keys per word and the chosen matching form."""

    __slots__ = ("text", "spaced", "acc", "bare", "keys", "src", "expanded", "accented",
                 "_plain", "_typed", "_pos", "_joined")

    def __init__(self, text: str, lexicon: _Lexicon) -> None:
        self.text = text
        self.spaced = spaced = _spaced(text)
        self.src: list[int] | None = None  # word i of acc/plain comes from typed word src[i]
        self.expanded: list[bool] | None = None
        self._plain: list[str] | None = None
        self._pos: list[int] | None = None
        self._joined: str | None = None
        acc_text = _accent_key(spaced.lower())
        self.acc = acc = acc_text.split()
        # A message typed in lower case is its own key: its words are the typed words.
        self._typed: list[str] | None = acc if acc_text == spaced else None
        count = len(acc)
        # One byte per word, 1 when it was typed without any mark: bytes count and find in C.
        if acc_text.isascii():
            self._plain, self.bare, marked = acc, b"\1" * count, 0
        else:
            self.bare = bare = bytes(map(str.isascii, acc))
            marked = count - bare.count(1)
        if not lexicon.abbr_words.isdisjoint(acc) and (  # one set test rules out most messages
            not lexicon.abbreviations.keys().isdisjoint(acc)
            or (not lexicon.abbr_typed_lower.isdisjoint(acc) and lexicon.abbr_typed_re.search(spaced))
        ):
            count -= self._expand(lexicon)
        self.accented = count > 0 and marked >= MARKED_RATIO * count
        self.keys = self.acc if self.accented else self.plain

    @property
    def plain(self) -> list[str]:
        """Return the words without marks."""
        if self._plain is None:
            self._plain = _plain_words(self.acc, self.bare)
        return self._plain

    @property
    def typed(self) -> list[str]:
        """Return the words as typed, for names and spans."""
        if self._typed is None:
            self._typed = self.spaced.split()  # every blank is " " here, so no word is lost
        return self._typed

    def _expand(self, lexicon: _Lexicon) -> int:
        """Replace abbreviations by their words; return how many words were abbreviations."""
        typed, by_typed, by_any, acc = self.typed, lexicon.abbr_typed, lexicon.abbreviations, self.acc
        # Only the few words that are abbreviations in either table need the full test.
        maybe = compress(range(len(acc)), map(lexicon.abbr_words.__contains__, acc))
        found = [
            (i, words)
            for i in maybe
            if (words := by_typed.get(typed[i]) or by_any.get(acc[i])) and not (acc[i] in _UNITS and self._after_number(i))
        ]
        if not found:
            return 0
        acc, self._plain = self.acc[:], None
        self.src, self.expanded = list(range(len(acc))), [False] * len(acc)
        for i, words in reversed(found):  # from the end, so earlier indices stay valid
            acc[i : i + 1] = words
            self.src[i : i + 1] = [i] * len(words)
            self.expanded[i : i + 1] = [True] * len(words)
        self.acc, self.bare = acc, bytes(map(str.isascii, acc))
        return len(found)

    def positions(self) -> list[int]:
        """Return the offset of every typed word in the text."""
        if self._pos is None:
            self._typed, self._pos = _typed_words(self.spaced)
        return self._pos

    def joined(self, plain: bool) -> str:
        """Return the words of one form as " w1 w2 ... " for phrase look-ups."""
        if plain or not self.accented:
            return f" {' '.join(self.plain)} "
        if self._joined is None:
            self._joined = f" {' '.join(self.acc)} "
        return self._joined

    def typed_index(self, i: int) -> int:
        """Return the typed word that word i comes from."""
        return i if self.src is None else self.src[i]

    def spans(self) -> tuple[list[str], list[int] | None]:
        """Return the typed words, and their offsets unless the words joined by " " are the text.

        A third of the reports are typed with single spaces and no punctuation but at the end:
        the span of words i .. j is then " ".join(typed[i : j + 1]), and finding the offsets of
        all words would cost more than the spans.
        """
        if self._pos is not None:  # found already, for a name or a clause
            return self.typed, self._pos
        head = self.spaced.rstrip(" ")
        if head[:1] != " " and "  " not in head and self.text.startswith(head):
            typed = self._typed = self._typed or head.split()
            return typed, None
        self._typed, self._pos = typed, pos = _typed_words(self.spaced)
        return typed, pos

    def same_clause(self, i: int, j: int) -> bool:
        """Tell whether no punctuation separates word i from a later word j."""
        first, last = self.typed_index(i), self.typed_index(j)
        if first == last:
            return True
        pos = self.positions()
        return not _CLAUSE_BREAK.search(self.text, pos[first] + len(self.typed[first]), pos[last])

    def is_name(self, i: int) -> bool:
        """Tell whether word i is written with a capital inside a sentence, as names are."""
        if self.expanded is not None and self.expanded[i]:
            return False
        t = self.typed_index(i)
        if not self.typed[t][0].isupper():
            return False
        return _previous_char(self.text, self.positions()[t], " \t\"'“(-") not in ".!?:\n"

    def _after_number(self, t: int) -> bool:
        """Tell whether typed word t follows a digit or a slash ("50 k", "đ/kg")."""
        before = _previous_char(self.text, self.positions()[t], " \t")
        return before.isdigit() or before == "/"


def _typed_words(spaced: str) -> tuple[list[str], list[int]]:
    """Return the words of spaced text and the offset of each: one split serves both."""
    # Every blank is one " " here, so no word is lost and part k starts after the k parts before it.
    parts = spaced.split(" ")
    return list(filter(None, parts)), list(compress(accumulate(map(add, map(len, parts), repeat(1)), initial=0), parts))


def _plain_words(words: list[str], bare: bytes) -> list[str]:
    """Return the words without marks, as _plain_key does for the text they make.

    Only the words with marks need stripping, and few have them in a message typed without.
    """
    plain = [w if b else unicodedata.normalize("NFD", w.replace("đ", "d")).encode("ascii", "ignore").decode()
             for w, b in zip(words, bare, strict=True)]
    # A word of another script or an emoji would vanish: _plain_key then goes word by word.
    return plain if all(plain) else [_plain_word(w) for w in words]


def _previous_char(text: str, pos: int, skip: str) -> str:
    """Return the last character before pos that is not in skip ('' at the start)."""
    pos -= 1
    while pos >= 0 and text[pos] in skip:
        pos -= 1
    return text[pos] if pos >= 0 else ""


# --------------------------------------------------------------------------- lexicon model


# Context phrases by the word next to the term (the last word of a phrase before it, the first of
# one after it), then by their number of words; PROPER stands for "@Proper".
_Side = dict[str, dict[int, set[str]]]


class _Ctx:
    """Context conditions for an ambiguous term, in one matching form."""

    __slots__ = ("before", "after", "near", "not_before", "not_after", "unless", "window", "needs",
                 "in_names", "plain")

    def __init__(self, lists: dict[str, list[str]], window: int, plain: bool, in_names: bool = True) -> None:
        k = 1 if plain else 0

        def keyed(words: list[str], way: int) -> _Side:
            out: _Side = {}
            for w in words:
                if w == PROPER:
                    out[PROPER] = {}
                    continue
                key = _phrase_keys(w)[k]
                next_to_term = key.rsplit(" ", 1)[-1] if way < 0 else key.split(" ", 1)[0]
                out.setdefault(next_to_term, {}).setdefault(key.count(" ") + 1, set()).add(key)
            return out

        self.before, self.after = keyed(lists.get("before", []), -1), keyed(lists.get("after", []), 1)
        self.not_before = keyed(lists.get("not_before", []), -1)
        self.not_after = keyed(lists.get("not_after", []), 1)
        self.near = [f" {_phrase_keys(w)[k]} " for w in lists.get("near", [])]
        self.unless = [f" {_phrase_keys(w)[k]} " for w in lists.get("unless", [])]
        self.window = window
        self.in_names = in_names
        self.plain = plain
        self.needs = bool(self.before or self.after or self.near)

    def ok(self, msg: _Msg, keys: list[str], i: int, n: int) -> bool:
        """Tell whether words i .. i+n-1 of msg meet the conditions."""
        if not self.in_names and msg.is_name(i):
            return False
        # Most terms use one or two of the lists: an empty one is not worth a call.
        if (self.not_before and _side(self.not_before, msg, keys, i, -1, 1)) or (
            self.not_after and _side(self.not_after, msg, keys, i + n, 1, 1)
        ):
            return False
        if self.unless and any(u in msg.joined(self.plain) for u in self.unless):
            return False
        if not self.needs:
            return True
        return bool(
            (self.before and _side(self.before, msg, keys, i, -1, self.window))
            or (self.after and _side(self.after, msg, keys, i + n, 1, self.window))
            or (self.near and any(w in msg.joined(self.plain) for w in self.near))
        )


def _side(side: _Side, msg: _Msg, keys: list[str], edge: int, way: int, window: int) -> bool:
    """Tell whether a phrase of side ends just before edge (way=-1) or starts at it (way=1)."""
    if PROPER in side:  # the very next word, in the same clause, is a name
        if 0 < edge < len(keys) and msg.is_name(edge if way > 0 else edge - 1) and msg.same_clause(edge - 1, edge):
            return True
    for gap in range(window):
        j = edge + gap if way > 0 else edge - 1 - gap  # where the phrase touches the term's side
        if not 0 <= j < len(keys):
            return False
        sizes = side.get(keys[j])
        if sizes is None:  # the common case: one look-up decides
            continue
        if 1 in sizes:
            return True
        for size, phrases in sizes.items():
            start = j if way > 0 else j - size + 1
            if start >= 0 and start + size <= len(keys) and " ".join(keys[start : start + size]) in phrases:
                return True
    return False


@dataclass(frozen=True)
class _Entry:
    """One lexicon term for one label."""

    label: str  # a topic, "urgent", "calm", "negation", "ignore", "question" or an intent
    term: str
    weight: float  # for "negation": how many words after it the negation reaches
    ctx: _Ctx | None
    key: tuple[str, str] = field(init=False, repr=False, compare=False)  # (label, term)
    twin: _Entry | None = field(init=False, repr=False, compare=False)  # the term for nhan_dan, see _score
    # The same few cues come back all the time: sharing them saves building a dataclass per cue.
    cues: dict[str, Cue] = field(default_factory=dict, init=False, repr=False, compare=False)  # by span

    def __post_init__(self) -> None:
        """Build once what tagging needs of the term, rather than for every message."""
        object.__setattr__(self, "key", (self.label, self.term))
        twin = _Entry("nhan_dan", self.term, 0, None) if self.label in (URGENT, "calm") else None
        object.__setattr__(self, "twin", twin)

    def cue(self, span: str) -> Cue:
        """Return the cue of this term for a span of text, kept for the next message."""
        cue = self.cues.get(span)
        if cue is None:
            if len(self.cues) >= 64:  # spellings of one term: few but not bounded
                self.cues.clear()
            cue = self.cues[span] = Cue(self.label, self.term, span)
        return cue


# A trie node: [entries ending here or None, children by next word or None, no entry has context]
_Node = list[Any]


@dataclass
class _Index:
    """Word tries of the terms, by their accented and by their plain forms.

    Beside each trie: its one-word terms, and the first two words of its longer terms, so that a
    message is searched with a few dict look-ups before any walk. The pairs are tuples: a tuple
    of words hashes from the words' cached hashes, where a joined string would be hashed afresh.
    """

    acc: dict[str, _Node]
    plain: dict[str, _Node]
    acc_words: dict[str, _Node] = field(default_factory=dict)
    plain_words: dict[str, _Node] = field(default_factory=dict)
    acc_pairs: dict[tuple[str, str], _Node] = field(default_factory=dict)  # (w1, w2) -> node of w2
    plain_pairs: dict[tuple[str, str], _Node] = field(default_factory=dict)


@dataclass
class _Lexicon:
    """A compiled lexicon."""

    abbreviations: dict[str, list[str]]  # lower case, with or without marks -> accented words
    abbr_typed: dict[str, list[str]]  # capitals, exactly as typed
    abbr_typed_re: re.Pattern[str]  # finds any of abbr_typed
    abbr_typed_lower: frozenset[str]  # abbr_typed in lower case, a cheap first test
    abbr_words: frozenset[str]  # the keys of both tables in lower case, a cheaper first test
    hashtags: dict[str, str]
    main: _Index
    chat: _Index


# --------------------------------------------------------------------------- lexicon loading


def check_lexicon(path: str | Path) -> list[str]:
    """Return human-readable errors in a lexicon file (empty when it is good)."""
    return _load(Path(path))[1]


def _load(path: Path) -> tuple[_Lexicon | None, list[str]]:
    """Read and compile a lexicon file; return it with the errors found."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"cannot read {path}: {exc}"]
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        return None, [f"TOML syntax error: {exc}"]
    builder = _Builder(source)
    lexicon = builder.build(data)
    return (None if builder.errors else lexicon), builder.errors


class _Builder:
    """Validate the parsed TOML and compile it, collecting every error on the way."""

    def __init__(self, source: str) -> None:
        self.lines = _key_lines(source)
        self.source_lines = source.splitlines()
        self.errors: list[str] = []
        self.sets: dict[str, list[str]] = {}
        self.main = _Index({}, {})
        self.chat = _Index({}, {})

    def error(self, section: str, key: str | None, message: str, item: str | None = None) -> None:
        """Record an error, located by line where the key can be found."""
        line = self.lines.get((section, key))
        if item is not None and line:
            line = self._find_item(line, item)
        where = f"line {line}: " if line else ""
        what = f"[{section}]" + (f" {json.dumps(key, ensure_ascii=False)}" if key is not None else "")
        error = f"{where}{what}: {message}"
        if error not in self.errors:  # a term's context is compiled once per form
            self.errors.append(error)

    def _find_item(self, start: int, item: str) -> int:
        """Return the line of a list item at or after line start."""
        quoted = json.dumps(item, ensure_ascii=False)
        for n in range(start, min(start + 400, len(self.source_lines) + 1)):
            if quoted in self.source_lines[n - 1]:
                return n
        return start

    def build(self, data: dict[str, Any]) -> _Lexicon:
        """Compile every section."""
        for key in data:
            if key not in SECTIONS:
                self.error(key, None, f"unknown section (known: {', '.join(sorted(SECTIONS))})")
        self.sets = self._sets(data.get("sets", {}))
        abbreviations, abbr_typed = self._abbreviations(data.get("abbreviations", {}))
        hashtags = self._hashtags(data.get("hashtags", {}))
        topics = data.get("topic", {})
        if not isinstance(topics, dict):
            self.error("topic", None, "must be a table of topics")
            topics = {}
        for topic, terms in topics.items():
            if topic not in TOPICS:
                self.error(f"topic.{topic}", None, f"unknown topic {topic!r} (known: {', '.join(TOPICS)})")
                continue
            self._terms(f"topic.{topic}", terms, (topic,))
        self._terms("urgent", data.get("urgent", {}), (URGENT,))
        self._terms("incident", data.get("incident", {}), (URGENT, "nhan_dan"))
        self._negations(data.get("negation", {}))
        self._phrase_lists("phrases", data.get("phrases", {}), PHRASE_KINDS, self.main, {"question"})
        self._phrase_lists("intent", data.get("intent", {}), INTENTS, self.chat, set())
        typed_re = re.compile(r"\b(?:" + "|".join(map(re.escape, abbr_typed)) + r")\b")
        typed_lower = frozenset(_phrase_keys(k)[0] for k in abbr_typed)
        abbr_words = frozenset(abbreviations) | typed_lower
        return _Lexicon(abbreviations, abbr_typed, typed_re, typed_lower, abbr_words, hashtags, self.main, self.chat)

    def _table(self, section: str, value: Any) -> dict[str, Any]:
        """Return value if it is a table, else record an error."""
        if isinstance(value, dict):
            return value
        self.error(section, None, "must be a table")
        return {}

    def _sets(self, value: Any) -> dict[str, list[str]]:
        """Check the named word sets that context lists may refer to as "@name"."""
        out = {}
        for name, words in self._table("sets", value).items():
            if self._strings("sets", name, words):
                out[name] = words
        return out

    def _strings(self, section: str, key: str, value: Any) -> bool:
        """Tell whether value is a list of non-empty strings, recording an error if not."""
        if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
            self.error(section, key, "must be a list of strings")
            return False
        for w in value:
            if not _phrase_keys(w)[0] and w != PROPER:
                self.error(section, key, "empty word in list", item=w)
                return False
        return True

    def _abbreviations(self, value: Any) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Compile abbreviations: upper-case keys match as typed, others in any case and accent."""
        any_case: dict[str, list[str]] = {}
        as_typed: dict[str, list[str]] = {}
        for key, expansion in self._table("abbreviations", value).items():
            if _spaced(key).split() != [key] or "'" in key:
                self.error("abbreviations", key, "an abbreviation must be one word")
            elif not isinstance(expansion, str) or not _phrase_keys(expansion)[0]:
                self.error("abbreviations", key, "the expansion must be a non-empty string")
            else:
                words = _phrase_keys(expansion)[0].split()
                if key.isupper():
                    as_typed[unicodedata.normalize("NFC", key)] = words
                else:
                    any_case.update(dict.fromkeys(_d_variants(_phrase_keys(key)[1]), words))
        return any_case, as_typed

    def _hashtags(self, value: Any) -> dict[str, str]:
        """Compile hashtags that force a label."""
        out = {}
        for key, label in self._table("hashtags", value).items():
            if label not in (*TOPICS, URGENT):
                self.error("hashtags", key, f"unknown label {label!r} (known: {', '.join((*TOPICS, URGENT))})")
            else:
                out[_hashtag_key(key)] = label
        return out

    def _terms(self, section: str, value: Any, labels: tuple[str, ...]) -> None:
        """Compile one section of weighted terms."""
        seen: dict[str, str] = {}
        for term, rule in self._table(section, value).items():
            acc, plain = _phrase_keys(term)
            if not acc:
                self.error(section, term, "empty term")
                continue
            if acc in seen:
                self.error(section, term, f"duplicate term (same as {json.dumps(seen[acc], ensure_ascii=False)})")
                continue
            seen[acc] = term
            parsed = self._rule(section, term, rule)
            if parsed is None:
                continue
            weight, mode, ctx_acc, ctx_plain = parsed
            for label in labels:
                if mode != "plain":
                    _add(self.main, True, acc, _Entry(label, term, weight, ctx_acc))
                if mode != "accented":
                    _add(self.main, False, plain, _Entry(label, term, weight, ctx_plain))

    def _rule(self, section: str, term: str, rule: Any) -> tuple[float, str, _Ctx | None, _Ctx | None] | None:
        """Parse a term's value: a weight, or an inline table of weight, mode and context."""
        if not isinstance(rule, dict):
            rule = {"weight": rule}
        unknown = set(rule) - RULE_KEYS
        if unknown:
            self.error(section, term, f"unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(RULE_KEYS))})")
            return None
        weight = rule.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 10:
            self.error(section, term, f"bad weight {weight!r}: use a number above 0 and at most 10")
            return None
        mode = rule.get("mode", "any")
        if mode not in MODES:
            self.error(section, term, f"bad mode {mode!r} (known: {', '.join(MODES)})")
            return None
        ok_acc, ctx_acc = self._ctx(section, term, rule, rule.get("accented"), plain=False)
        ok_plain, ctx_plain = self._ctx(section, term, rule, rule.get("plain"), plain=True)
        if not (ok_acc and ok_plain):
            return None
        return float(weight), mode, ctx_acc, ctx_plain

    def _ctx(self, section: str, term: str, rule: dict, override: Any, plain: bool) -> tuple[bool, _Ctx | None]:
        """Compile the context of a term for one form; an override table replaces the shared one.

        Return whether it is valid, and the context (None when the term needs none).
        """
        if override is not None:
            if not isinstance(override, dict) or set(override) - set(CTX_LISTS) - {"window", "in_names"}:
                self.error(section, term, "'plain' / 'accented' must be a table of context lists")
                return False, None
            rule = override
        lists: dict[str, list[str]] = {}
        for name in CTX_LISTS:
            if name not in rule:
                continue
            if not self._strings(section, term, rule[name]):
                return False, None
            words: list[str] = []
            for w in rule[name]:
                if w.startswith("@") and w != PROPER:
                    if w[1:] not in self.sets:
                        self.error(section, term, f"unknown set {w!r} in {name}")
                        return False, None
                    words.extend(self.sets[w[1:]])
                else:
                    words.append(w)
            lists[name] = words
        window = rule.get("window", 1)
        if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 5:
            self.error(section, term, f"bad window {window!r}: use a whole number from 1 to 5")
            return False, None
        in_names = rule.get("in_names", True)
        if not isinstance(in_names, bool):
            self.error(section, term, f"bad in_names {in_names!r}: use true or false")
            return False, None
        return True, (_Ctx(lists, window, plain, in_names) if lists or not in_names else None)

    def _negations(self, value: Any) -> None:
        """Compile negation words; each value is how many words after it the negation reaches."""
        seen: set[str] = set()
        for term, reach in self._table("negation", value).items():
            acc, plain = _phrase_keys(term)
            if not acc or acc in seen:
                self.error("negation", term, "empty term" if not acc else "duplicate term")
                continue
            if isinstance(reach, bool) or not isinstance(reach, int) or not 1 <= reach <= 10:
                self.error("negation", term, f"bad reach {reach!r}: use a whole number from 1 to 10")
                continue
            seen.add(acc)
            _add(self.main, True, acc, _Entry("negation", term, float(reach), None))
            _add(self.main, False, plain, _Entry("negation", term, float(reach), None))

    def _phrase_lists(self, section: str, value: Any, kinds: tuple[str, ...], index: _Index, chat: set[str]) -> None:
        """Compile plain phrase lists (calm, ignore, question, intents)."""
        for kind, phrases in self._table(section, value).items():
            if kind not in kinds:
                self.error(section, kind, f"unknown list (known: {', '.join(kinds)})")
                continue
            if not self._strings(section, kind, phrases):
                continue
            seen: set[str] = set()
            for phrase in phrases:
                acc, plain = _phrase_keys(phrase)
                if acc in seen:
                    self.error(section, kind, "duplicate term", item=phrase)
                    continue
                seen.add(acc)
                target = self.chat if kind in chat else index
                _add(target, True, acc, _Entry(kind, phrase, 1.0, None))
                _add(target, False, plain, _Entry(kind, phrase, 1.0, None))


def _add(index: _Index, accented: bool, key: str, entry: _Entry) -> None:
    """Put an entry in one form of an index."""
    root = children = index.acc if accented else index.plain
    node: _Node = []
    words = key.split(" ")
    for word in words:
        if children is None:
            children = node[1] = {}
        node = children.setdefault(word, [None, None, True])
        children = node[1]
    node[0] = [*(node[0] or ()), entry]
    node[2] = node[2] and entry.ctx is None
    if len(words) == 1:
        (index.acc_words if accented else index.plain_words)[key] = node
    else:
        (index.acc_pairs if accented else index.plain_pairs)[words[0], words[1]] = root[words[0]][1][words[1]]


def _d_variants(word: str) -> list[str]:
    """Return word with every mix of d and đ ("db" -> db, đb), as abbreviations get typed."""
    out = [""]
    for c in word:
        out = [w + x for w in out for x in (("d", "đ") if c == "d" else (c,))]
    return out


def _key_lines(source: str) -> dict[tuple[str, str | None], int]:
    """Map (section, key) to the line that defines it, for error messages."""
    out: dict[tuple[str, str | None], int] = {}
    section = ""
    for n, line in enumerate(source.splitlines(), 1):
        if m := _LINE_TAG.match(line):
            section = m.group(1).replace('"', "")
            out.setdefault((section, None), n)
        elif m := _LINE_KEY.match(line):
            raw = m.group(1)
            try:
                key = json.loads(raw) if raw.startswith('"') else raw.strip("'")
            except json.JSONDecodeError:
                key = raw
            out.setdefault((section, key), n)
    return out


def _hashtag_key(tag: str) -> str:
    """Return the comparable form of a hashtag: no '#', accents, '_' or '-'."""
    return _plain_key(_accent_key(tag.lstrip("#").lower())).replace("_", "").replace("-", "")


# --------------------------------------------------------------------------- matching

_Hit = tuple[int, int, list[_Entry]]  # words i .. i+n-1 matched these entries
_start, _size = itemgetter(0), itemgetter(1)
_label_of = itemgetter(0)  # of a (label, term) pair


def _find(index: _Index, msg: _Msg) -> list[_Hit]:
    """Return the matches in msg where no longer match hides them, in text order.

    One pass in text order over the words that are terms or start one. A walk from a word that
    starts a known pair of words decides the longest term there, one-word terms included. A match
    that overlaps the last longer one is hidden by it if shorter, and counts too if as long
    ("đồng bào dân tộc" / "dân tộc thiểu số"). A longer one would hide the last match, and could
    bring back what that one hid; a plain term that unaccented words of an accented message make
    may overlap anything: both are rare, and _find_all resolves them.
    """
    keys = msg.keys
    plain_hits = _plain_walks(index, msg) if msg.accented else None
    firsts: list[Any] = list(map((index.acc if msg.accented else index.plain).get, keys))
    count = len(keys)
    nexts = keys[1:]
    nexts.append("")  # after the last word: no term has an empty word
    found: list[_Hit] = []
    last: _Hit = (0, 0, [])  # the last match of two or more words
    end = 0  # where it ends
    for i in compress(range(count), firsts):
        node = firsts[i]
        children = node[1]
        if children is not None and (pair := children.get(nexts[i])) is not None:
            if pair[2] and pair[0] is not None and (pair[1] is None or i + 2 >= count or keys[i + 2] not in pair[1]):
                hit: _Hit | None = (i, 2, pair[0])  # a two-word term free of context and no longer one
            else:
                hit = _walk(msg, keys, node, i, count, False)
            if hit is None:
                continue
            if i >= end:
                found.append(hit)
                if hit[1] > 1:
                    last, end = hit, i + hit[1]
            elif i + hit[1] > end:  # overlaps the last match and goes further
                if hit[1] > last[1]:
                    return _find_all(index, msg)
                if not _hides(last, hit):
                    found.append(hit)
                    last, end = hit, i + hit[1]
            # else inside the last match, which is longer and hides it
        elif node[0] is not None and i >= end:
            if node[2]:  # free of context: the common case
                found.append((i, 1, node[0]))
            else:
                ok = _holding(node[0], msg, keys, i, 1)
                if ok:
                    found.append((i, 1, ok))
    if plain_hits:
        return _with_plain(found, plain_hits) or _find_all(index, msg)
    return found


def _with_plain(found: list[_Hit], plain_hits: list[_Hit]) -> list[_Hit] | None:
    """Return the matches and those of plain terms in text order; None when they need _longest.

    Most plain terms in an accented message are written the same in both forms ("gia rai"), so
    they match the same words as an accented term: two matches of the same length both count.
    """
    hits = sorted(found + plain_hits, key=_start)  # stable: the accented match comes first
    end, before = 0, hits[0]
    for hit in hits:
        if hit[0] < end and (
            hit[:2] != before[:2] or any(e.label == "ignore" for e in (*before[2], *hit[2]))
        ):
            return None
        end, before = max(end, hit[0] + hit[1]), hit
    return hits


def _plain_walks(index: _Index, msg: _Msg) -> list[_Hit]:
    """Return the terms of two or more words that unaccented words of an accented message make."""
    bare, keys, hits = msg.bare, msg.keys, []
    i = bare.find(b"\1\1")  # two unaccented words in a row
    while i >= 0:
        if (keys[i], keys[i + 1]) in index.plain_pairs:
            hit = _walk(msg, keys, index.plain[keys[i]], i, len(keys), True)
            if hit:
                hits.append(hit)
        i = bare.find(b"\1\1", i + 1)
    return hits


def _find_all(index: _Index, msg: _Msg) -> list[_Hit]:
    """Return the matches in msg where no longer match hides them, in text order, in any case."""
    keys = msg.keys
    count = len(keys)
    nodes: list[Any] = list(map((index.acc_words if msg.accented else index.plain_words).get, keys))
    found = _walks(index, msg, nodes) if count > 1 else []
    for i in compress(range(count), nodes):
        node = nodes[i]
        if node[2]:  # free of context: the common case
            found.append((i, 1, node[0]))
        else:
            ok = _holding(node[0], msg, keys, i, 1)
            if ok:
                found.append((i, 1, ok))
    found.sort(key=_start)  # stable: matches with the same start stay in the order found
    return found


def _walks(index: _Index, msg: _Msg, nodes: list[Any]) -> list[_Hit]:
    """Return the matches of the walks from the words that start a known pair of words.

    The walks decide the one-word terms of the words they start from and of the words their
    matches cover (a one-word match can never hide a longer one), so those words are cleared in
    nodes: the one-word pass then skips their look-ups and context checks.
    """
    keys = msg.keys
    count = len(keys)
    root, pairs = (index.acc, index.acc_pairs) if msg.accented else (index.plain, index.plain_pairs)
    longer: list[_Hit] = []  # matches of two or more words
    singles: list[_Hit] = []  # walks that fell back to their one-word term
    hit: _Hit | None
    end, ordered = 0, True  # the matches so far are in text order and do not overlap
    pair_nodes: list[Any] = list(map(pairs.get, pairwise(keys)))
    for i in compress(range(count - 1), pair_nodes):
        nodes[i] = None  # the walk from here tries the one-word term too
        pair = pair_nodes[i]
        if pair[2] and pair[0] is not None and (pair[1] is None or i + 2 >= count or keys[i + 2] not in pair[1]):
            hit = (i, 2, pair[0])  # a two-word term free of context and no longer one: inline
        else:
            hit = _walk(msg, keys, root[keys[i]], i, count, False)
            if hit is None:
                continue
            if hit[1] == 1:
                singles.append(hit)
                continue
        ordered = ordered and i >= end
        end = i + hit[1]
        longer.append(hit)
    if msg.accented:
        # Unaccented words typed inside an accented message ("... truyen dao ...") still match
        # terms of two or more words by their plain form (a bare word is its own plain form).
        bare, plain_pairs = msg.bare, index.plain_pairs
        for i in compress(range(count - 1), map(and_, bare, bare[1:])):
            if (keys[i], keys[i + 1]) in plain_pairs:
                hit = _walk(msg, keys, index.plain[keys[i]], i, count, True)
                if hit:
                    longer.append(hit)
                    ordered = False
    if not ordered:
        longer = _longest(longer, count)
    for i, n, _ in longer:
        nodes[i : i + n] = [None] * n
    if singles:  # rare: a longer match may hide them
        longer += [h for h in singles if not any(i <= h[0] < i + n for i, n, _ in longer)]
    return longer


def _longest(hits: list[_Hit], count: int) -> list[_Hit]:
    """Return the matches of two or more words that no longer one hides, in text order.

    A longer match hides a shorter one it overlaps; two of the same length ("giảng đạo" /
    "đạo lạ") both count unless one is an ignore phrase.
    """
    hits.sort(key=_start)
    if not _overlapping(hits):  # the common case: nothing to resolve
        return hits
    owner: list[_Hit | None] = [None] * count
    chosen: list[_Hit] = []
    for hit in sorted(hits, key=_size, reverse=True):  # stable: equal sizes keep text order
        i, n = hit[0], hit[1]
        if any(kept is not None and _hides(kept, hit) for kept in owner[i : i + n]):
            continue
        chosen.append(hit)
        owner[i : i + n] = [hit] * n
    chosen.sort(key=_start)
    return chosen


def _overlapping(hits: list[_Hit]) -> bool:
    """Tell whether any two of the hits, sorted by start, share a word."""
    end = 0
    for i, n, _ in hits:
        if i < end:
            return True
        end = max(end, i + n)
    return False


def _hides(kept: _Hit, hit: _Hit) -> bool:
    """Tell whether a kept match hides an overlapping one that is not longer."""
    return kept[1] > hit[1] or any(e.label == "ignore" for e in (*kept[2], *hit[2]))


def _walk(msg: _Msg, keys: list[str], node: _Node, i: int, count: int, hybrid: bool) -> _Hit | None:
    """Return the longest term starting at word i whose context holds, if any.

    ``hybrid``: walk the plain trie over bare words of an accented message; only terms of two or
    more words count, and their context is checked against the plain form of the message.
    """
    ends: list[tuple[int, _Node]] = []
    bare = msg.bare
    j = i
    while True:
        if node[0] is not None and (not hybrid or j > i):
            ends.append((j, node))
        j += 1
        children = node[1]
        if children is None or j >= count or (hybrid and not bare[j]):
            break
        node = children.get(keys[j])
        if node is None:
            break
    for j, node in reversed(ends):
        size = j - i + 1
        if node[2]:
            return (i, size, node[0])
        ctx_keys = msg.plain if hybrid else keys
        ok = _holding(node[0], msg, ctx_keys, i, size)
        if ok:
            return (i, size, ok)
    return None


def _holding(entries: list[_Entry], msg: _Msg, keys: list[str], i: int, n: int) -> list[_Entry]:
    """Return the entries whose context holds for words i .. i+n-1."""
    # Per message, loops beat comprehensions: in Python 3.11 each one builds and calls a function.
    ok = []
    for e in entries:
        if e.ctx is None or e.ctx.ok(msg, keys, i, n):
            ok.append(e)
    return ok


# --------------------------------------------------------------------------- the tagger


class Tagger:
    """Tag messages with a lexicon file that can be edited while the bot runs."""

    def __init__(self, lexicon_path: str | Path | None = None) -> None:
        self.path = Path(lexicon_path) if lexicon_path is not None else DEFAULT_LEXICON
        self.errors: list[str] = []  # errors of the last rejected edit, if any
        self._stamp = self._stat()
        lexicon, errors = _load(self.path)
        if lexicon is None:
            raise LexiconError(errors)
        self._lexicon = lexicon

    def _stat(self) -> tuple[int, int] | None:
        """Return the file's (mtime, size), or None when it cannot be read."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def reload_if_changed(self) -> list[str]:
        """Reload the lexicon if the file changed; return its errors (the old lexicon is kept)."""
        stamp = self._stat()
        if stamp == self._stamp:
            return []
        self._stamp = stamp  # a bad edit is reported once, not before every message
        lexicon, errors = _load(self.path)
        self.errors = errors
        if lexicon is not None:
            self._lexicon = lexicon
        return errors

    def tag(self, text: str) -> TagResult:
        """Tag one message."""
        lex = self._lexicon
        text = text or ""
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        forced: dict[str, list[Cue]] = {}
        if "#" in text:
            text, forced = _hashtags(text, lex.hashtags)
        msg = _Msg(text, lex)
        found = _score(msg, _find(lex.main, msg))
        if forced:
            found = {label: found.get(label, []) + forced.get(label, []) for label in _ORDER
                     if label in found or label in forced}
        if not found:
            return _chat(msg, lex.chat)
        labels = tuple(found)  # in label order, so "urgent" comes last
        urgent = labels[-1] == URGENT
        topics = labels[:-1] if urgent else labels
        return TagResult(topics, urgent, tuple(chain.from_iterable(found.values())), "report", None)


def _hashtags(text: str, known: dict[str, str]) -> tuple[str, dict[str, list[Cue]]]:
    """Return the text with known hashtags blanked out, and the cues they force."""
    forced: dict[str, list[Cue]] = {}

    def blank(m: re.Match[str]) -> str:
        key = _hashtag_key(m.group())
        label = known.get(key)
        if label is None:
            return m.group()
        forced.setdefault(label, []).append(Cue(label, "#" + key, m.group()))
        # Blanks keep the offsets of the other words; the hashtag is an instruction, not text.
        return " " * len(m.group())

    return _HASHTAG.sub(blank, text), forced


def _score(msg: _Msg, hits: list[_Hit]) -> dict[str, list[Cue]]:
    """Return the cues of every label whose weights reach the threshold, in label order."""
    kept: list[tuple[_Hit, _Entry]] = []
    negations: list[tuple[int, float]] = []  # (first word after the negation, reach)
    calm: list[_Hit] = []
    weights: dict[tuple[str, str], float] = {}  # a term counts once however often it occurs
    for hit in hits:  # in text order, so a negation is known before the words it negates
        for e in hit[2]:
            if e.label in LABELS_VI:
                kept.append((hit, e))
                weights[e.key] = e.weight
            elif e.label == "negation":
                negations.append((hit[0] + hit[1], e.weight))
            elif e.label == "calm":
                calm.append(hit)
    if negations or calm:
        scored, kept, weights = kept, [], {}
        for hit, e in scored:
            if e.label != URGENT or not _cancelled(msg, hit[0], e, negations, calm):
                kept.append((hit, e))
                weights[e.key] = e.weight
    if not weights:
        return {}
    labels: set[str]
    totals: Collection[str]  # every label with a term
    if min(weights.values()) >= THRESHOLD - 1e-9:
        labels = totals = set(map(_label_of, weights))  # every term suffices alone: the common case
    else:
        sums: dict[str, float] = {}
        for (label, _), weight in weights.items():  # in the same order as ever: float sums must not move
            sums[label] = sums.get(label, 0.0) + weight
        labels, totals = set(), sums
        for label, total in sums.items():
            if total >= THRESHOLD - 1e-9:
                labels.add(label)
    if labels.isdisjoint(TOPICS):
        # A report with no topic of its own that is urgent, or that says all is calm while it
        # speaks of people ("đông người, trật tự tốt"), is about the situation of the people.
        twins: list[tuple[_Hit, _Entry]] = []
        if URGENT in labels:
            for hit, e in kept:
                if e.twin is not None:  # an urgent term
                    twins.append((hit, e.twin))
        elif calm and "nhan_dan" in totals:
            for hit in calm:
                for e in hit[2]:
                    if e.twin is not None and e.label == "calm":
                        twins.append((hit, e.twin))
        if twins:
            kept += twins
            labels.add("nhan_dan")
    found: dict[str, list[Cue]] = {}  # in label order
    for label in _ORDER:
        if label in labels:
            found[label] = []
    text, src = msg.text, msg.src
    typed, pos = msg.spans()
    span, spanned = "", None
    for hit, e in kept:
        cues = found.get(e.label)
        if cues is None:
            continue
        if hit is not spanned:  # an incident term is a cue of two labels: one span serves both
            first, last = hit[0], hit[0] + hit[1] - 1
            if src is not None:
                first, last = src[first], src[last]
            if pos is None:
                span = typed[first] if first == last else " ".join(typed[first : last + 1])
            else:
                span = text[pos[first] : pos[last] + len(typed[last])]
            spanned = hit
        cues.append(e.cues.get(span) or e.cue(span))
    return found


def _cancelled(msg: _Msg, at: int, entry: _Entry, negations: list[tuple[int, float]], calm: list[_Hit]) -> bool:
    """Tell whether an urgent term is cancelled: weak next to a calm phrase, or negated."""
    return bool(calm and entry.weight < 1) or _negated(msg, at, negations)


def _negated(msg: _Msg, at: int, negations: list[tuple[int, float]]) -> bool:
    """Tell whether a negation shortly before word at, in the same clause, cancels it."""
    for end, reach in negations:
        if end <= at and at - end < reach and msg.same_clause(end - 1, at):
            return True
    return False


def _chat(msg: _Msg, chat: _Index) -> TagResult:
    """Classify a message without topics as a question or chatter, with the intent if known."""
    found = set()
    for hit in _find(chat, msg):
        for e in hit[2]:
            found.add(e.label)
    question = "question" in found or msg.text.rstrip(" .!)\t\n").endswith("?")
    intent = None
    for name in INTENTS:
        if name in found:
            intent = name
            break
    return TagResult((), False, (), "question" if question else "chatter", intent)


def tag_jsonl(lines: Iterable[str], tagger: Tagger) -> Iterator[str]:
    """Tag {"text": ...} lines, yielding one JSON line per input line in the same order."""
    for n, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield _json({"error": f"line {n}: not JSON ({exc.msg})"})
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            yield _json({"error": f'line {n}: expected an object with a "text" string'})
            continue
        result = tagger.tag(record["text"])
        yield _json({"topics": list(result.topics), "urgent": result.urgent, "reasons": result.reasons})


def _json(obj: dict[str, Any]) -> str:
    """Return one compact JSON line that keeps Vietnamese readable."""
    return json.dumps(obj, ensure_ascii=False)
