"""Decide which jobs are due, run them once, catch up after downtime, and tick with APScheduler.

What is due comes from the reporting calendar and the job-run log, not from APScheduler's job store:
the scheduler only wakes ``run_due`` every minute. A restart or a double fire therefore never sends
twice, and schedule changes made in chat apply at the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot import texts
from bot.clock import Clock
from bot.outbox import queue_to_person
from bot.periods import Calendar, Period, ScheduleConfig
from handlers.types import Reply
from schedules.jobs import JOBS, JobEnv
from storage.locks import release_advisory_lock, try_advisory_lock
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
SCHEDULE_KEY = "schedule"
EPOCH_KEY = "scheduler_epoch"
LOOKBACK = timedelta(days=400)
ADVISORY_LOCK_ID = 730_114_2026  # any constant shared by every instance of this service


@dataclass
class RunOutcome:
    job: str
    period_key: str
    due_at: datetime
    status: str  # done | missed | skipped
    queued: int = 0


@dataclass
class Scheduling:
    """The calendar with the schedule stored in the database, plus the catch-up grace window."""

    env: JobEnv
    clock: Clock
    grace: timedelta = timedelta(days=3)
    on_queued: Callable[[], None] | None = None
    extra_ticks: list[Callable[[datetime], Any]] = field(default_factory=list)

    async def calendar(self, uow: UnitOfWork) -> Calendar:
        """Return the base calendar with the admins' schedule applied."""
        stored = await uow.settings.get(SCHEDULE_KEY)
        base = self.env.calendar
        if not stored:
            return base
        return Calendar(cutoff_day=base.cutoff_day, tz=base.tz_name, deadline_day=base.deadline_day,
                        schedule=ScheduleConfig.from_dict(stored))

    async def save_schedule(self, uow: UnitOfWork, config: ScheduleConfig, now: datetime, by: int | None) -> None:
        """Store a new schedule after checking it against the calendar; raise ValueError when invalid."""
        base = self.env.calendar
        Calendar(cutoff_day=base.cutoff_day, tz=base.tz_name, deadline_day=base.deadline_day, schedule=config)
        await uow.settings.put(SCHEDULE_KEY, dict(config.to_dict()), now, by)

    async def run_due(self, now: datetime | None = None) -> list[RunOutcome]:
        """Run every job due up to ``now`` that has not run; record too-late ones as missed and tell admins."""
        now = now or self.clock.now()
        async with UnitOfWork(self.env.session_factory) as uow:
            calendar = await self.calendar(uow)
            epoch_raw = await uow.settings.put_if_absent(EPOCH_KEY, {"at": (now - self.grace).isoformat()}, now)
            await uow.commit()
        start = max(datetime.fromisoformat(epoch_raw["at"]), now - LOOKBACK)
        outcomes = []
        for job, period, due in calendar.due_between(start - timedelta(microseconds=1), now):
            outcome = await self._run_one(job, period, due, now, late=now - due > self.grace)
            if outcome is not None:
                outcomes.append(outcome)
        if any(o.queued for o in outcomes) and self.on_queued:
            self.on_queued()
        return outcomes

    async def _run_one(self, job: str, period: Period, due: datetime, now: datetime, *, late: bool) -> RunOutcome | None:
        async with UnitOfWork(self.env.session_factory) as uow:
            existing = await uow.job_runs.get(job, period.key)
            if existing is not None and existing.status != "running":
                return None
            if late and existing is None:
                await uow.job_runs.mark_missed(job, period.key, due, now)
                await self._tell_admins_missed(uow, job, period, due, now)
                await uow.commit()
                log.warning("job %s for %s was missed (due %s)", job, period.key, due.isoformat())
                return RunOutcome(job, period.key, due, "missed")
            run = await uow.job_runs.claim(job, period.key, due, now)
            if run is None:
                return None
            await uow.commit()
        queued = await self.execute(job, period, now)
        async with UnitOfWork(self.env.session_factory) as uow:
            run = await uow.job_runs.get(job, period.key)
            if run is not None:
                await uow.job_runs.finish(run, queued, now)
                await uow.commit()
        log.info("job %s for %s queued %d messages", job, period.key, queued)
        return RunOutcome(job, period.key, due, "done", queued)

    async def execute(self, job: str, period: Period, now: datetime) -> int:
        """Run one job body in its own transaction; return how many messages it queued."""
        async with UnitOfWork(self.env.session_factory) as uow:
            queued = await JOBS[job](self.env, uow, period, now)
            await uow.commit()
        if queued and self.on_queued:
            self.on_queued()
        return queued

    async def run_in(self, uow: UnitOfWork, job: str, period: Period, now: datetime) -> int:
        """Run a job body inside the caller's transaction (an admin's "run now")."""
        return await JOBS[job](self.env, uow, period, now)

    async def _tell_admins_missed(self, uow: UnitOfWork, job: str, period: Period, due: datetime, now: datetime) -> None:
        when = due.astimezone(self.env.calendar.tz).strftime("%H:%M %d/%m/%Y")
        reply = Reply(texts.missed_job(job, period.label, when), priority=1)
        for admin in await uow.people.admins():
            await queue_to_person(uow, admin, reply, dedupe=f"missed:{job}:{period.key}:{admin.id}", kind="system", now=now)

    async def next_runs(self, now: datetime, n: int = 8) -> list[tuple[str, Period, datetime]]:
        async with UnitOfWork(self.env.session_factory) as uow:
            calendar = await self.calendar(uow)
        return calendar.next_runs(now, n)


class SchedulerService:
    """Tick ``run_due`` every minute with APScheduler; on PostgreSQL only the lock holder ticks."""

    def __init__(self, scheduling: Scheduling, engine: Any, tz: Any, *, retry_seconds: float = 15.0) -> None:
        self.scheduling = scheduling
        self.retry_seconds = retry_seconds
        self.engine = engine
        self.scheduler = AsyncIOScheduler(timezone=tz)
        self._lock_conn: Any = None
        self._leader = False
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.scheduler.add_job(
            self._tick, CronTrigger(second=0), id="tick", replace_existing=True, max_instances=1, coalesce=True,
            misfire_grace_time=50,
        )
        self.scheduler.start()
        self._watch = asyncio.create_task(self._become_leader(), name="scheduler-leader")

    async def _become_leader(self) -> None:
        """Take the advisory lock (PostgreSQL); a passive instance retries and takes over if the holder dies."""
        while not self._leader:
            self._leader = await self._try_lock()
            if self._leader:
                log.info("this instance runs the scheduler")
                await self._tick()  # catch up at once after a start or a takeover
                return
            await asyncio.sleep(self.retry_seconds)

    async def _try_lock(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True  # SQLite: a single process by design
        self._lock_conn = await try_advisory_lock(self.engine, ADVISORY_LOCK_ID)  # held while it is open
        return self._lock_conn is not None

    @property
    def is_leader(self) -> bool:
        return self._leader

    async def _tick(self) -> None:
        if not self._leader:
            return
        try:
            await self.scheduling.run_due()
            now = self.scheduling.clock.now()
            for extra in self.scheduling.extra_ticks:
                result = extra(now)
                if asyncio.iscoroutine(result):
                    await result
        except Exception:  # noqa: BLE001 - one failed tick must not stop the next
            log.exception("scheduler tick failed")

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._watch is not None:
            self._watch.cancel()
        if self._lock_conn is not None:
            await release_advisory_lock(self._lock_conn, ADVISORY_LOCK_ID)
            self._lock_conn = None
        self._leader = False
