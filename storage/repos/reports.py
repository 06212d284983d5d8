"""Situation reports and their history."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, event, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, make_transient_to_detached

from storage.models import Report, ReportEvent, Unit
from storage.repos.base import dialect_name, get

TOPIC_COLUMNS = ("dan_toc", "ton_giao", "nhan_dan")
# Reports added with a reserved id wait in the session's info under this key until written.
UNWRITTEN = "reports_unwritten"
_TABLE = cast(Table, Report.__table__)
_INSERT = insert(_TABLE)
_MANAGER = Report.__mapper__.class_manager
# Each column's Python-side default, for reports written without the ORM: a plain value, or the
# factory SQLAlchemy wraps to take an execution context (``list``, ``dict``, ``utcnow`` ignore it).
_DEFAULTS: dict[str, Any] = {
    c.key: (c.default.arg if c.default is not None else None) for c in _TABLE.columns  # type: ignore[attr-defined]
}


def _row(values: dict[str, Any]) -> dict[str, Any]:
    """Return the full row of a new report: ``values`` and every other column's default."""
    row = {key: default(None) if callable(default) else default for key, default in _DEFAULTS.items()}
    row.update(values)
    return row


def _write_unwritten(session: Session) -> None:
    """Insert the reports added ahead, in one statement (before anything the ORM writes)."""
    rows = session.info.pop(UNWRITTEN, None)
    if rows:
        session.connection().execute(_INSERT, rows)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    # A flush may update such a report, or insert rows that refer to it: the report goes first.
    _write_unwritten(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(UNWRITTEN, None)  # rolled back with the transaction that added them


class ReportRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._ids: list[int] = []  # ids reserved ahead, handed out by add()
        self._no_source: set[tuple[str, str]] = set()  # source keys known to have no report
        self._last_filed: dict[int, tuple[datetime, Report | None]] = {}  # person -> (since, last filed)

    async def _sync(self) -> None:
        """Write reports added ahead before a query that could miss them."""
        await write_unwritten(self.session)

    async def reserve_ids(self, count: int) -> None:
        """Reserve ids for the next ``count`` reports, so that ``add`` needs no statement of its own.

        Such reports are written together, with one Core statement, by the next flush, commit or
        query of reports (``write_unwritten``); the session holds them as loaded objects meanwhile.
        On SQLite the caller must hold the write lock already (the inbox claim does), so that the
        largest id cannot move.
        """
        if count <= 0:
            return
        if dialect_name(self.session) == "postgresql":
            stmt = text("SELECT nextval(pg_get_serial_sequence('reports', 'id')) FROM generate_series(1, :n)")
            self._ids = sorted((await self.session.execute(stmt, {"n": count})).scalars().all(), reverse=True)
        else:
            last = (await self.session.execute(select(func.max(Report.id)))).scalar_one_or_none() or 0
            self._ids = list(range(last + count, last, -1))

    async def add(self, **values: Any) -> Report:
        """Add a report with these column values; it has its id on return."""
        if self._ids:
            # Written later by one Core statement for the whole batch: the ORM's insert of each
            # object cost about twice as much. The object joins the session as a loaded row, so
            # changes to it are written as updates after the insert (see ``_before_flush``). It
            # is built as a loaded row is (its columns set without change events): half the cost.
            row = _row({**values, "id": self._ids.pop()})
            report = cast(Report, _MANAGER.new_instance())
            report.__dict__.update(row)
            make_transient_to_detached(report)
            self.session.add(report)
            self.session.info.setdefault(UNWRITTEN, []).append(row)
        else:
            report = Report(**values)
            self.session.add(report)
            await self.session.flush()
        self._no_source.discard((report.channel, report.source_key))
        if report.state == "filed":
            self._last_filed[report.person_id] = (report.created_at, report)
        return report

    async def prefetch(self, channel: str, source_keys: Collection[str], person_ids: Collection[int],
                       since: datetime | None) -> None:
        """Look ahead for a batch of messages: which already have a report, and each person's last
        filed report since ``since`` (None: not needed). ``by_source`` and ``last_filed_by_person``
        then answer from memory."""
        if source_keys:
            stmt = select(Report.source_key).where(Report.channel == channel, Report.source_key.in_(set(source_keys)))
            found = set((await self.session.execute(stmt)).scalars().all())
            self._no_source.update((channel, key) for key in source_keys if key not in found)
        if since is not None and person_ids:
            last = (
                select(func.max(Report.id))
                .where(Report.person_id.in_(set(person_ids)), Report.state == "filed", Report.created_at >= since)
                .group_by(Report.person_id)
            )
            reports = (await self.session.execute(select(Report).where(Report.id.in_(last)))).scalars().all()
            by_person = {r.person_id: r for r in reports}
            for person_id in person_ids:
                self._last_filed[person_id] = (since, by_person.get(person_id))

    async def get(self, report_id: int) -> Report | None:
        await self._sync()
        return await get(self.session, Report, report_id)

    async def by_source(self, channel: str, source_key: str) -> Report | None:
        if (channel, source_key) in self._no_source:
            return None
        await self._sync()
        stmt = select(Report).where(Report.channel == channel, Report.source_key == source_key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def recent_by_person(self, person_id: int, limit: int = 10) -> Sequence[Report]:
        await self._sync()
        stmt = (
            select(Report)
            .where(Report.person_id == person_id, Report.state.in_(("filed", "withdrawn")))
            .order_by(Report.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def last_filed_by_person(self, person_id: int, since: datetime) -> Report | None:
        known = self._last_filed.get(person_id)
        # The answer looked up ahead holds while that report is still filed and was looked up no later.
        if known is not None and known[0] <= since and (known[1] is None or known[1].state == "filed"):
            report = known[1]
            return report if report is None or report.created_at >= since else None
        await self._sync()
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
        await self._sync()
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
        await self._sync()
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
        await self._sync()
        stmt = select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(ReportEvent.id)
        return (await self.session.execute(stmt)).scalars().all()


async def write_unwritten(session: AsyncSession) -> None:
    """Insert the reports added ahead with reserved ids, if any (before a query or a commit)."""
    if session.info.get(UNWRITTEN):
        await session.run_sync(_write_unwritten)
