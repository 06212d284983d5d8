"""Delivery outcomes written back to the outbox: every field as the sender reported it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select, text

from storage.db import create_engine, make_session_factory
from storage.models import OutboxItem
from storage.uow import UnitOfWork
from tests.conftest import USE_PG

HANOI = timezone(timedelta(hours=7))
CLAIMED = datetime(2026, 1, 31, 0, 59, tzinfo=UTC)


async def test_outcomes_of_a_group_are_written_row_by_row(db_url: str) -> None:
    engine = create_engine(db_url)
    factory = make_session_factory(engine)
    try:
        async with UnitOfWork(factory) as uow:
            ids = await uow.outbox.add_many_keyed([
                {"dedupe_key": f"k{i}", "channel": "telegram", "chat_id": str(100 + i), "payload": {"text": f"tin {i}"},
                 "claimed_at": CLAIMED} for i in range(5)
            ], CLAIMED)
            await uow.commit()
        first, second, third, retry, failed = (ids[f"k{i}"] for i in range(5))
        sent_at = {
            first: datetime(2026, 1, 31, 1, 0, 0, 1, tzinfo=UTC),
            second: datetime(2026, 1, 31, 8, 0, 2, tzinfo=HANOI),  # another zone: stored as 01:00:02 UTC
            third: datetime(2026, 1, 31, 1, 0, 3, 250000, tzinfo=UTC),
        }
        base = {"not_before": None, "claimed_at": CLAIMED, "error": None}
        results = [
            {**base, "id": first, "status": "sent", "attempts": 1, "sent_at": sent_at[first], "message_id": "501"},
            {**base, "id": second, "status": "sent", "attempts": 3, "sent_at": sent_at[second], "message_id": "502"},
            {**base, "id": third, "status": "sent", "attempts": 1, "sent_at": sent_at[third], "message_id": None},
            {**base, "id": retry, "status": "pending", "attempts": 2, "sent_at": None, "message_id": None,
             "claimed_at": None, "not_before": datetime(2026, 1, 31, 1, 5, tzinfo=UTC), "error": "unavailable: timeout"},
            {**base, "id": failed, "status": "failed", "attempts": 1, "sent_at": datetime(2026, 1, 31, 1, 0, 4, tzinfo=UTC),
             "message_id": None, "error": "rejected: chat not found"},
        ]
        async with UnitOfWork(factory) as uow:
            await uow.outbox.record(results)
            await uow.commit()

        async with factory() as session:
            rows = {r.id: r for r in (await session.scalars(select(OutboxItem))).all()}
            for sent in (first, second, third):
                row = rows[sent]
                assert (row.status, row.sent_at, row.error) == ("sent", sent_at[sent], None)
                assert row.claimed_at == CLAIMED, "the claim's own columns stay as they were"
            assert [rows[i].message_id for i in (first, second, third)] == ["501", "502", None]
            assert [rows[i].attempts for i in (first, second, third)] == [1, 3, 1]
            assert (rows[retry].status, rows[retry].attempts, rows[retry].error) == ("pending", 2, "unavailable: timeout")
            assert rows[retry].not_before == datetime(2026, 1, 31, 1, 5, tzinfo=UTC) and rows[retry].claimed_at is None
            assert (rows[failed].status, rows[failed].error) == ("failed", "rejected: chat not found")
            ordered = (await session.scalars(select(OutboxItem.id).where(OutboxItem.status == "sent")
                                             .order_by(OutboxItem.sent_at))).all()
            assert ordered == [first, second, third]
            if not USE_PG:
                # The same text as every other time column on SQLite, so times compare alike.
                raw = await session.scalar(text(f"SELECT sent_at FROM outbox WHERE id = {second}"))
                assert raw == "2026-01-31 01:00:02.000000"
    finally:
        await engine.dispose()
