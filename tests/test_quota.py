"""Monthly quota on Zalo: counted per month, admins warned at 80 % and 95 %, bulk held back near the cap."""

from __future__ import annotations

from sqlalchemy import select

from bot.quota import QuotaTracker
from bot.sender import Outcome
from storage.models import ChannelUsage, OutboxItem
from tests.harness import Harness


def sent(n: int, channel: str = "zalo") -> list[Outcome]:
    return [Outcome(row_id=i, status="sent", channel=channel) for i in range(n)]


async def test_usage_is_counted_and_admins_are_warned_once_per_level(harness: Harness) -> None:
    admin = await harness.add_person(51, "Quản Trị", "admin", "P")
    tracker = QuotaTracker(harness.sf, harness.clock, {"zalo": 100, "telegram": 0}, harness.settings.tz)
    await tracker.load()
    await tracker.on_outcomes(sent(79) + sent(50, "telegram") + [Outcome(row_id=0, status="failed", channel="zalo")])
    assert tracker.allow_bulk("zalo") and tracker.allow_bulk("telegram")
    await tracker.on_outcomes(sent(2))
    await tracker.on_outcomes(sent(3))
    async with harness.uow() as uow:
        rows = (await uow.session.execute(select(OutboxItem).where(OutboxItem.kind == "system"))).scalars().all()
        usage = (await uow.session.execute(select(ChannelUsage))).scalars().all()
    assert [(u.channel, u.month, u.sent) for u in usage] == [("zalo", "2026-03", 84)]
    assert len(rows) == 1 and rows[0].person_id == admin and "81/100" in rows[0].payload["text"]
    await tracker.on_outcomes(sent(6))
    assert not tracker.allow_bulk("zalo"), "bulk stops at 90 % to keep room for replies"
    await tracker.on_outcomes(sent(5))
    async with harness.uow() as uow:
        texts = [r.payload["text"] for r in (await uow.session.execute(
            select(OutboxItem).where(OutboxItem.kind == "system").order_by(OutboxItem.id))).scalars()]
    assert len(texts) == 2 and "(95%)" in texts[1]
    # A new month starts from zero, and a restart reads the month's count back.
    harness.clock.advance(days=31)
    assert tracker.allow_bulk("zalo")
    again = QuotaTracker(harness.sf, harness.clock, {"zalo": 100}, harness.settings.tz)
    harness.clock.advance(days=-31)
    await again.load()
    assert not again.allow_bulk("zalo")


async def test_the_sender_holds_bulk_but_not_replies_when_the_quota_is_near(harness: Harness) -> None:
    from bot.sender import Sender

    class Recorder:
        name = "zalo"

        def __init__(self) -> None:
            self.sent: list[str] = []

        async def deliver(self, chat_id: str, payload: dict) -> str:
            self.sent.append(payload["text"])
            return str(len(self.sent))

    channel = Recorder()
    tracker = QuotaTracker(harness.sf, harness.clock, {"zalo": 10}, harness.settings.tz)
    await tracker.on_outcomes(sent(9))
    async with harness.uow() as uow:
        for n, priority in ((1, 5), (2, 0)):
            await uow.outbox.add(dedupe_key=f"q:{n}", channel="zalo", chat_id="z", priority=priority,
                                 payload={"text": f"p{priority}"}, at=harness.clock.now())
        await uow.commit()
    sender = Sender(harness.sf, harness.clock, {"zalo": channel}, {"zalo": 100})  # type: ignore[dict-item]
    sender.bulk_allowed = tracker.allow_bulk
    await sender.drain()
    assert channel.sent == ["p0"], "the reply goes out, the notice waits"
