"""The digest as a short chat summary (Telegram HTML), split into messages that fit the channel."""

from __future__ import annotations

from datetime import timedelta

from bot import texts
from bot.digest.model import TOPICS, Digest
from bot.zalo.text import utf16_len

TELEGRAM_LIMIT = 4096
ZALO_LIMIT = 2000
LIMITS = {"telegram": TELEGRAM_LIMIT, "zalo": ZALO_LIMIT}
TOP_UNITS = 10
TOP_URGENT = 5
TOP_THEMES = 3
TOP_ANSWERS = 5
TOP_MISSING = 15
SNIPPET = 120


def snippet(text: str, size: int = SNIPPET) -> str:
    """Return the text on one line, cut to size with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= size else flat[: size - 1] + "…"


def sections(d: Digest) -> list[list[str]]:
    """Return the summary as sections of lines; a message is never split inside a line."""
    tz = d.period.end.tzinfo
    head = [
        texts.digest_title(d.period.label, d.scope.name),
        texts.e(texts.window_line(d.window_start, d.window_end - timedelta(days=1), d.cumulative,
                                  d.generated_at.astimezone(tz) if d.in_progress else None)),
    ]
    out = [head, _overview(d)]
    if not d.empty:
        out += [_topics(d), _units(d), _urgent(d), _themes(d)]
    out += [_compliance(d), _kien_nghi(d), [texts.DIGEST_FILES_NOTE]]
    return out


def _overview(d: Digest) -> list[str]:
    t = d.totals
    lines = [texts.heading(texts.DIGEST_SECTIONS["overview"])]
    if d.empty:
        return [*lines, texts.DIGEST_EMPTY]
    last_year = texts.quarter_name(d.last_year.quarter, d.last_year.year) if not d.cumulative else d.last_year.label
    previous = texts.quarter_name(d.previous.quarter, d.previous.year)
    lines += [
        texts.overview_reports(t.current.reports, t.last_year.reports, last_year),
        texts.overview_quarter(d.period.quarter, d.period.year, t.quarter.reports, t.previous.reports, previous,
                               d.cumulative),
        texts.overview_people(d.reporters, d.units_reporting, d.units_expected),
        texts.overview_urgent(t.current.urgent, d.urgent_status),
    ]
    if d.withdrawn:
        lines.append(texts.overview_withdrawn(d.withdrawn))
    return lines


def _topics(d: Digest) -> list[str]:
    t = d.totals
    lines = [texts.heading(texts.DIGEST_SECTIONS["topics"])]
    for topic in TOPICS:
        lines.append(texts.topic_line(
            texts.topic_short(topic), t.current.topic(topic), t.last_year.topic(topic),
            t.quarter.topic(topic), t.previous.topic(topic),
        ))
    if t.current.untagged:
        lines.append(texts.topic_line(texts.DIGEST_UNTAGGED, t.current.untagged, t.last_year.untagged))
    return lines


def _units(d: Digest) -> list[str]:
    lines = [texts.heading(texts.DIGEST_SECTIONS["units"])]
    shown = [u for u in d.top if u.tally.current.reports][:TOP_UNITS]
    for rank, u in enumerate(shown, start=1):
        cur = u.tally.current
        lines.append(texts.unit_line(rank, u.name, cur.reports, cur.urgent, u.tally.last_year.reports))
    rest = sum(1 for u in d.top if u.tally.current.reports) - len(shown)
    if rest > 0:
        lines.append(texts.more_units(rest))
    return lines


def _urgent(d: Digest) -> list[str]:
    total = d.totals.current.urgent
    lines = [texts.urgent_heading(total)]
    if not total:
        return [*lines, texts.DIGEST_NO_URGENT]
    tz = d.period.end.tzinfo
    for item in d.urgent[:TOP_URGENT]:
        lines.append(texts.urgent_line(
            item.id, item.created_at.astimezone(tz).strftime("%d/%m"), item.unit_path, item.status,
            item.acknowledged_by, snippet(item.text, 90),
        ))
    if total > TOP_URGENT:
        lines.append(texts.more_urgent(total - min(TOP_URGENT, len(d.urgent))))
    return lines


def _themes(d: Digest) -> list[str]:
    lines = [texts.heading(texts.DIGEST_SECTIONS["themes"])]
    for topic in TOPICS:
        items = [(th.term, th.count, th.previous) for th in d.themes[topic][:TOP_THEMES]]
        if items:
            lines.append(texts.themes_line(topic, items))
    return lines if len(lines) > 1 else [*lines, texts.DIGEST_NO_THEMES]


def _compliance(d: Digest) -> list[str]:
    c = d.compliance
    lines = [
        texts.compliance_heading(d.period.quarter, d.period.year),
        texts.compliance_counts(c.count("on_time"), c.count("late"), c.count("missing")),
    ]
    missing = c.names("missing")
    if missing:
        lines.append(texts.name_list(texts.COMPLIANCE_LABELS["missing"], missing, TOP_MISSING))
    if c.no_reporters:
        lines.append(texts.no_reporters(len(c.no_reporters)))
    return lines


def _kien_nghi(d: Digest) -> list[str]:
    lines = [texts.heading(texts.DIGEST_SECTIONS["kien_nghi"])]
    if not d.kien_nghi:
        return [*lines, texts.DIGEST_NO_KIEN_NGHI]
    lines += [texts.answer_line(a.unit_name, snippet(a.text, 200)) for a in d.kien_nghi[:TOP_ANSWERS]]
    if len(d.kien_nghi) > TOP_ANSWERS:
        lines.append(texts.e(texts.DOCX_MORE))
    return lines


def render_text(d: Digest, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Return the summary as messages of at most ``limit`` UTF-16 units, cut between sections or lines."""
    return pack(["\n".join(s) for s in sections(d)], limit)


def pack(blocks: list[str], limit: int) -> list[str]:
    """Join blocks with blank lines into as few chunks as fit; split an oversized block by lines."""
    chunks: list[str] = []
    current = ""
    for block in blocks:
        for piece in _fit(block, limit):
            joined = f"{current}\n\n{piece}" if current else piece
            if utf16_len(joined) <= limit:
                current = joined
            else:
                chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks


def _fit(block: str, limit: int) -> list[str]:
    """Split a block into pieces of whole lines that fit (a single overlong line is cut)."""
    if utf16_len(block) <= limit:
        return [block]
    pieces: list[str] = []
    current = ""
    for line in block.split("\n"):
        while utf16_len(line) > limit:  # never happens with the catalogue's short lines; a safety net
            pieces.append(line[: limit // 2])
            line = line[limit // 2 :]
        joined = f"{current}\n{line}" if current else line
        if utf16_len(joined) <= limit:
            current = joined
        else:
            pieces.append(current)
            current = line
    if current:
        pieces.append(current)
    return pieces
