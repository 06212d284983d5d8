"""Urgent alerts to the officers above a report's unit, and the shared report views."""

from __future__ import annotations

from datetime import datetime

from bot import texts
from handlers.context import Ctx
from handlers.types import Button, Reply
from storage.models import Report, Unit
from storage.repos.reports import TOPIC_COLUMNS
from storage.repos.units import path_label

SNIPPET = 90


def topics_of(report: Report) -> list[str]:
    return [t for t in TOPIC_COLUMNS if getattr(report, t)]


def local_time(ctx: Ctx, moment: datetime) -> str:
    return moment.astimezone(ctx.services.settings.tz).strftime("%H:%M %d/%m/%Y")


def snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1] + "…"


async def officers_above(ctx: Ctx, unit: Unit, chain: list[Unit] | None = None) -> list[int]:
    """Return the ids of the officers (and admins) of the unit and every unit above it.

    ``chain``: the unit's ancestors, when the caller has them already.
    """
    chain = chain if chain is not None else await ctx.uow.units.ancestors(unit)
    return [p.id for p in await ctx.uow.people.officers_of([u.id for u in chain])]


async def alert_replies(ctx: Ctx, report: Report) -> list[Reply]:
    """Build the urgent alert for every officer above the report's unit (not the author)."""
    unit = await ctx.uow.units.get(report.unit_id)
    author = await ctx.uow.people.get(report.person_id)
    if unit is None or author is None:
        return []
    chain = await ctx.uow.units.ancestors(unit)
    text = texts.urgent_alert(
        report.id, path_label(chain), author.name, local_time(ctx, report.created_at),
        report.text, topics_of(report),
    )
    buttons = [[Button(texts.BUTTON_ACK, f"ack:{report.id}"), Button(texts.BUTTON_DETAIL, f"bc:{report.id}")]]
    return [
        Reply(text, buttons=buttons, to_person_id=pid, dedupe=f"alert:{report.id}:{pid}")
        for pid in await officers_above(ctx, unit, chain)
        if pid != report.person_id
    ]
