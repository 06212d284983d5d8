"""Broadcast notices through the pipeline: the /thongbao flow, audience and scope, acknowledgements,
progress and summary, /thongbao_ketqua and reminders (with a controlled clock)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

import handlers.notices  # noqa: F401  (registers the handlers, as handlers/router.py does)
from bot import notices
from bot.errors import ChannelBlocked, ChannelRejected
from bot.notices import Audience, OutOfScope
from bot.sender import Sender
from handlers.types import Attachment
from storage.models import AuditEntry, Notice, NoticeAck, OutboxItem
from tests.harness import Harness, texts_of
from tests.test_sender import FakeChannel


@pytest.fixture
async def people(harness: Harness) -> dict[str, int]:
    ids = {
        "admin": await harness.add_person(1, "Nguyễn Văn Quản", "admin", None),
        "x1_officer": await harness.add_person(2, "Cán Bộ Xã Một", "officer", "X1"),
        "x2_officer": await harness.add_person(3, "Cán Bộ Xã Hai", "officer", "X2"),
        "t1": await harness.add_person(10, "Điểu Hùng", "reporter", "X1-T1"),
        "t2": await harness.add_person(11, "Lê Sóc", "reporter", "X1-T2"),
        "a1": await harness.add_person(12, "Thị Ấp", "reporter", "X2-A1"),
        "zalo": await harness.add_person("z13", "Người Zalo", "reporter", "X2-A1", channel="zalo"),
        "gone": await harness.add_person(14, "Đã Nghỉ", "reporter", "X1-T1"),
        "blocked": await harness.add_person(15, "Chặn Bot", "reporter", "X1-T2"),
    }
    async with harness.uow() as uow:
        # Two linked accounts, Zalo preferred: the notice goes once, to Zalo.
        t1 = await uow.people.get(ids["t1"])
        assert t1 is not None
        t1.preferred_channel = "zalo"
        await uow.people.add_identity(t1, "zalo", "z10", "z10", t1.name)
        gone = await uow.people.get(ids["gone"])
        assert gone is not None
        gone.active = False
        blocked = await uow.people.identity("telegram", "15")
        assert blocked is not None
        blocked.active = False  # blocked the bot earlier: no active account left
        await uow.commit()
    return ids


async def notice_rows(h: Harness, notice_id: int) -> list[OutboxItem]:
    async with h.uow() as uow:
        stmt = select(OutboxItem).where(OutboxItem.dedupe_key.startswith(f"notice:{notice_id}:")).order_by(OutboxItem.id)
        return list((await uow.session.execute(stmt)).scalars().all())


def payloads(reply: dict[str, Any]) -> list[str]:
    return [b["payload"] for row in reply.get("buttons") or [] for b in row]


async def broadcast(h: Harness, user_id: int | str, text: str, choice: list[str], remind: int = 0) -> int:
    """Go through /thongbao as ``user_id``: text, audience buttons, then send; return the notice id."""
    await h.send(user_id, "/thongbao")
    await h.send(user_id, text)
    replies: list[dict[str, Any]] = []
    for payload in choice:
        replies = await h.press(user_id, payload, message_id="50")
    send = next(p for p in payloads(replies[-1]) if p.startswith("nt:ok:") and p.endswith(f":{remind}"))
    replies = await h.press(user_id, send, message_id="50")
    assert "Đang gửi 0/" in texts_of(replies)
    return int(send.split(":")[2])


async def deliver(h: Harness, channels: dict[str, Any] | None = None) -> Sender:
    channels = channels or {"telegram": FakeChannel("telegram"), "zalo": FakeChannel("zalo")}
    s = Sender(h.sf, h.clock, channels, {name: 1000.0 for name in channels}, backoff_base=0.01, per_chat_interval=0)
    await s.drain()
    return s


# --- the flow ------------------------------------------------------------------------------------


async def test_admin_writes_previews_and_sends_to_everyone_once(harness: Harness, people: dict[str, int]) -> None:
    asked = await harness.send(1, "/thongbao")
    assert "Soạn thông báo" in texts_of(asked) and payloads(asked[0]) == ["nt:x"]
    audience = await harness.send(1, "Họp giao ban <b>quý</b> lúc 8 giờ thứ Hai")
    assert payloads(audience[0]) == ["nt:a:all", "nt:a:unit", "nt:a:role", "nt:a:chan", "nt:x"]
    preview = await harness.press(1, "nt:a:all", message_id="50")
    assert "Số người nhận: <b>6</b>" in preview[0]["text"] and preview[0]["edit_message_id"] == "50"
    assert "Họp giao ban &lt;b&gt;quý&lt;/b&gt;" in preview[0]["text"], "user text is escaped"
    notice_id = int(payloads(preview[0])[0].split(":")[2])
    started = [r for r in await harness.press(1, f"nt:ok:{notice_id}:0", message_id="50") if r["chat_id"] == "1"]
    assert [r["text"] for r in started] == ["📤 Đang gửi 0/6 · lỗi 0"] and started[0]["edit_message_id"] == "50"

    rows = await notice_rows(harness, notice_id)
    by_person = {r.person_id: r for r in rows}
    expected = {people[k] for k in ("x1_officer", "x2_officer", "t1", "t2", "a1", "zalo")}
    assert set(by_person) == expected, "each active person once; not the author, not the inactive"
    assert (by_person[people["t1"]].channel, by_person[people["t1"]].chat_id) == ("zalo", "z10")
    row = by_person[people["t2"]]
    assert (row.priority, row.kind, row.status) == (notices.NOTICE_PRIORITY, "notice", "pending")
    assert row.payload["buttons"] == [[{"label": "✅ Đã nhận", "payload": f"nack:{notice_id}"}]]
    assert "THÔNG BÁO #" in row.payload["text"] and "Nguyễn Văn Quản" in row.payload["text"]
    async with harness.uow() as uow:
        notice = await uow.session.get(Notice, notice_id)
        audit = (await uow.session.execute(select(AuditEntry).where(AuditEntry.action == "notice.send"))).scalar_one()
    assert notice is not None and notice.status == "sending" and notice.total == 6
    assert (notice.progress_chat_id, notice.progress_message_id) == ("1", "50")
    assert audit.actor_id == people["admin"] and audit.target == f"notice:{notice_id}"
    assert audit.details["recipients"] == 6 and audit.details["audience"]["kind"] == "all"
    assert "Họp giao ban" in audit.details["text"]
    again = await harness.press(1, f"nt:ok:{notice_id}:0", message_id="50")
    assert again == [] and len(await notice_rows(harness, notice_id)) == 6, "a second press sends nothing"


async def test_unit_role_and_channel_audiences(harness: Harness, people: dict[str, int]) -> None:
    async with harness.uow() as uow:
        admin = await uow.people.get(people["admin"])
        assert admin is not None
        x1 = await uow.units.by_code("X1")
        assert x1 is not None

        async def who(audience: Audience) -> set[int]:
            return {c.person_id for c in await notices.resolve(uow, admin, audience)}

        assert await who(Audience("unit", unit_id=x1.id)) == {people["x1_officer"], people["t1"], people["t2"]}
        assert await who(Audience("role", role="officer")) == {people["x1_officer"], people["x2_officer"]}
        assert await who(Audience("channel", channel="zalo")) == {people["t1"], people["zalo"]}
        assert await who(Audience("channel", channel="telegram")) == {
            people["x1_officer"], people["x2_officer"], people["t2"], people["a1"]}


async def test_officer_cannot_reach_outside_their_subtree(harness: Harness, people: dict[str, int]) -> None:
    async with harness.uow() as uow:
        officer = await uow.people.get(people["x1_officer"])
        assert officer is not None
        x2 = await uow.units.by_code("X2")
        assert x2 is not None
        everyone = {c.person_id for c in await notices.resolve(uow, officer, Audience("all"))}
        assert everyone == {people["t1"], people["t2"]}
        reporters = {c.person_id for c in await notices.resolve(uow, officer, Audience("role", role="reporter"))}
        assert reporters == {people["t1"], people["t2"]}
        with pytest.raises(OutOfScope):
            await notices.resolve(uow, officer, Audience("unit", unit_id=x2.id))
    # Through the chat: a typed code outside the subtree, and a forged button, are both refused.
    await harness.send(2, "/thongbao Kiểm tra an ninh trật tự")
    unit_step = await harness.press(2, "nt:a:unit")
    assert "X1" in unit_step[0]["text"] and all(p != f"nt:u:{x2.id}" for p in payloads(unit_step[0]))
    refused = await harness.send(2, "X2")
    assert "trong phạm vi của bạn" in texts_of(refused)
    forged = await harness.press(2, f"nt:u:{x2.id}")
    assert "ngoài phạm vi" in texts_of(forged)
    ok = await harness.send(2, "x1-t2")
    assert "Số người nhận: <b>1</b>" in texts_of(ok) and "Thôn 2" in texts_of(ok)
    async with harness.uow() as uow:
        assert (await uow.session.execute(select(OutboxItem).where(OutboxItem.kind == "notice"))).first() is None


async def test_who_may_broadcast(harness: Harness, people: dict[str, int]) -> None:
    await harness.add_person(40, "Cán Bộ Không Đơn Vị", "officer", None)
    assert "chưa gắn với đơn vị" in texts_of(await harness.send(40, "/thongbao"))
    assert "không dành cho vai trò" in texts_of(await harness.send(10, "/thongbao"))
    assert await harness.press(10, "nt:a:all") == []


async def test_cancel_and_bad_input(harness: Harness, people: dict[str, int]) -> None:
    await harness.send(1, "/thongbao")
    sticker = await harness.send(1, None, attachments=[Attachment("sticker", file_id="s")])
    assert "ảnh hoặc một tệp" in texts_of(sticker)
    assert "tối đa" in texts_of(await harness.send(1, "x" * 3501))
    await harness.send(1, "Nội dung")
    preview = await harness.press(1, "nt:a:role")
    preview = await harness.press(1, "nt:r:reporter")
    cancel = next(p for p in payloads(preview[0]) if p.startswith("nt:x:"))
    assert "Đã hủy" in texts_of(await harness.press(1, cancel))
    notice_id = int(cancel.split(":")[2])
    assert await harness.press(1, f"nt:ok:{notice_id}:0") == []
    async with harness.uow() as uow:
        notice = await uow.session.get(Notice, notice_id)
        assert notice is not None and notice.status == "cancelled"
        assert await uow.states.get(people["admin"]) is None
    # After a cancel, free text is a report again, not a notice.
    assert "THÔNG BÁO" not in texts_of(await harness.send(1, "Tình hình ổn định"))
    # A notice abandoned half-way does not capture messages for ever.
    await harness.send(2, "/thongbao")
    assert "Soạn thông báo" not in texts_of(await harness.send(2, "Nội dung"))
    harness.clock.advance(hours=3)
    assert "Đã nhận báo cáo số" in texts_of(await harness.send(2, "Bà con phản ánh đường liên thôn bị sạt lở"))


async def test_photo_notice_sends_the_file_first_on_telegram_and_a_note_on_zalo(
    harness: Harness, people: dict[str, int]
) -> None:
    await harness.send(1, "/thongbao")
    await harness.send(1, "Lịch tiếp dân tháng 3", attachments=[Attachment("photo", file_id="PHOTO1")])
    preview = await harness.press(1, "nt:a:all")
    assert "📎 Kèm theo: anh.jpg" in preview[0]["text"]
    notice_id = int(payloads(preview[0])[0].split(":")[2])
    await harness.press(1, f"nt:ok:{notice_id}:0")
    async with harness.uow() as uow:
        files = (await uow.session.execute(select(OutboxItem).where(OutboxItem.kind == "notice-file"))).scalars().all()
    main = {r.person_id: r for r in await notice_rows(harness, notice_id)}
    assert {f.person_id for f in files} == {p for p, r in main.items() if r.channel == "telegram"}
    assert all(f.id < main[f.person_id].id and f.payload["file"]["file_id"] == "PHOTO1" for f in files)
    assert "chưa gửi được qua Zalo" in main[people["zalo"]].payload["text"]


# --- acknowledgements, progress, results, reminders ----------------------------------------------


async def test_acknowledge_with_the_button_and_with_a_number_on_zalo(harness: Harness, people: dict[str, int]) -> None:
    notice_id = await broadcast(harness, 1, "Nộp báo cáo trước ngày 14", ["nt:a:all"])
    await deliver(harness)
    acked = await harness.press(11, f"nack:{notice_id}", message_id="77")
    assert "Bạn đã xác nhận lúc" in acked[0]["text"] and acked[0]["edit_message_id"] == "77"
    assert "buttons" not in acked[0], "the button goes away"
    assert await harness.press(11, f"nack:{notice_id}") == [], "pressing again changes nothing"
    assert await harness.press(2, f"nack:{notice_id + 1}") == []
    # On Zalo the button is the numbered choice "1", remembered when the notice was delivered.
    zalo = await harness.send("z13", "1", channel="zalo")
    assert "Đã ghi nhận" in texts_of(zalo)
    async with harness.uow() as uow:
        acks = (await uow.session.execute(select(NoticeAck.person_id))).scalars().all()
    assert sorted(acks) == sorted([people["t2"], people["zalo"]])


async def test_progress_is_updated_in_place_then_a_summary_with_reasons(harness: Harness, people: dict[str, int]) -> None:
    notice_id = await broadcast(harness, 1, "Thông báo khẩn về phòng chống bão", ["nt:a:all"])
    telegram = FakeChannel("telegram")
    telegram.errors["3"] = [ChannelBlocked("Forbidden: bot was blocked by the user")]
    telegram.errors["12"] = [ChannelRejected("Bad Request: chat not found")]
    s = Sender(harness.sf, harness.clock, {"telegram": telegram, "zalo": FakeChannel("zalo")},
               {"telegram": 40.0, "zalo": 40.0}, per_chat_interval=0)
    tracker = notices.NoticeProgress(harness.sf, harness.clock, every=0.05, wake=s.wake)
    s.listeners.append(tracker)
    runner = asyncio.create_task(s.run())
    try:
        for _ in range(200):
            await asyncio.sleep(0.05)
            async with harness.uow() as uow:
                notice = await uow.session.get(Notice, notice_id)
                if notice is not None and notice.status == "done" and not await uow.outbox.pending_count():
                    break
    finally:
        s.stop()
        await runner
    async with harness.uow() as uow:
        progress = (await uow.session.execute(select(OutboxItem).where(OutboxItem.kind == "progress")
                                              .order_by(OutboxItem.id))).scalars().all()
        summary = await uow.outbox.by_key(f"nsum:{notice_id}")
        notice = await uow.session.get(Notice, notice_id)
        blocked = await uow.people.identity("telegram", "3")
    assert notice is not None and notice.status == "done" and notice.finished_at is not None
    assert progress and all(p.payload["edit_message_id"] == "50" and p.chat_id == "1" for p in progress)
    assert progress[-1].payload["text"] == "✅ Đã gửi xong: 4/6 · lỗi 2"
    assert all(re.fullmatch(r"📤 Đang gửi \d/6 · lỗi \d", p.payload["text"]) for p in progress[:-1])
    assert summary is not None and summary.status == "sent"
    assert "Đã gửi tới: 4/6 người" in summary.payload["text"]
    assert "chặn bot: 1 · đã rời hoặc ngừng dùng: 1 · lỗi khác: 0" in summary.payload["text"]
    assert blocked is not None and not blocked.active


def test_progress_text_uses_vietnamese_thousands() -> None:
    from bot import texts

    assert texts.notice_progress(1240, 5000, 3) == "📤 Đang gửi 1.240/5.000 · lỗi 3"
    assert texts.fmt_duration(200) == "3 phút 20 giây" and texts.fmt_duration(3900) == "1 giờ 5 phút"
    assert notices.failure_reason("blocked: Forbidden: user is deactivated") == "left"
    assert notices.failure_reason("blocked: Forbidden: bot was blocked by the user") == "blocked"
    assert notices.failure_reason("unavailable: Bad Gateway") == "other"


async def test_results_show_delivery_acknowledgements_and_silent_units(harness: Harness, people: dict[str, int]) -> None:
    notice_id = await broadcast(harness, 1, "Kiểm tra tình hình tôn giáo", ["nt:a:role", "nt:r:reporter"])
    await deliver(harness)
    await harness.press(11, f"nack:{notice_id}")  # Thôn 2 acknowledged; Thôn 1 and Ấp 1 did not
    result = texts_of(await harness.send(1, f"/thongbao_ketqua {notice_id}"))
    assert "Người nhận: 4" in result and "Đã gửi tới: 4" in result
    assert "Đã bấm «Đã nhận»: <b>1</b>/4 (25%)" in result
    assert "Đơn vị chưa có ai xác nhận (2)" in result and "Thôn 1 – Xã Một" in result and "Ấp 1 – Xã Hai" in result
    assert "Thôn 2" not in result.split("chưa có ai xác nhận")[1]
    listing = texts_of(await harness.send(1, "/thongbao_ketqua"))
    assert f"#{notice_id}" in listing and "đã nhận 1" in listing
    assert "Không tìm thấy" in texts_of(await harness.send(2, f"/thongbao_ketqua {notice_id}")), "not the author"


async def test_reminder_goes_once_after_the_set_time_to_those_who_did_not_acknowledge(
    harness: Harness, people: dict[str, int]
) -> None:
    notice_id = await broadcast(harness, 1, "Hạn nộp báo cáo quý", ["nt:a:role", "nt:r:reporter"], remind=24)
    await harness.press(11, f"nack:{notice_id}")  # acknowledged as soon as it was queued
    await deliver(harness)
    async with harness.uow() as uow:
        # Not due yet; but the delivery ended with no listener running, so the notice is finished
        # (final progress edit and summary), as the scheduler does after a crash.
        assert await notices.send_due_reminders(uow, harness.clock.now() + timedelta(hours=23)) == 2
        await uow.commit()
    assert (await _rows(harness, "reminder")) == []
    harness.clock.advance(hours=24, seconds=1)
    woken: list[bool] = []
    queued = await notices.reminder_tick(harness.sf, lambda: woken.append(True))(harness.clock.now())
    assert woken == [True]
    reminders = await _rows(harness, "reminder")
    assert {r.person_id for r in reminders} == {people["t1"], people["a1"], people["zalo"]} and queued == 4
    assert all("NHẮC LẠI THÔNG BÁO" in r.payload["text"] and r.payload["buttons"][0][0]["payload"] == f"nack:{notice_id}"
               for r in reminders)
    async with harness.uow() as uow:
        assert await notices.send_due_reminders(uow, harness.clock.now() + timedelta(hours=48)) == 0
        note = await uow.outbox.by_key(f"nremsum:{notice_id}")
    assert note is not None and "tới 3 người" in note.payload["text"]
    result = texts_of(await harness.send(1, f"/thongbao_ketqua {notice_id}"))
    assert "Nhắc lại: đã nhắc lúc" in result


async def _rows(h: Harness, kind: str) -> list[OutboxItem]:
    async with h.uow() as uow:
        return list((await uow.session.execute(select(OutboxItem).where(OutboxItem.kind == kind))).scalars().all())


async def test_progress_is_throttled(harness: Harness, people: dict[str, int]) -> None:
    """Outcomes arrive every 0.1 s; with a 0.3 s interval, far fewer progress edits than outcomes."""
    from bot.sender import Outcome

    notice_id = await broadcast(harness, 1, "Thông báo thử", ["nt:a:all"])
    rows = await notice_rows(harness, notice_id)
    tracker = notices.NoticeProgress(harness.sf, harness.clock, every=0.3)
    for row in rows:
        async with harness.uow() as uow:
            await uow.outbox.record([{"id": row.id, "status": "sent", "attempts": 1, "not_before": None,
                                      "claimed_at": None, "sent_at": harness.clock.now(), "message_id": "1",
                                      "error": None}])
            await uow.commit()
        tracker([Outcome(row.id, "sent", dedupe_key=row.dedupe_key)])
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    edits = await _rows(harness, "progress")
    assert 2 <= len(edits) <= 4, [e.payload["text"] for e in edits]
    assert edits[-1].payload["text"] == "✅ Đã gửi xong: 6/6 · lỗi 0"
