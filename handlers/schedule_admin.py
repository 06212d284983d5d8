"""`/lich`: admins see and change the reporting schedule, or run a job now."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

from bot import texts
from bot.periods import ScheduleConfig
from bot.roles import ADMIN
from bot.textnorm import fold
from handlers.context import Ctx
from handlers.registry import command
from handlers.types import Reply, Result

DAY_FIELDS = {"prompt": "prompt_day", "reminder": "reminder_day",
              "escalation": "escalation_days_after", "digest": "digest_days_after"}
TIME_FIELDS = {"prompt": "prompt_time", "reminder": "reminder_time",
               "escalation": "escalation_time", "digest": "digest_time"}


def _describe(cfg: ScheduleConfig) -> list[str]:
    return [
        texts.schedule_line("prompt", texts.schedule_day_of_month(cfg.prompt_day, f"{cfg.prompt_time:%H:%M}")),
        texts.schedule_line("reminder", texts.schedule_day_of_month(cfg.reminder_day, f"{cfg.reminder_time:%H:%M}")),
        texts.schedule_line(
            "escalation", texts.schedule_days_after(cfg.escalation_days_after, f"{cfg.escalation_time:%H:%M}")
        ),
        texts.schedule_line("digest", texts.schedule_days_after(cfg.digest_days_after, f"{cfg.digest_time:%H:%M}")),
    ]


@command("lich", roles=frozenset({ADMIN}))
async def handle_schedule(ctx: Ctx) -> Result:
    """Show the schedule; `/lich nhac 12 08:00` changes a job; `/lich chay nhac` runs it now."""
    scheduling = ctx.services.scheduling
    words = ctx.msg.args.split()
    if words and fold(words[0]) == "chay":
        return await _run_now(ctx, words[1:])
    if len(words) >= 2:
        return await _change(ctx, words)
    calendar = await scheduling.calendar(ctx.uow)
    tz = ctx.services.settings.tz
    upcoming = [
        f"{at.astimezone(tz):%H:%M %d/%m/%Y} – {texts.JOB_LABELS[job]} ({period.label})"
        for job, period, at in calendar.next_runs(ctx.now, 6)
    ]
    return Result([Reply(texts.schedule_view(_describe(calendar.schedule), upcoming))])


async def _change(ctx: Ctx, words: list[str]) -> Result:
    job = texts.JOB_WORDS.get(fold(words[0]))
    if job is None or not words[1].isdigit():
        return Result([Reply(texts.schedule_invalid(texts.SCHEDULE_BAD_SYNTAX))])
    scheduling = ctx.services.scheduling
    calendar = await scheduling.calendar(ctx.uow)
    changes: dict[str, object] = {DAY_FIELDS[job]: int(words[1])}
    if len(words) > 2:
        try:
            hour, minute = (int(x) for x in words[2].replace("h", ":").split(":")[:2])
            changes[TIME_FIELDS[job]] = time(hour, minute)
        except ValueError:
            return Result([Reply(texts.schedule_invalid(texts.SCHEDULE_BAD_TIME))])
    try:
        config = replace(calendar.schedule, **changes)  # type: ignore[arg-type]
        await scheduling.save_schedule(ctx.uow, config, ctx.now, ctx.person.id if ctx.person else None)
    except ValueError as exc:
        return Result([Reply(texts.schedule_invalid(str(exc)))])
    await ctx.uow.audit.add("schedule.change", actor=ctx.actor, actor_id=ctx.person.id if ctx.person else None,
                            at=ctx.now, details={"job": job, **{k: str(v) for k, v in changes.items()}})
    return Result([Reply(texts.schedule_changed(job))])


async def _run_now(ctx: Ctx, words: list[str]) -> Result:
    job = texts.JOB_WORDS.get(fold(words[0])) if words else None
    if job is None:
        return Result([Reply(texts.schedule_invalid(texts.SCHEDULE_PICK_JOB))])
    calendar = ctx.services.calendar
    try:
        period = calendar.period(words[1]) if len(words) > 1 else calendar.period_containing(ctx.now)
    except ValueError:
        return Result([Reply(texts.schedule_invalid(texts.SCHEDULE_BAD_PERIOD))])
    # Runs in this handler's transaction; the outbox's unique keys keep anyone from getting it twice.
    queued = await ctx.services.scheduling.run_in(ctx.uow, job, period, ctx.now)
    await ctx.uow.audit.add("schedule.run", actor=ctx.actor, actor_id=ctx.person.id if ctx.person else None,
                            at=ctx.now, details={"job": job, "period": period.key, "queued": queued})
    return Result([Reply(texts.job_ran(job, period.label, queued))])
