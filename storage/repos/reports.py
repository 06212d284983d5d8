"""Situation reports and their history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Report, ReportEvent, Unit

TOPIC_COLUMNS = ("dan_toc", "ton_giao", "nhan_dan")


class ReportRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, report: Report) -> Report:
        self.session.add(report)
        await self.session.flush()
        return report

    async def get(self, report_id: int) -> Report | None:
        return await self.session.get(Report, report_id)

    async def by_source(self, channel: str, source_key: str) -> Report | None:
        stmt = select(Report).where(Report.channel == channel, Report.source_key == source_key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def recent_by_person(self, person_id: int, limit: int = 10) -> Sequence[Report]:
        stmt = (
            select(Report)
            .where(Report.person_id == person_id, Report.state.in_(("filed", "withdrawn")))
            .order_by(Report.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def last_filed_by_person(self, person_id: int, since: datetime) -> Report | None:
        stmt = (
            select(Report)
            .where(Report.person_id == person_id, Report.state == "filed", Report.created_at >= since)
            .order_by(Report.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def in_subtree(
        self, unit_path: str, *, topic: str | None = None, urgent: bool | None = None, limit: int = 10
    ) -> Sequence[tuple[Report, Unit]]:
        """Return filed reports of a subtree, newest first, with their unit."""
        stmt = (
            select(Report, Unit)
            .join(Unit, Unit.id == Report.unit_id)
            .where(Unit.path.startswith(unit_path, autoescape=True), Report.state == "filed")
        )
        if topic in TOPIC_COLUMNS:
            stmt = stmt.where(getattr(Report, topic).is_(True))
        if urgent is not None:
            stmt = stmt.where(Report.urgent.is_(urgent))
        stmt = stmt.order_by(Report.id.desc()).limit(limit)
        return [(r, u) for r, u in (await self.session.execute(stmt)).all()]

    async def in_unit_period(self, unit_id: int, period_key: str, limit: int = 50) -> Sequence[Report]:
        stmt = (
            select(Report)
            .where(Report.unit_id == unit_id, Report.period_key == period_key, Report.state == "filed")
            .order_by(Report.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def add_event(
        self, report_id: int, action: str, at: datetime, actor_id: int | None = None, details: dict[str, Any] | None = None
    ) -> None:
        self.session.add(ReportEvent(report_id=report_id, action=action, at=at, actor_id=actor_id, details=details or {}))
        await self.session.flush()

    async def events(self, report_id: int) -> Sequence[ReportEvent]:
        stmt = select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(ReportEvent.id)
        return (await self.session.execute(stmt)).scalars().all()
