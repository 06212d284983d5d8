"""Situation reports end to end through the pipeline: filing, receipts, corrections, alerts, office side."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.types import Attachment, Location
from storage.models import AuditEntry, Report
from tests.harness import Harness, texts_of


@pytest.fixture
async def people(harness: Harness) -> dict[str, int]:
    return {
        "rep": await harness.add_person(100, "Điểu Hùng", "reporter", "X1-T1"),
        "rep2": await harness.add_person(101, "Lê Sóc", "reporter", "X2-A1"),
        "commune": await harness.add_person(200, "Cán Bộ Xã Một", "officer", "X1"),
        "other_commune": await harness.add_person(201, "Cán Bộ Xã Hai", "officer", "X2"),
        "province": await harness.add_person(300, "Trần Thị Ban", "officer", "P"),
    }


async def report(h: Harness, rid: int) -> Report:
    async with h.uow() as uow:
        r = await uow.reports.get(rid)
        assert r is not None
        return r


def receipt_number(replies: list[dict]) -> int:
    import re

    m = re.search(r"#(\d+)", replies[0]["text"])
    assert m, replies
    return int(m.group(1))


async def test_plain_report_gets_receipt_with_topics_reasons_and_buttons(harness: Harness, people: dict) -> None:
    replies = await harness.send(100, "Đồng bào Khmer ở sóc tổ chức lễ Chôl Chnăm Thmây tại chùa, an toàn")
    text = replies[0]["text"]
    assert "Đã nhận báo cáo số" in text and "Dân tộc" in text and "Tôn giáo" in text
    assert "Căn cứ" in text and "khmer" in text.lower()
    payloads = [b["payload"] for row in replies[0]["buttons"] for b in row]
    n = receipt_number(replies)
    assert f"rp:t:{n}:d" in payloads and f"rp:u:{n}" in payloads and f"rp:x:{n}" in payloads
    assert all(len(p.encode()) <= 64 for p in payloads)
    r = await report(harness, n)
    assert (r.dan_toc, r.ton_giao, r.urgent, r.state) == (True, True, False, "filed")
    assert r.period_key == "2026-Q1"


async def test_without_diacritics_is_tagged_like_with(harness: Harness, people: dict) -> None:
    a = receipt_number(await harness.send(100, "Bà con phản ánh giá phân bón tăng cao"))
    harness.clock.advance(minutes=5)
    b = receipt_number(await harness.send(100, "ba con phan anh gia phan bon tang cao"))
    ra, rb = await report(harness, a), await report(harness, b)
    assert (ra.nhan_dan, ra.dan_toc, ra.ton_giao) == (rb.nhan_dan, rb.dan_toc, rb.ton_giao) == (True, False, False)


async def test_urgent_report_alerts_every_officer_above_and_only_them(harness: Harness, people: dict) -> None:
    replies = await harness.send(100, "Khoảng 50 hộ kéo đến UBND xã đòi giải quyết tiền đền bù")
    n = receipt_number(replies)
    assert "KHẨN" in replies[0]["text"]
    alerts = [r for r in replies if "TIN KHẨN" in r["text"]]
    assert sorted(r["person_id"] for r in alerts) == sorted([people["commune"], people["province"]])
    assert all(r["buttons"][0][0]["payload"] == f"ack:{n}" for r in alerts)
    assert "kéo đến UBND" in alerts[0]["text"] and "Xã Một" in alerts[0]["text"]


async def test_acknowledgement_is_recorded_and_shown_to_others_and_reporter(harness: Harness, people: dict) -> None:
    n = receipt_number(await harness.send(100, "Hai nhóm thanh niên đánh nhau, 2 người bị thương"))
    replies = await harness.press(200, f"ack:{n}", message_id="77")
    r = await report(harness, n)
    assert r.status == "acknowledged" and r.acknowledged_by == people["commune"]
    to_reporter = [x for x in replies if x["person_id"] == people["rep"]]
    assert "Cán Bộ Xã Một" in to_reporter[0]["text"]
    province_update = [x for x in replies if x["person_id"] == people["province"]]
    assert province_update and "Đã nắm: Cán Bộ Xã Một" in province_update[0]["text"]
    again = await harness.press(300, f"ack:{n}")
    assert again == []  # only a toast: already acknowledged by someone else


async def test_reporter_corrects_topics_and_urgency_from_the_receipt(harness: Harness, people: dict) -> None:
    n = receipt_number(await harness.send(100, "Bà con thôn 2 vui mừng vì có điện"))
    replies = await harness.press(100, f"rp:t:{n}:d", message_id="5")
    assert replies[0]["edit_message_id"] == "5" and "Dân tộc" in replies[0]["text"]
    replies = await harness.press(100, f"rp:u:{n}", message_id="5")
    r = await report(harness, n)
    assert r.dan_toc and r.urgent and r.tag_meta["dan_toc"]["source"] == "reporter"
    assert any("TIN KHẨN" in x["text"] for x in replies), "marking urgent by hand alerts the office"
    assert await harness.press(101, f"rp:u:{n}") == [], "someone else's receipt buttons do nothing"


async def test_not_a_report_discards(harness: Harness, people: dict) -> None:
    n = receipt_number(await harness.send(100, "Giá heo hơi giảm, hộ chăn nuôi lo lắng"))
    assert "Đã bỏ" in texts_of(await harness.press(100, f"rp:x:{n}"))
    assert (await report(harness, n)).state == "discarded"


async def test_chatter_is_not_filed_silently_and_questions_are_answered(harness: Harness, people: dict) -> None:
    replies = await harness.send(100, "hạn nộp báo cáo là ngày nào?")
    text = replies[0]["text"]
    assert "Hạn nộp báo cáo quý I năm 2026" in text and "14/03/2026" in text
    assert "Có lưu thành báo cáo" in text
    payloads = [b["payload"] for row in replies[0]["buttons"] for b in row]
    draft_id = int(next(p for p in payloads if p.startswith("rp:f:")).split(":")[2])
    assert (await report(harness, draft_id)).state == "draft"
    harness.clock.advance(minutes=10)
    replies = await harness.send(100, "cảm ơn ban nhiều")
    assert "cảm ơn" in replies[0]["text"].lower()
    await harness.press(100, f"rp:f:{draft_id}")
    assert (await report(harness, draft_id)).state == "filed"


async def test_photo_without_caption_is_kept_and_description_asked(harness: Harness, people: dict) -> None:
    replies = await harness.send(100, None, attachments=[Attachment("photo", file_id="AgAD")])
    assert "mô tả" in texts_of(replies)
    replies = await harness.send(100, "Sạt lở bờ sông, 3 hộ phải di dời khẩn cấp")
    n = receipt_number(replies)
    r = await report(harness, n)
    assert r.attachments[0]["file_id"] == "AgAD" and r.urgent and r.state == "filed"
    loc = await harness.send(101, None, location=Location(11.9, 106.9))
    assert "vị trí" in texts_of(loc)


async def test_several_messages_in_a_row_make_one_report(harness: Harness, people: dict) -> None:
    n = receipt_number(await harness.send(100, "Điểm nhóm Tin Lành tổ 2 sinh hoạt bình thường"))
    harness.clock.advance(seconds=40)
    replies = await harness.send(100, "Bà con phản ánh đường liên thôn xuống cấp")
    assert "bổ sung" in replies[0]["text"] and receipt_number(replies) == n
    r = await report(harness, n)
    assert r.ton_giao and r.nhan_dan and "liên thôn" in r.text


async def test_hashtags_force_topics_and_urgency(harness: Harness, people: dict) -> None:
    replies = await harness.send(100, "Có việc cần báo ngay #khan #tongiao")
    n = receipt_number(replies)
    r = await report(harness, n)
    assert r.urgent and r.ton_giao


async def test_my_reports_edit_and_withdraw_within_24_hours(harness: Harness, people: dict) -> None:
    n = receipt_number(await harness.send(100, "Chùa Bửu Quang xin phép xây cổng tam quan"))
    assert f"#{n}" in texts_of(await harness.send(100, "/cuatoi"))
    harness.clock.advance(minutes=5)
    edited = await harness.send(100, f"/sua {n} Người dân phản ánh lò than gây khói bụi")
    assert "Đã sửa" in texts_of(edited)
    r = await report(harness, n)
    assert r.nhan_dan and not r.ton_giao
    assert "chính mình" in texts_of(await harness.send(101, f"/huy {n}"))
    assert "Đã rút" in texts_of(await harness.send(100, f"/huy {n}"))
    assert (await report(harness, n)).state == "withdrawn"
    assert "đã rút" in texts_of(await harness.send(100, "/cuatoi"))
    n2 = receipt_number(await harness.send(100, "Giá lúa tăng, nông dân phấn khởi"))
    harness.clock.advance(hours=25)
    assert "24 giờ" in texts_of(await harness.send(100, f"/huy {n2}"))
    async with harness.uow() as uow:
        actions = (await uow.session.execute(select(AuditEntry.action))).scalars().all()
    assert "report.withdraw" in actions and "report.edit" in actions


async def test_officers_see_only_their_subtree_and_reporters_see_nothing_of_others(harness: Harness, people: dict) -> None:
    mine = receipt_number(await harness.send(100, "Bà con thôn 1 phản ánh thiếu nước tưới"))
    other = receipt_number(await harness.send(101, "Nhà thờ giáo xứ tổ chức lễ Giáng sinh"))
    listing = texts_of(await harness.send(200, "/xem"))
    assert f"#{mine}" in listing and f"#{other}" not in listing
    assert "Không tìm thấy" in texts_of(await harness.send(200, f"/bc {other}"))
    assert f"#{other}" in texts_of(await harness.send(201, f"/bc {other}"))
    province = texts_of(await harness.send(300, "/xem"))
    assert f"#{mine}" in province and f"#{other}" in province
    assert f"#{mine}" not in texts_of(await harness.send(300, "/xem tongiao"))
    assert "không dành cho vai trò" in texts_of(await harness.send(100, f"/bc {other}"))
    assert "không dành cho vai trò" in texts_of(await harness.send(100, "/xem"))
    assert f"#{other}" not in texts_of(await harness.send(100, "/cuatoi"))
    assert await harness.press(200, f"ack:{other}") == []


async def test_officer_retags_changes_status_and_replies(harness: Harness, people: dict) -> None:
    n = receipt_number(await harness.send(100, "Người dân thắc mắc việc tăng giá nước sạch"))
    detail = texts_of(await harness.send(300, f"/bc {n}"))
    assert "Căn cứ phân loại" in detail and "Lịch sử" in detail
    await harness.press(300, f"of:t:{n}:d")
    r = await report(harness, n)
    assert r.dan_toc and r.tag_meta["dan_toc"]["source"] == "officer"
    status = await harness.press(300, f"of:s:{n}:p")
    assert any(x["person_id"] == people["rep"] and "đang xử lý" in x["text"] for x in status)
    await harness.press(300, f"of:r:{n}")
    replies = await harness.send(300, "Xã đã làm việc với công ty cấp nước, sẽ trả lời bà con trong tuần")
    to_rep = [x for x in replies if x["person_id"] == people["rep"]]
    assert to_rep and f"#{n}" in to_rep[0]["text"] and "công ty cấp nước" in to_rep[0]["text"]
    direct = await harness.send(300, f"/traloi {n} Cảm ơn đồng chí đã báo cáo")
    assert any(x["person_id"] == people["rep"] for x in direct)
    async with harness.uow() as uow:
        actions = (await uow.session.execute(select(AuditEntry.action))).scalars().all()
    assert "report.retag" in actions


async def test_redelivered_message_files_nothing_twice(harness: Harness, people: dict) -> None:
    await harness.send(100, "Bà con phản ánh giá phân bón tăng", message_id="900", update_key="u1")
    await harness.send(100, "Bà con phản ánh giá phân bón tăng", message_id="900", update_key="u2")
    async with harness.uow() as uow:
        count = len((await uow.session.execute(select(Report.id))).all())
    assert count == 1


async def test_user_text_is_escaped_in_html(harness: Harness, people: dict) -> None:
    replies = await harness.send(100, "Bà con <b>phản ánh</b> đánh nhau & bị thương")
    alerts = [r for r in replies if "TIN KHẨN" in r["text"]]
    assert "&lt;b&gt;phản ánh&lt;/b&gt;" in alerts[0]["text"] and "&amp;" in alerts[0]["text"]
