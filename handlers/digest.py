"""/tonghop: the digest of a period for the officer's subtree (summary, chart, Word draft, workbook)."""

from __future__ import annotations

import re
from datetime import datetime

from bot import texts
from bot.digest.service import DigestService
from bot.periods import MAX_YEAR, Calendar, Period
from handlers.context import Ctx
from handlers.registry import STAFF, command
from handlers.types import Reply, Result
from storage.models import Unit

KEY_RE = re.compile(r"[0-9]{4}-[Qq][1-4]")
YEAR_RE = re.compile(r"[0-9]{4}")
MIN_YEAR = 2000


def _calendar(ctx: Ctx) -> Calendar:
    cal = ctx.services.calendar
    if cal is None:
        s = ctx.services.settings
        cal = Calendar(cutoff_day=s.period_cutoff_day, tz=s.timezone)
    return cal


def _kind_known(cal: Calendar, kind: str, now: datetime) -> bool:
    """Tell whether the calendar understands a period kind ("quy", "6 tháng", ...)."""
    try:
        cal.parse_user_period(kind, MIN_YEAR, now)  # every period of that year has started
    except ValueError:
        return False
    return True


def parse_args(cal: Calendar, args: str, now: datetime, unit_words: set[str]) -> tuple[Period, str | None] | str:
    """Return (period, unit word) from "/tonghop [kind] [year] [unit]", or the text explaining the problem."""
    # unit_words: the upper-cased words that name a unit, for the optional last argument.
    words = args.split()
    key = next((w for w in words if KEY_RE.fullmatch(w)), None)
    years = [w for w in words if YEAR_RE.fullmatch(w)]
    rest = [w for w in words if w != key and w not in years]
    if len(years) > 1 or (key and years):
        return texts.TONGHOP_USAGE
    unit_code = None
    if rest and rest[-1].upper() in unit_words and not _kind_known(cal, " ".join(rest), now):
        unit_code = rest.pop().upper()
    kind = " ".join(rest)
    if key is not None:
        if rest:
            return texts.tonghop_bad_kind(kind)
        period = cal.period(key)
        return (period, unit_code) if period.cumulative_start <= now else texts.tonghop_future(period.label)
    if not _kind_known(cal, kind, now):
        return texts.tonghop_bad_kind(kind)
    year = int(years[0]) if years else None
    if year is not None and not MIN_YEAR <= year <= MAX_YEAR - 1:
        return texts.tonghop_bad_year(years[0])
    try:
        return cal.parse_user_period(kind, year, now), unit_code
    except ValueError:
        # Not started yet: name the period the person asked for, as of the start of that year.
        first = cal.period_of(year or now.year, 1).start
        return texts.tonghop_future(cal.parse_user_period(kind, year, first).label)


async def _units_named(ctx: Ctx, words: list[str]) -> dict[str, Unit]:
    """Return the units whose code is one of the words (as typed or in capitals), by upper-cased word."""
    found: dict[str, Unit] = {}
    for word in words:
        unit = await ctx.uow.units.by_code(word) or await ctx.uow.units.by_code(word.upper())
        if unit is not None:
            found[word.upper()] = unit
    return found


@command("tonghop", roles=STAFF)
async def handle_digest(ctx: Ctx) -> Result:
    """Send the digest of a period for the officer's subtree (or a unit in it)."""
    assert ctx.person is not None
    cal = _calendar(ctx)
    own = await ctx.uow.units.get(ctx.person.unit_id) if ctx.person.unit_id else None
    if own is None and ctx.person.role != "admin":
        return Result([Reply(texts.TONGHOP_NO_UNIT)])
    named = await _units_named(ctx, ctx.msg.args.split()[-1:])
    parsed = parse_args(cal, ctx.msg.args, ctx.now, set(named))
    if isinstance(parsed, str):
        return Result([Reply(parsed)])
    period, word = parsed
    unit: Unit | None = own
    if word is not None:
        unit = named[word]
        if own is not None and not ctx.uow.units.contains(own, unit):
            return Result([Reply(texts.OUT_OF_SCOPE)])
    service = ctx.services.digests or DigestService(None, cal, ctx.services.settings)
    replies = await service.replies_for(ctx.uow, ctx.person, period, ctx.msg.channel, unit=unit, now=ctx.now)
    return Result(replies)
