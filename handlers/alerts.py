"""Urgent alerts to the officers above a report's unit, and the shared report views."""

from __future__ import annotations

from datetime import datetime

from bot import texts
from handlers.context import Ctx
from handlers.types import Button, Reply
from storage.models import Report, Unit
from storage.repos.reports import TOPIC_COLUMNS

SNIPPET = 90


def topics_of(report: Report) -> list[str]:
    return [t for t in TOPIC_COLUMNS if getattr(report, t)]


def local_time(ctx: Ctx, moment: datetime) -> str:
    return moment.astimezone(ctx.services.settings.tz).strftime("%H:%M %d/%m/%Y")


def snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1] + "…"


async def officers_above(ctx: Ctx, unit: Unit) -> list[int]:
    """Return the ids of the officers (and admins) of the unit and every unit above it."""
    ancestor_ids = [u.id for u in await ctx.uow.units.ancestors(unit)]
    return [p.id for p in await ctx.uow.people.officers_of(ancestor_ids)]


async def alert_replies(ctx: Ctx, report: Report) -> list[Reply]:
    """Build the urgent alert for every officer above the report's unit (not the author)."""
    unit = await ctx.uow.units.get(report.unit_id)
    author = await ctx.uow.people.get(report.person_id)
    if unit is None or author is None:
        return []
    text = texts.urgent_alert(
        report.id, await ctx.uow.units.path_names(unit), author.name, local_time(ctx, report.created_at),
        report.text, topics_of(report),
    )
    buttons = [[Button(texts.BUTTON_ACK, f"ack:{report.id}"), Button(texts.BUTTON_DETAIL, f"bc:{report.id}")]]
    return [
        Reply(text, buttons=buttons, to_person_id=pid, dedupe=f"alert:{report.id}:{pid}")
        for pid in await officers_above(ctx, unit)
        if pid != report.person_id
    ]
