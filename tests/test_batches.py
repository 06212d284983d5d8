"""Updates handled in batches: the same answers as one at a time, failures kept apart, order per chat."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

import bot.pipeline
from bot.inbound import Inbound
from storage.models import InboxItem, Report
from tests.harness import Harness, texts_of
from tests.test_registration import make_invite

PEOPLE = [
    (100, "Điểu Hùng", "reporter", "X1-T1"),
    (101, "Lê Sóc", "reporter", "X2-A1"),
    (102, "Thạch Sa", "reporter", "X1-T2"),
    (200, "Cán Bộ Xã Một", "officer", "X1"),
    (300, "Trần Thị Ban", "officer", "P"),
]


def burst(code: str) -> list[tuple[int, str]]:
    return [
        (100, "Đồng bào Khmer ở sóc tổ chức lễ Chôl Chnăm Thmây tại chùa, an toàn"),
        (101, "khoang 30 ho dan keo den UBND xa doi tien den bu, dong nguoi"),  # urgent: alerts go up
        (102, "cảm ơn ban nhiều"),
        (900, "xin chào"),  # not registered
        (901, f"/start {code}"),  # registers with an invite
        (103, "hạn nộp báo cáo là ngày nào?"),
        (104, "Sạt lở bờ sông, 3 hộ phải di dời khẩn cấp"),  # urgent in commune X1: two officers alerted
        (300, "/xem"),  # the province officer lists what was filed just before, in the same batch
    ]


async def _setup(h: Harness) -> str:
    for user_id, name, role, unit in PEOPLE:
        await h.add_person(user_id, name, role, unit)
    await h.add_person(103, "Y Blang", "reporter", "X2-A1")
    await h.add_person(104, "Thị Hoa", "reporter", "X1-T2")
    return await make_invite(h)


def _by_chat(replies: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in replies:
        out.setdefault(r["chat_id"], []).append(r["text"])
    return out


async def _run(db_url: str, batched: bool) -> tuple[list[dict[str, Any]], list[tuple[int, str, bool]], str]:
    """Send the burst one message at a time or as one batch; return replies, reports and the invite code."""
    h = Harness(db_url)
    await h.setup()
    try:
        code = await _setup(h)
        if batched:
            replies = await h.send_batch(burst(code))
        else:
            replies = []
            for user_id, text in burst(code):
                replies += await h.send(user_id, text)
        async with h.uow() as uow:
            reports = [(r.id, r.text, r.urgent) for r in (await uow.session.execute(select(Report).order_by(Report.id))).scalars()]
        return replies, reports, code
    finally:
        await h.close()


async def test_a_burst_handled_as_one_batch_answers_exactly_as_one_at_a_time(db_url: str, second_db_url: str) -> None:
    sequential, expected_reports, code1 = await _run(db_url, batched=False)
    batched, got_reports, code2 = await _run(second_db_url, batched=True)

    assert got_reports == expected_reports and len(got_reports) == 5  # three reports, two drafts
    # Invite codes are random; apart from them, every chat got the same answers in the same order.
    assert _by_chat([{**r, "text": r["text"].replace(code2, code1)} for r in batched]) == _by_chat(sequential)
    answers = _by_chat(batched)
    assert "Đã nhận báo cáo" in answers["100"][0] and "Đã nhận báo cáo" in answers["101"][0]
    assert "Có lưu thành báo cáo" in answers["102"][0] and "14/03/2026" in answers["103"][0]
    assert len(answers["200"]) == 1 and "Sạt lở" in answers["200"][0]  # commune X1: only its own alert
    alert_2, alert_5, listing = answers["300"]  # the province officer: both alerts, then /xem
    assert "#2" in alert_2 and "#5" in alert_5 and "Đã nắm" in str(batched)
    assert "den bu" in listing and "Sạt lở" in listing  # /xem, handled last, sees the batch's reports


async def test_one_failing_update_does_not_hold_back_the_others(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    await _setup(harness)
    real_dispatch = bot.pipeline.dispatch

    async def flaky(ctx: Any) -> Any:
        if ctx.msg.text == "BOOM":
            raise RuntimeError("handler bug")
        return await real_dispatch(ctx)

    monkeypatch.setattr(bot.pipeline, "dispatch", flaky)
    replies = await harness.send_batch([(100, "Giá phân bón tăng cao, bà con lo lắng"), (101, "BOOM"),
                                        (102, "Chùa Khmer tổ chức lễ, an toàn")])
    answers = _by_chat(replies)
    assert set(answers) == {"100", "102"} and all("Đã nhận báo cáo" in t[0] for t in answers.values())
    async with harness.uow() as uow:
        items = (await uow.session.execute(select(InboxItem).order_by(InboxItem.id))).scalars().all()
        assert [(i.status, i.attempts) for i in items] == [("done", 0), ("new", 1), ("done", 0)]
        assert items[1].error == "RuntimeError" and items[1].payload is not None  # kept for a retry
        assert items[0].payload is None and items[2].payload is None  # handled: the content is dropped
    monkeypatch.setattr(bot.pipeline, "dispatch", real_dispatch)
    assert await harness.pipeline.retry_unhandled() == 1
    assert "Có lưu thành báo cáo" in texts_of(await harness.new_replies())  # BOOM has no topic: asked to file it
    # Handled updates are never handled again, whether their content is held in memory or not.
    ids = [i.id for i in items]
    assert await harness.pipeline.process_batch(ids, {i: {"text": "lại"} for i in ids}) == []
    assert await harness.pipeline.process_batch(ids) == [] and await harness.new_replies() == []


async def test_inbound_keeps_each_chats_order_and_drops_repeats(harness: Harness) -> None:
    await _setup(harness)
    inbound = Inbound("telegram", harness.pipeline, max_batch=50)
    updates = []
    for n, (user_id, text) in enumerate([(100, "Bà con phản ánh giá điện tăng"), (101, "Giáo xứ tổ chức lễ, an toàn"),
                                         (100, "/cuatoi"), (102, "dong bao Khmer to chuc le"), (100, "/cuatoi")]):
        msg, payload = harness.message(user_id, text, "telegram", {"update_key": f"u{n if n < 4 else 2}"})
        updates.append((msg.update_key, msg.chat_id, payload))
    assert await inbound.accept_many(updates) == [True, True, True, True, False]  # the last repeats u2
    assert await inbound.accept(*updates[0]) is False  # stored before: a redelivery
    await inbound.close()
    answers = _by_chat(await harness.new_replies())
    # Chat 100 sent a report, then /cuatoi: the list, handled in a later batch, shows the report.
    assert len(answers["100"]) == 2 and "Đã nhận báo cáo" in answers["100"][0] and "giá điện" in answers["100"][1]
    assert len(answers["101"]) == 1 and len(answers["102"]) == 1


async def test_updates_arriving_together_are_stored_together(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    await _setup(harness)
    writes: list[int] = []
    real = harness.pipeline.ingest_many

    async def counting(channel: str, updates: Any) -> Any:
        writes.append(len(updates))
        await asyncio.sleep(0.05)  # a slow disk: more updates arrive meanwhile
        return await real(channel, updates)

    monkeypatch.setattr(harness.pipeline, "ingest_many", counting)
    inbound = Inbound("telegram", harness.pipeline)
    messages = [harness.message(100 + n % 3, f"Bà con phản ánh giá điện tăng lần {n}", "telegram", {}) for n in range(30)]
    results = await asyncio.gather(*(inbound.accept(m.update_key, m.chat_id, p) for m, p in messages))
    await inbound.close()
    assert all(results) and sum(writes) == 30 and len(writes) <= 3
    assert len(await harness.new_replies()) == 30


async def test_reports_added_ahead_are_written_before_anything_that_needs_them(harness: Harness) -> None:
    """A batch's reports are inserted by one statement later on; until then they must behave as written."""
    person_id = await harness.add_person(100, "Điểu Hùng", "reporter", "X1-T1")
    now = harness.clock.now()
    async with harness.uow() as uow:
        person = await uow.people.get(person_id)
        assert person is not None and person.unit_id is not None
        unit_id = person.unit_id

    def report(key: str) -> dict[str, Any]:
        return {"person_id": person_id, "unit_id": unit_id, "channel": "telegram", "source_key": key,
                "text": f"báo cáo {key}", "created_at": now, "updated_at": now, "period_key": "2026-Q4"}

    async with harness.uow() as uow:
        await uow.reports.reserve_ids(3)
        first = await uow.reports.add(**report("1:1"))
        second = await uow.reports.add(**report("1:2"))
        assert (first.status, first.state, first.tag_meta, first.attachments) == ("new", "filed", {}, [])
        second.status = "acknowledged"  # changed before it was written: the insert must come first
        await uow.reports.add_event(first.id, "append", now, person_id)  # a row that refers to it
        assert await uow.reports.by_source("telegram", "1:2") is second
        await uow.commit()
    async with harness.uow() as uow:
        rows = (await uow.session.execute(select(Report).order_by(Report.id))).scalars().all()
        assert [(r.source_key, r.status, r.text) for r in rows] == [
            ("1:1", "new", "báo cáo 1:1"), ("1:2", "acknowledged", "báo cáo 1:2")]
        assert [e.action for e in await uow.reports.events(rows[0].id)] == ["append"]

    async with harness.uow() as uow:
        await uow.reports.reserve_ids(1)
        await uow.reports.add(**report("1:3"))
        await uow.rollback()  # the report goes with the transaction that added it
        await uow.commit()
    async with harness.uow() as uow:
        assert await uow.reports.by_source("telegram", "1:3") is None
        assert await uow.session.scalar(select(func.count(Report.id))) == 2


async def test_a_batch_lets_other_work_run_while_it_is_handled(harness: Harness) -> None:
    """Polling and sending share the event loop with a batch: they must not wait for all of it."""
    code = await _setup(harness)
    messages = [(5000 + i, f"Bà con thôn {i} phản ánh giá phân bón tăng") for i in range(40)]
    for user_id, _ in messages:
        await harness.add_person(user_id, f"Người {user_id}", "reporter", "X1-T1")
    done = asyncio.Event()
    turns_during_batch = 0

    async def other_work() -> None:  # what the polling task or the sender would do meanwhile
        nonlocal turns_during_batch
        while not done.is_set():
            turns_during_batch += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    turns_before = turns_during_batch
    replies = await harness.send_batch(messages)
    done.set()
    await other
    assert code and len(replies) == 40
    # About one turn per ten updates (and more while the batch waits for nothing else).
    assert turns_during_batch - turns_before >= 4
