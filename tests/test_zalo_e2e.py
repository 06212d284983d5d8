"""End to end on Zalo: the real client and app against the fake Zalo server over HTTP (polling and webhook)."""

from __future__ import annotations

import re

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.sandbox.fake_zalo import FakeZaloServer
from storage.models import InboxItem, Report
from tests.e2e import free_port, make_settings, seed

ZUSER = "6ede9afa66b88fe6d6a9"
ZUSER2 = "7abc9afa66b88fe6d6b0"


@pytest.fixture
async def servers():
    async with FakeTelegramServer() as tg, FakeZaloServer(allow_http_webhook=True) as zalo:
        yield tg, zalo


def zalo_texts(zalo: FakeZaloServer, chat: str) -> list[str]:
    return [m.text or "" for m in zalo.sent_to(chat)]


async def wait_zalo(zalo: FakeZaloServer, chat: str, contains: str, timeout: float = 8.0) -> str:
    return await zalo.wait_for(lambda: next((t for t in zalo_texts(zalo, chat) if contains in t), None), timeout=timeout)


async def make_app(db_url: str, tg: FakeTelegramServer, zalo: FakeZaloServer, **extra) -> App:
    settings = make_settings(db_url, tg, **extra)
    app = App(settings)
    app.attach_telegram(tg.token, tg.base_url)
    app.attach_zalo(zalo.token, zalo.base_url, poll_timeout=1, min_interval=0.05)
    return app


async def register_on_zalo(zalo: FakeZaloServer, code: str, user: str = ZUSER) -> None:
    await zalo.send_text(user, f"/dangky {code}", display_name="Điểu Thị Lan")
    confirm = await wait_zalo(zalo, user, "Điểu Thị Lan")
    assert "1. Đúng" in confirm and "Trả lời 1" in confirm
    await zalo.send_text(user, "1")
    await wait_zalo(zalo, user, "Đăng ký thành công")


async def test_registration_report_numbered_correction_and_alert_by_polling(servers, db_url: str) -> None:
    tg, zalo = servers
    zalo.replay_last = True  # the platform is reported to replay consumed updates
    app = await make_app(db_url, tg, zalo)
    try:
        code = await seed(app, [(300, "Trần Thị Ban", "officer", "P")])
        await app.start(webhook=False, scheduler=False)
        await register_on_zalo(zalo, code)
        await zalo.send_text(ZUSER, "Bà con thôn 1 kéo đến UBND xã phản đối, có xô xát, 2 người bị thương")
        receipt = await wait_zalo(zalo, ZUSER, "Đã nhận báo cáo số")
        number = int(re.search(r"#(\d+)", receipt).group(1))
        assert "1. ▫️ Dân tộc" in receipt and "Trả lời 1, 2, 3, 4 hoặc 5" in receipt
        await tg.wait_for(lambda c: c.method.lower() == "sendmessage" and "TIN KHẨN" in c.params.get("text", ""))
        await zalo.send_text(ZUSER, "1")
        await wait_zalo(zalo, ZUSER, "Chủ đề: Dân tộc")
        await zalo.send_text(ZUSER, "9")
        await wait_zalo(zalo, ZUSER, "một số từ 1 đến 5")
        await app.zalo.inbound.drain()
        async with app.session_factory() as session:
            report = await session.get(Report, number)
            reports = (await session.execute(select(func.count(Report.id)))).scalar_one()
        assert report.dan_toc and report.tag_meta["dan_toc"]["source"] == "reporter" and report.urgent
        assert reports == 1, "replayed updates file nothing twice"
        assert all(len(t) <= 2000 for t in zalo_texts(zalo, ZUSER))
    finally:
        await app.stop()
    assert tg.invalid_calls == []


async def test_webhook_mode_duplicates_and_wrong_secret(servers, db_url: str) -> None:
    tg, zalo = servers
    zalo.duplicate_webhook = True
    port = free_port()
    app = await make_app(
        db_url, tg, zalo, webhook_base_url=f"http://127.0.0.1:{port}", webhook_secret="zalo-secret-123",
        webhook_listen_host="127.0.0.1", webhook_listen_port=port,
    )
    try:
        code = await seed(app)
        await app.start(webhook=True, scheduler=False)
        assert zalo.webhook is not None and zalo.webhook.secret_token == "zalo-secret-123"
        await register_on_zalo(zalo, code)
        await zalo.send_text(ZUSER, "Giá phân bón tăng cao, bà con lo lắng")
        await wait_zalo(zalo, ZUSER, "Đã nhận báo cáo số")
        url = f"http://127.0.0.1:{port}/webhook/zalo"
        fake = {"event_name": "message.text.received", "message": {
            "message_id": "ffffffffffffffffffff", "date": 1789033572455, "text": "Có người lạ truyền đạo",
            "from": {"id": ZUSER, "display_name": "X", "is_bot": False}, "chat": {"id": ZUSER, "chat_type": "PRIVATE"}}}
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=fake, headers={"X-Bot-Api-Secret-Token": "wrong-secret"}) as resp:
                assert resp.status in (401, 403)
            async with http.post(url, json=fake) as resp:
                assert resp.status in (401, 403)
            async with http.post(url, data=b"{oops", headers={"X-Bot-Api-Secret-Token": "zalo-secret-123"}) as resp:
                assert resp.status == 400
        await app.zalo.inbound.drain()
        async with app.session_factory() as session:
            reports = (await session.execute(select(func.count(Report.id)))).scalar_one()
            inbox = (await session.execute(select(func.count(InboxItem.id)).where(InboxItem.channel == "zalo"))).scalar_one()
        assert reports == 1 and inbox == 3, "each update stored once despite duplicate deliveries"
    finally:
        await app.stop()


async def test_linked_person_gets_each_notice_once_on_the_preferred_channel(servers, db_url: str) -> None:
    tg, zalo = servers
    app = await make_app(db_url, tg, zalo)
    try:
        await seed(app, [(10, "Báo Cáo Viên", "reporter", "X1-T1"), (51, "Quản Trị", "admin", "P")])
        await app.start(webhook=False, scheduler=False)
        tg.send_text(10, "/lienket")
        call = await tg.wait_for(lambda c: c.method.lower() == "sendmessage" and "Mã liên kết" in c.params.get("text", ""))
        code = re.search(r"/lienket ([A-Z0-9-]+)", call.params["text"]).group(1)
        await zalo.send_text(ZUSER2, f"/lienket {code}", display_name="Báo Cáo Viên")
        await wait_zalo(zalo, ZUSER2, "Đã liên kết Zalo")
        await zalo.send_text(ZUSER2, "/kenh zalo")
        await wait_zalo(zalo, ZUSER2, "gửi qua Zalo")
        await zalo.send_text(ZUSER2, "/toi")
        await wait_zalo(zalo, ZUSER2, "Telegram, Zalo")
        tg.send_text(51, "/lich chay moi")
        await tg.wait_for(lambda c: "tin nhắn mới" in str(c.params.get("text", "")))
        await wait_zalo(zalo, ZUSER2, "Đến kỳ báo cáo")
        await tg.wait_idle()
        assert not any("Đến kỳ báo cáo" in e.plain_text for e in tg.sent_to(10)), "not on Telegram as well"
        assert sum("Đến kỳ báo cáo" in t for t in zalo_texts(zalo, ZUSER2)) == 1
    finally:
        await app.stop()
