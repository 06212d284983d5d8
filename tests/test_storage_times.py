"""Times in the database: aware UTC in, aware UTC out, and on SQLite text that sorts as time does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from storage.db import create_engine, make_session_factory
from storage.models import AuditEntry
from tests.conftest import USE_PG

HANOI = timezone(timedelta(hours=7))


async def test_times_come_back_as_the_same_moment_in_utc_and_compare_as_times(db_url: str) -> None:
    engine = create_engine(db_url)
    moments = [
        datetime(2026, 1, 31, 8, 0, tzinfo=HANOI),  # 01:00 UTC, no microseconds
        datetime(2026, 1, 31, 1, 0, 0, 1, tzinfo=UTC),  # one microsecond later
        datetime(2026, 1, 30, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 1, 31, 9, 30, 15, 250000, tzinfo=HANOI),
    ]
    try:
        async with make_session_factory(engine)() as session:
            session.add_all(AuditEntry(at=m, actor="test", action=f"a{i}") for i, m in enumerate(moments))
            await session.commit()
            rows = (await session.execute(select(AuditEntry.action, AuditEntry.at).order_by(AuditEntry.at))).all()
            assert [at for _, at in rows] == sorted(moments)
            assert all(at.tzinfo is not None and at.utcoffset() == timedelta(0) for _, at in rows)
            later = (await session.scalars(
                select(AuditEntry.action).where(AuditEntry.at > datetime(2026, 1, 31, 8, 0, tzinfo=HANOI))
            )).all()
            assert sorted(later) == ["a1", "a3"]
            if not USE_PG:
                # The text SQLAlchemy's own SQLite DATETIME writes, so rows written before compare alike.
                raw = await session.scalar(text("SELECT at FROM audit_log WHERE action = 'a0'"))
                assert raw == "2026-01-31 01:00:00.000000"
    finally:
        await engine.dispose()


async def test_a_time_without_a_zone_is_refused(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with make_session_factory(engine)() as session:
            session.add(AuditEntry(at=datetime(2026, 1, 31, 8, 0), actor="test", action="naive"))
            with pytest.raises(StatementError, match="naive datetime"):
                await session.commit()
    finally:
        await engine.dispose()
