"""Periodic reports, the job-run log and run-time settings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import JobRun, PeriodicReport, Person, SettingValue
from storage.repos.base import insert_ignore


class PeriodicRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def submit(
        self, *, unit_id: int, period_key: str, person_id: int, answers: dict[str, Any], at: datetime, late: bool
    ) -> PeriodicReport:
        """Store a submission; it becomes the one that counts, earlier ones stay as history."""
        await self.session.execute(
            update(PeriodicReport)
            .where(PeriodicReport.unit_id == unit_id, PeriodicReport.period_key == period_key)
            .values(current=False)
        )
        row = PeriodicReport(
            unit_id=unit_id, period_key=period_key, person_id=person_id, answers=answers,
            submitted_at=at, late=late, current=True,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def current(self, period_key: str, unit_id: int) -> PeriodicReport | None:
        stmt = select(PeriodicReport).where(
            PeriodicReport.period_key == period_key, PeriodicReport.unit_id == unit_id, PeriodicReport.current.is_(True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def submitted_unit_ids(self, period_key: str) -> set[int]:
        stmt = select(PeriodicReport.unit_id).where(
            PeriodicReport.period_key == period_key, PeriodicReport.current.is_(True)
        )
        return set((await self.session.execute(stmt)).scalars().all())

    async def history(self, period_key: str, unit_id: int) -> Sequence[PeriodicReport]:
        stmt = (
            select(PeriodicReport)
            .where(PeriodicReport.period_key == period_key, PeriodicReport.unit_id == unit_id)
            .order_by(PeriodicReport.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def reporting_unit_ids(self) -> set[int]:
        """Return the units expected to report: those with at least one active reporter."""
        stmt = select(Person.unit_id).where(
            Person.active.is_(True), Person.role == "reporter", Person.unit_id.is_not(None)
        ).distinct()
        return {uid for uid in (await self.session.execute(stmt)).scalars().all() if uid is not None}


class JobRunRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, job: str, period_key: str) -> JobRun | None:
        stmt = select(JobRun).where(JobRun.job == job, JobRun.period_key == period_key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def claim(self, job: str, period_key: str, due_at: datetime, now: datetime) -> JobRun | None:
        """Record that a job starts; None when it already finished or was recorded as missed.

        A run left ``running`` by a crash is returned again: the job re-runs and the outbox's unique
        keys make sure nobody gets a message twice.
        """
        await insert_ignore(
            self.session, JobRun,
            {"job": job, "period_key": period_key, "due_at": due_at, "started_at": now, "status": "running",
             "queued": 0},
        )
        run = await self.get(job, period_key)
        return run if run is not None and run.status == "running" else None

    async def finish(self, run: JobRun, queued: int, now: datetime) -> None:
        run.status, run.finished_at, run.queued = "done", now, run.queued + queued
        await self.session.flush()

    async def mark_missed(self, job: str, period_key: str, due_at: datetime, now: datetime) -> bool:
        """Record a run that is too late to do; False if it was recorded before."""
        values = {"job": job, "period_key": period_key, "due_at": due_at, "finished_at": now, "status": "missed",
                  "queued": 0}
        return bool(await insert_ignore(self.session, JobRun, values))

    async def recorded(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Return which (job, period) pairs have a run recorded (running, done or missed)."""
        wanted = set(keys)
        if not wanted:
            return set()
        periods = {p for _, p in wanted}
        stmt = select(JobRun.job, JobRun.period_key).where(JobRun.period_key.in_(periods))
        return {(j, p) for j, p in (await self.session.execute(stmt)).all() if (j, p) in wanted}

    async def recent(self, limit: int = 20) -> Sequence[JobRun]:
        stmt = select(JobRun).order_by(JobRun.due_at.desc()).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()


class SettingRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str) -> dict[str, Any] | None:
        row = await self.session.get(SettingValue, key)
        return dict(row.value) if row is not None else None

    async def put(self, key: str, value: dict[str, Any], at: datetime, by: int | None = None) -> None:
        row = await self.session.get(SettingValue, key)
        if row is None:
            self.session.add(SettingValue(key=key, value=value, updated_at=at, updated_by=by))
        else:
            row.value, row.updated_at, row.updated_by = value, at, by
        await self.session.flush()

    async def put_if_absent(self, key: str, value: dict[str, Any], at: datetime) -> dict[str, Any]:
        """Store a value only the first time; return the stored value."""
        await insert_ignore(self.session, SettingValue, {"key": key, "value": value, "updated_at": at})
        return await self.get(key) or value
