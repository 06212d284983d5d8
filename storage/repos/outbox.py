"""The outbox: one row per message and recipient, written before anything is sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxItem
from storage.repos.base import dialect_name, insert_ignore


class ClaimedRow(NamedTuple):
    """An outbox row taken for sending (status ``sending``): what the sender reads of it."""

    id: int
    dedupe_key: str
    channel: str
    chat_id: str
    identity_id: int | None
    person_id: int | None
    priority: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    not_before: datetime | None
    claimed_at: datetime | None

# Columns the sender writes back after a delivery attempt (bulk update by primary key).
RESULT_FIELDS = ("status", "attempts", "not_before", "claimed_at", "sent_at", "message_id", "error")


class OutboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        dedupe_key: str,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        at: datetime,
        identity_id: int | None = None,
        person_id: int | None = None,
        priority: int = 0,
        kind: str = "reply",
        not_before: datetime | None = None,
    ) -> int | None:
        """Queue a message; return its id, or None when the same dedupe key is queued already."""
        values = _row(dedupe_key, channel, chat_id, payload, at, identity_id, person_id, priority, kind, not_before)
        return await insert_ignore(self.session, OutboxItem, values, returning=OutboxItem.id)

    async def add_many(self, rows: Sequence[dict[str, Any]], at: datetime) -> list[int]:
        """Queue many messages in a few statements; return the ids of the rows inserted (duplicates skipped).

        Each row is a dict with the keyword arguments of ``add`` except ``at``. Ids come back in
        insertion order, so the rows of one call lie between the first and the last id returned.
        """
        return sorted((await self.add_many_keyed(rows, at)).values())

    async def add_many_keyed(self, rows: Sequence[dict[str, Any]], at: datetime) -> dict[str, int]:
        """Like ``add_many``, but return the new rows' ids by dedupe key (duplicates left out).

        A row with a ``claimed_at`` time is written as taken for sending already (status
        ``sending``): the sender of this process holds it in memory (see ``Sender.take``).
        """
        if not rows:
            return {}
        module = postgresql if dialect_name(self.session) == "postgresql" else sqlite
        values = [
            _row(r["dedupe_key"], r["channel"], r["chat_id"], r["payload"], at, r.get("identity_id"),
                 r.get("person_id"), r.get("priority", 0), r.get("kind", "reply"), r.get("not_before"),
                 r.get("claimed_at"))
            for r in rows
        ]
        # One statement compiled once, executed in batches ("insertmanyvalues"): fast for thousands of rows.
        table = OutboxItem.__table__
        stmt = module.insert(table).on_conflict_do_nothing().returning(table.c.id, table.c.dedupe_key)
        result = await (await self.session.connection()).execute(stmt, values)
        return {key: row_id for row_id, key in result.all()}

    async def claim(
        self,
        channel: str,
        now: datetime,
        limit: int,
        max_priority: int | None = None,
        min_priority: int | None = None,
    ) -> list[ClaimedRow]:
        """Take up to ``limit`` due rows of a channel, most urgent first, and mark them as sending.

        One statement picks and marks the rows. On PostgreSQL ``FOR UPDATE SKIP LOCKED`` in it lets
        several workers drain the same outbox without ever taking the same row. The rows come back
        as plain read-only rows (attributes named like ``OutboxItem``'s): the sender only reads
        them, and building ORM objects cost more than the rest of the claim.
        """
        pick = (
            select(OutboxItem.id)
            .where(
                OutboxItem.status == "pending",
                OutboxItem.channel == channel,
                or_(OutboxItem.not_before.is_(None), OutboxItem.not_before <= now),
            )
            .order_by(OutboxItem.priority, OutboxItem.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if max_priority is not None:
            pick = pick.where(OutboxItem.priority <= max_priority)
        if min_priority is not None:
            pick = pick.where(OutboxItem.priority >= min_priority)
        picked = pick.cte("picked")
        stmt = (
            update(_TABLE)
            .where(_TABLE.c.id.in_(select(picked.c.id)), _TABLE.c.status == "pending")
            .values(status="sending", claimed_at=now)
            .returning(*_CLAIMED)
        )
        rows = [ClaimedRow._make(row) for row in (await (await self.session.connection()).execute(stmt)).all()]
        rows.sort(key=lambda r: (r.priority, r.id))
        return rows

    async def record(self, results: Sequence[dict[str, Any]]) -> None:
        """Write delivery results back: each dict has ``id`` and every field of ``RESULT_FIELDS``."""
        if not results:
            return
        sent = [{"row_id": r["id"], "attempts": r["attempts"], "sent_at": r["sent_at"], "message_id": r["message_id"]}
                for r in results if r["status"] == "sent"]
        other = [{"row_id": r["id"], **{f: r[f] for f in RESULT_FIELDS}} for r in results if r["status"] != "sent"]
        connection = await self.session.connection()
        if sent:  # most of them: four values each, the claim's own columns left as they are
            await connection.execute(_RECORD_SENT, sent)
        if other:
            await connection.execute(_RECORD, other)

    async def release(self, ids: Sequence[int], not_before: datetime | None = None) -> int:
        """Put claimed rows that were never started back in the queue (shutdown, long pause)."""
        if not ids:
            return 0
        result = await self.session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(list(ids)), OutboxItem.status == "sending")
            .values(status="pending", claimed_at=None, not_before=not_before)
        )
        return affected(result)

    async def touch(self, ids: Sequence[int], now: datetime) -> None:
        """Refresh the claim time of rows a live worker still holds, so no one takes them as stale."""
        if ids:
            await self.session.execute(
                update(OutboxItem).where(OutboxItem.id.in_(list(ids)), OutboxItem.status == "sending")
                .values(claimed_at=now)
            )

    async def requeue_stale(self, before: datetime) -> int:
        """Put rows claimed before ``before`` back in the queue (their worker died mid-send)."""
        result = await self.session.execute(
            update(OutboxItem)
            .where(OutboxItem.status == "sending", OutboxItem.claimed_at <= before)
            .values(status="pending", claimed_at=None)
        )
        return affected(result)

    async def get(self, item_id: int) -> OutboxItem | None:
        return await self.session.get(OutboxItem, item_id)

    async def by_key(self, dedupe_key: str) -> OutboxItem | None:
        stmt = select(OutboxItem).where(OutboxItem.dedupe_key == dedupe_key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def pending_count(self, channel: str | None = None) -> int:
        stmt = select(func.count(OutboxItem.id)).where(OutboxItem.status.in_(("pending", "sending")))
        if channel:
            stmt = stmt.where(OutboxItem.channel == channel)
        return (await self.session.execute(stmt)).scalar_one()

    async def next_due(self, channel: str) -> datetime | None:
        stmt = select(func.min(OutboxItem.not_before)).where(
            OutboxItem.status == "pending", OutboxItem.channel == channel
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_prefix(self, prefix: str) -> Sequence[OutboxItem]:
        stmt = select(OutboxItem).where(OutboxItem.dedupe_key.startswith(prefix, autoescape=True)).order_by(OutboxItem.id)
        return (await self.session.execute(stmt)).scalars().all()


_TABLE = cast(Table, OutboxItem.__table__)
_CLAIMED = [_TABLE.c[name] for name in ClaimedRow._fields]
# Core executemany by primary key: the ORM's bulk update costs several times more per row.
_RECORD = update(_TABLE).where(_TABLE.c.id == bindparam("row_id")).values({f: bindparam(f) for f in RESULT_FIELDS})
_RECORD_SENT = (
    update(_TABLE).where(_TABLE.c.id == bindparam("row_id"))
    .values(status="sent", attempts=bindparam("attempts"), sent_at=bindparam("sent_at"),
            message_id=bindparam("message_id"), error=None)
)


def _row(
    dedupe_key: str, channel: str, chat_id: str, payload: dict[str, Any], at: datetime, identity_id: int | None,
    person_id: int | None, priority: int, kind: str, not_before: datetime | None, claimed_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "dedupe_key": dedupe_key, "channel": channel, "chat_id": chat_id, "identity_id": identity_id,
        "person_id": person_id, "priority": priority, "kind": kind, "payload": payload,
        "status": "pending" if claimed_at is None else "sending", "attempts": 0, "not_before": not_before,
        "created_at": at, "claimed_at": claimed_at,
    }


def affected(result: Any) -> int:
    """Return how many rows an UPDATE or DELETE touched."""
    return int(getattr(result, "rowcount", 0) or 0)
