"""Aggregation queries behind the periodic digest: counts are grouped in SQL, never per report in Python.

Every query takes the scope as a materialised-path prefix ("/1/5/"; None means the whole tree) and
the period as a list of quarter keys ("2026-Q1", ...): a report belongs to the quarter whose key it
carries, so a cumulative window is simply the keys Q1..Qn of its year. Only ``state='filed'`` counts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Row, Select, and_, case, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import PeriodicReport, Person, Report, Unit

STATUSES = ("new", "acknowledged", "in_progress", "resolved")
FILED = "filed"
Query = Select[*tuple[Any, ...]]
Rows = Sequence[Row[*tuple[Any, ...]]]


def _flag(condition: Any) -> Any:
    """Return SUM(CASE WHEN condition THEN 1 ELSE 0 END), portable across SQLite and PostgreSQL."""
    return func.sum(case((condition, 1), else_=0))


def _untagged() -> Any:
    return not_(or_(Report.dan_toc, Report.ton_giao, Report.nhan_dan))


def _is_filed() -> Any:
    """Return "the report is filed", written so that no index on ``state`` can serve it."""
    # Nearly every report is filed, yet SQLite (no statistics unless ANALYZE ran) would otherwise
    # walk the state index, i.e. every report ever, instead of the period index.
    return func.coalesce(Report.state, "") == FILED


class DigestRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _scoped(stmt: Query, prefix: str | None, column: Any = Report.unit_id) -> Query:
        """Restrict a statement to the units under a path prefix (no filter for the whole tree)."""
        if prefix is None:
            return stmt
        subtree = select(Unit.id).where(Unit.path.startswith(prefix, autoescape=True))
        return stmt.where(column.in_(subtree))

    def _filed(self, stmt: Query, prefix: str | None, keys: Sequence[str]) -> Query:
        stmt = stmt.where(Report.period_key.in_(list(keys)), _is_filed())
        return self._scoped(stmt, prefix)

    async def units(self, prefix: str | None) -> Rows:
        """Return (id, parent_id, code, name, level, path) of every unit in scope, parents first."""
        stmt = select(Unit.id, Unit.parent_id, Unit.code, Unit.name, Unit.level, Unit.path)
        if prefix is not None:
            stmt = stmt.where(Unit.path.startswith(prefix, autoescape=True))
        return (await self.session.execute(stmt.order_by(Unit.path))).all()

    def counts_statement(self, prefix: str | None, keys: Sequence[str]) -> Query:
        """Build the core aggregation: per quarter, unit and state, reports by topic, urgency and status."""
        columns = [
            Report.period_key,
            Report.unit_id,
            Report.state,
            func.count().label("reports"),
            _flag(Report.dan_toc).label("dan_toc"),
            _flag(Report.ton_giao).label("ton_giao"),
            _flag(Report.nhan_dan).label("nhan_dan"),
            _flag(_untagged()).label("untagged"),
            _flag(Report.urgent).label("urgent"),
            *(_flag(and_(Report.urgent, Report.status == s)).label(f"urgent_{s}") for s in STATUSES),
        ]
        # Grouping by state instead of filtering on it keeps SQLite on the period index: without
        # statistics it would otherwise walk the state index, i.e. every filed report ever.
        stmt = self._scoped(select(*columns).where(Report.period_key.in_(list(keys))), prefix)
        return stmt.group_by(Report.period_key, Report.unit_id, Report.state)

    async def counts(self, prefix: str | None, keys: Sequence[str]) -> Rows:
        """Return the core aggregation rows, every state included (see ``counts_statement``)."""
        if not keys:
            return []
        return (await self.session.execute(self.counts_statement(prefix, keys))).all()

    def reporters_statement(self, prefix: str | None, keys: Sequence[str]) -> Query:
        """Build the distinct (unit, reporter, state) triples of a window: exact distinct counts at every level."""
        stmt = select(Report.unit_id, Report.person_id, Report.state).distinct()
        return self._scoped(stmt.where(Report.period_key.in_(list(keys))), prefix)

    async def reporter_pairs(self, prefix: str | None, keys: Sequence[str]) -> list[tuple[int, int]]:
        """Return the distinct (unit_id, person_id) pairs that filed reports in the window."""
        if not keys:
            return []
        rows = (await self.session.execute(self.reporters_statement(prefix, keys))).all()
        return sorted({(r.unit_id, r.person_id) for r in rows if r.state == FILED})

    def _report_rows(self) -> Query:
        """Select the columns the digest shows for one report, with the author and acknowledger names."""
        acker = aliased(Person)
        return (
            select(
                Report.id, Report.created_at, Report.unit_id, Person.name.label("reporter"),
                Report.dan_toc, Report.ton_giao, Report.nhan_dan, Report.urgent, Report.status,
                acker.name.label("acknowledged_by"), Report.acknowledged_at, Report.text, Report.period_key,
            )
            .join(Person, Person.id == Report.person_id)
            .outerjoin(acker, acker.id == Report.acknowledged_by)
        )

    async def urgent(self, prefix: str | None, keys: Sequence[str], limit: int) -> Rows:
        """Return the most recent urgent reports of the window."""
        if not keys:
            return []
        stmt = self._filed(self._report_rows(), prefix, keys).where(Report.urgent.is_(True))
        stmt = stmt.order_by(Report.created_at.desc(), Report.id.desc()).limit(limit)
        return (await self.session.execute(stmt)).all()

    async def sample(self, prefix: str | None, period_key: str, total: int, size: int) -> Rows:
        """Return about ``size`` filed reports spread evenly over a quarter of ``total`` reports, newest first."""
        # Every n-th id: the sample covers the whole quarter and every unit, and the database
        # reads only the sampled rows (the id is in every index entry).
        if total <= 0 or size <= 0:
            return []
        stride = -(-total // size)
        stmt = self._filed(self._report_rows(), prefix, [period_key])
        if stride > 1:
            stmt = stmt.where(Report.id % stride == 0)
        rows = (await self.session.execute(stmt.limit(size))).all()
        return sorted(rows, key=lambda r: r.id, reverse=True)

    async def stream_reports(
        self, prefix: str | None, keys: Sequence[str], batch: int = 2000
    ) -> AsyncIterator[Rows]:
        """Yield every filed report of the window in batches, oldest first, without loading them all."""
        if not keys:
            return
        stmt = self._filed(self._report_rows(), prefix, keys).order_by(Report.created_at, Report.id)
        result = await self.session.stream(stmt.execution_options(yield_per=batch))
        async for part in result.partitions(batch):
            yield part

    async def periodic(self, prefix: str | None, period_key: str) -> Rows:
        """Return (unit_id, submitted_at, late, answers) of the current periodic reports of one quarter."""
        stmt = select(
            PeriodicReport.unit_id, PeriodicReport.submitted_at, PeriodicReport.late, PeriodicReport.answers
        ).where(PeriodicReport.period_key == period_key, PeriodicReport.current.is_(True))
        stmt = self._scoped(stmt, prefix, PeriodicReport.unit_id).order_by(PeriodicReport.id)
        return (await self.session.execute(stmt)).all()

    async def reporter_units(self, prefix: str | None) -> set[int]:
        """Return the ids of the units in scope that have at least one active reporter."""
        stmt = select(Person.unit_id).distinct().where(
            Person.active.is_(True), Person.role == "reporter", Person.unit_id.is_not(None)
        )
        stmt = self._scoped(stmt, prefix, Person.unit_id)
        return {row[0] for row in (await self.session.execute(stmt)).all() if row[0] is not None}
