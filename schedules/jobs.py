"""The scheduled jobs. Each is a module-level function of plain values that queues outbox rows.

A row's dedupe key names the job, the period and the recipient, so a job that fires twice, or is
re-run after a crash, queues nobody twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import texts
from bot.outbox import queue_to_person
from bot.periods import Calendar, Period
from handlers.types import Button, Reply
from storage.models import Person, Unit
from storage.uow import UnitOfWork

PROMPT_PRIORITY = 3
NOTICE_PRIORITY = 2


@dataclass
class JobEnv:
    """What jobs need; built once by the composition root."""

    session_factory: Any
    calendar: Calendar
    digests: Any = None  # DigestService, when available
    digest_to_all_officers: bool = True


def deadline_text(period: Period) -> str:
    return (period.deadline - timedelta(microseconds=1)).strftime("%d/%m/%Y")


def start_button(period: Period) -> list[list[Button]]:
    return [[Button(texts.BUTTON_START_PERIODIC, f"pr:start:{period.key}")]]


async def _queue(uow: UnitOfWork, person: Person, reply: Reply, job: str, period: Period, now: datetime) -> int:
    return int(await queue_to_person(uow, person, reply, dedupe=f"job:{job}:{period.key}:{person.id}", kind=job, now=now))


async def prompt(env: JobEnv, uow: UnitOfWork, period: Period, now: datetime) -> int:
    """Ask every reporter to start the guided periodic report."""
    reply = Reply(texts.prompt_message(period.label, deadline_text(period)), buttons=start_button(period),
                  priority=PROMPT_PRIORITY)
    return sum([await _queue(uow, p, reply, "prompt", period, now) for p in await uow.people.in_units(role="reporter")])


async def reminder(env: JobEnv, uow: UnitOfWork, period: Period, now: datetime) -> int:
    """Remind the reporters whose unit has not submitted yet."""
    done = await uow.periodic.submitted_unit_ids(period.key)
    reply = Reply(texts.reminder_message(period.label, deadline_text(period)), buttons=start_button(period),
                  priority=PROMPT_PRIORITY)
    people = [p for p in await uow.people.in_units(role="reporter") if p.unit_id not in done]
    return sum([await _queue(uow, p, reply, "reminder", period, now) for p in people])


async def missing_units(uow: UnitOfWork, period: Period, scope: Unit | None) -> tuple[list[Unit], int]:
    """Return the units of a subtree expected to report that have not, and how many were expected."""
    expected = await uow.periodic.reporting_unit_ids()
    done = await uow.periodic.submitted_unit_ids(period.key)
    units = [u for u in await uow.units.by_ids(expected) if scope is None or u.path.startswith(scope.path)]
    return [u for u in units if u.id not in done], len(units)


async def escalation(env: JobEnv, uow: UnitOfWork, period: Period, now: datetime) -> int:
    """Tell each officer which units in their subtree have not submitted."""
    queued = 0
    for officer in await uow.people.in_units(role="officer"):
        scope = await uow.units.get(officer.unit_id) if officer.unit_id else None
        if scope is None:
            continue
        missing, expected = await missing_units(uow, period, scope)
        if expected == 0:
            continue
        names = sorted([await uow.units.path_names(u) for u in missing])
        reply = Reply(texts.escalation_message(period.label, names, expected), priority=NOTICE_PRIORITY)
        queued += await _queue(uow, officer, reply, "escalation", period, now)
    return queued


async def digest(env: JobEnv, uow: UnitOfWork, period: Period, now: datetime) -> int:
    """Deliver the period digest to the provincial office (and every officer for their subtree)."""
    if env.digests is None:
        return 0
    queued = 0
    for officer in await uow.people.in_units(role="officer"):
        unit = await uow.units.get(officer.unit_id) if officer.unit_id else None
        if unit is None or (unit.parent_id is not None and not env.digest_to_all_officers):
            continue
        ident = await uow.people.delivery_identity(officer)
        if ident is None:
            continue
        replies = await env.digests.replies_for(uow, officer, period, ident.channel, now=now, shared=True)
        for n, reply in enumerate(replies):
            reply.priority = NOTICE_PRIORITY
            queued += int(await queue_to_person(
                uow, officer, reply, dedupe=f"job:digest:{period.key}:{officer.id}:{n}", kind="digest", now=now
            ))
    return queued


JOBS: dict[str, Callable[[JobEnv, UnitOfWork, Period, datetime], Awaitable[int]]] = {
    "prompt": prompt,
    "reminder": reminder,
    "escalation": escalation,
    "digest": digest,
}
