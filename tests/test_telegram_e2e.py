"""End to end: the real aiogram bot against the local fake Bot API server over HTTP."""

from __future__ import annotations

import json

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.sandbox.fake_telegram import FakeTelegramServer
from storage.models import InboxItem, Person, Report
from tests.e2e import free_port, make_settings, running_app, seed


@pytest.fixture
async def server():
    async with FakeTelegramServer() as srv:
        yield srv


def last_text(server: FakeTelegramServer, chat_id: int) -> str:
    return server.sent_to(chat_id)[-1].plain_text


async def wait_message(server: FakeTelegramServer, chat_id: int, contains: str, timeout: float = 5.0):
    def match(call) -> bool:
        return call.ok and call.method.lower() in ("sendmessage", "editmessagetext") and str(
            call.params.get("chat_id")) == str(chat_id) and contains in str(call.params.get("text", ""))

    return await server.wait_for(match, timeout=timeout)


async def test_register_report_alert_and_acknowledge_over_http(server: FakeTelegramServer, db_url: str) -> None:
    settings = make_settings(db_url, server)
    async with running_app(settings) as app:
        code = await seed(app, [(300, "Trần Thị Ban", "officer", "P")])
        await app.start(webhook=False)
        # A stranger, then registration through the invite.
        server.send_text(777, "xin chào", first_name="Điểu", )
        await wait_message(server, 777, "/dangky")
        server.send_text(777, f"/start {code}", first_name="Điểu Thị Mai")
        await wait_message(server, 777, "Điểu Thị Mai")
        confirm = server.sent_to(777)[-1]
        assert "reg:ok" in confirm.callback_data
        server.press_button(777, confirm.message_id, "reg:ok")
        await wait_message(server, 777, "Đăng ký thành công")
        assert server.sent_to(777)[-1].message_id == confirm.message_id, "the confirmation is edited in place"
        await server.wait_for(lambda c: c.method.lower() == "answercallbackquery")
        await server.wait_for(lambda c: c.method.lower() == "setmycommands" and "chat" in json.dumps(c.params))
        server.send_text(777, "/toi")
        await wait_message(server, 777, "Tỉnh A › Xã Một › Thôn 1")
        # An urgent report reaches the province officer with an acknowledge button.
        server.send_text(777, "Khoảng 50 hộ kéo đến UBND xã đòi tiền đền bù, có xô xát")
        await wait_message(server, 777, "Đã nhận báo cáo số")
        await wait_message(server, 300, "TIN KHẨN")
        alert = server.sent_to(300)[-1]
        ack = next(d for d in alert.callback_data if d.startswith("ack:"))
        server.press_button(300, alert.message_id, ack)
        await wait_message(server, 777, "tiếp nhận")
        await wait_message(server, 300, "Đã nắm: Trần Thị Ban")
        await server.wait_idle()
    assert server.invalid_calls == [], [(c.method, c.problems) for c in server.invalid_calls]
    default_menu = [c["command"] for c in server.commands_for(None)]
    assert default_menu == ["start", "dangky", "trogiup"]


async def test_bad_input_gets_clear_answers(server: FakeTelegramServer, db_url: str) -> None:
    settings = make_settings(db_url, server)
    async with running_app(settings) as app:
        await seed(app, [(10, "Báo Cáo Viên", "reporter", "X1-T1")])
        await app.start(webhook=False)
        server.send_sticker(10)
        await wait_message(server, 10, "nhãn dán")
        server.send_voice(10)
        await wait_message(server, 10, "tin nhắn thoại")
        server.send_text(10, "/khonglenh")
        await wait_message(server, 10, "Không có lệnh /khonglenh")
        long_text = ("Bà con phản ánh đường xuống cấp. " * 200)[:4096]
        server.send_text(10, long_text)
        await wait_message(server, 10, "Đã nhận báo cáo số")
        sent = server.send_text(10, "Giá phân bón tăng cao")
        await wait_message(server, 10, "Đã nhận báo cáo số")
        server.edit_text(10, sent["message"]["message_id"], "Giá phân bón tăng rất cao")
        await wait_message(server, 10, "/sua")
        server.send_text(10, "/toi", chat_id=-1001, chat_type="group", title="Nhóm lạ")
        await server.wait_idle()
        assert server.sent_to(-1001) == []
    assert server.invalid_calls == []


async def test_webhook_secret_malformed_json_and_duplicates(server: FakeTelegramServer, db_url: str) -> None:
    port = free_port()
    settings = make_settings(
        db_url, server, webhook_base_url=f"http://127.0.0.1:{port}", webhook_secret="s3cr3t_token",
        webhook_listen_host="127.0.0.1", webhook_listen_port=port,
    )
    async with running_app(settings) as app:
        await seed(app, [(10, "Báo Cáo Viên", "reporter", "X1-T1")])
        await app.start(webhook=True)
        assert server.webhook is not None
        server.send_text(10, "Bà con phản ánh giá phân bón tăng")
        await wait_message(server, 10, "Đã nhận báo cáo số")
        url = f"http://127.0.0.1:{port}/webhook/telegram"
        update = {"update_id": 999, "message": {"message_id": 55, "date": 1770000000, "text": "Giá lúa giảm mạnh",
                                               "chat": {"id": 10, "type": "private"},
                                               "from": {"id": 10, "is_bot": False, "first_name": "B"}}}
        async with aiohttp.ClientSession() as http:
            for headers, status in (({}, 401), ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, 401)):
                async with http.post(url, json=update, headers=headers) as resp:
                    assert resp.status == status
            good = {"X-Telegram-Bot-Api-Secret-Token": "s3cr3t_token"}
            async with http.post(url, data=b"{not json", headers=good) as resp:
                assert resp.status == 400
            async with http.post(url, json={"update_id": "x"}, headers=good) as resp:
                assert resp.status == 400
            for _ in range(2):
                async with http.post(url, json=update, headers=good) as resp:
                    assert resp.status == 200
        await wait_message(server, 10, "Đã nhận báo cáo số")
        await server.wait_idle()
        async with app.session_factory() as session:
            reports = (await session.execute(select(func.count(Report.id)))).scalar_one()
            inbox = (await session.execute(select(func.count(InboxItem.id)))).scalar_one()
            persons = (await session.execute(select(func.count(Person.id)))).scalar_one()
    assert reports == 2 and inbox == 2 and persons == 1
    assert server.invalid_calls == []


async def test_429_from_telegram_delays_and_the_reply_still_arrives(server: FakeTelegramServer, db_url: str) -> None:
    settings = make_settings(db_url, server)
    async with running_app(settings) as app:
        await seed(app, [(10, "Báo Cáo Viên", "reporter", "X1-T1")])
        await app.start(webhook=False)
        server.fail_next("sendMessage", status=429, retry_after=1)
        server.send_text(10, "/toi")
        await wait_message(server, 10, "Báo Cáo Viên", timeout=8)
    assert len(server.rate_limited_calls) == 1


async def test_polling_confirms_updates_only_once_they_are_stored(server: FakeTelegramServer, db_url: str) -> None:
    settings = make_settings(db_url, server)
    async with running_app(settings) as app:
        await seed(app, [(100, "Điểu Hùng", "reporter", "X1-T1")])
        real = app.pipeline.ingest_many
        failures = []

        async def disk_full_once(channel: str, updates: list) -> dict:
            if not failures:
                failures.append(len(updates))
                raise OSError("disk full")
            return await real(channel, updates)

        app.pipeline.ingest_many = disk_full_once  # type: ignore[method-assign]
        await app.start(webhook=False)
        server.send_text(100, "Bà con phản ánh giá phân bón tăng cao")
        await wait_message(server, 100, "Đã nhận báo cáo số", timeout=10)
        await server.wait_idle()
        # The failed write did not confirm the update: it came again and was filed once.
        assert failures == [1] and server.pending_updates == []
        async with app.session_factory() as session:
            assert await session.scalar(select(func.count(Report.id))) == 1
            assert await session.scalar(select(func.count(InboxItem.id))) == 1


async def test_a_burst_of_reports_is_answered_in_each_chats_order(server: FakeTelegramServer, db_url: str) -> None:
    settings = make_settings(db_url, server, telegram_rate=1000)
    async with running_app(settings) as app:
        await seed(app, [(100 + i, f"Báo cáo viên {i}", "reporter", "X1-T1") for i in range(40)])
        for i in range(40):  # queued before polling starts: they arrive in one getUpdates answer
            server.send_text(100 + i, f"Bà con phản ánh giá phân bón tăng cao, tin {i}")
            server.send_text(100 + i, "/cuatoi")
        await app.start(webhook=False)
        for i in range(40):
            await wait_message(server, 100 + i, f"tin {i}", timeout=20)
        await server.wait_idle()
        for i in range(40):
            receipt, listing = [c.plain_text for c in server.sent_to(100 + i)]
            assert "Đã nhận báo cáo số" in receipt and f"tin {i}" in listing
    assert server.invalid_calls == []


async def test_a_changed_role_shows_in_the_chat_menu_at_the_next_help_or_refused_command(
    server: FakeTelegramServer, db_url: str
) -> None:
    settings = make_settings(db_url, server)
    async with running_app(settings) as app:
        await seed(app, [(300, "Trần Thị Ban", "officer", "P")])
        await app.start(webhook=False)
        chat = {"type": "chat", "chat_id": 300}

        async def menu_after(text: str, reply: str) -> list[str]:
            calls = len(server.calls_to("setMyCommands"))
            server.send_text(300, text)
            await wait_message(server, 300, reply)
            await server.wait_for(lambda c: len(server.calls_to("setMyCommands")) > calls)
            return [c["command"] for c in server.commands_for(chat)]

        officer_menu = await menu_after("/trogiup", "/xem")
        assert "xem" in officer_menu
        async with app.session_factory() as session:  # as `danvan people set N --role reporter` does
            person = (await session.execute(select(Person).where(Person.name == "Trần Thị Ban"))).scalar_one()
            person.role = "reporter"
            await session.commit()
        # The stale menu still offers /xem; picking it is refused and the menu is the reporter's now.
        reporter_menu = await menu_after("/xem", "không dành cho vai trò")
        assert "xem" not in reporter_menu and "cuatoi" in reporter_menu
        await server.wait_idle()
    assert server.invalid_calls == []


async def test_a_message_with_a_broken_character_is_filed_and_the_next_ones_too(
    server: FakeTelegramServer, db_url: str
) -> None:
    # A lone surrogate escape, as a broken client can produce: not valid Unicode text, but JSON.
    settings = make_settings(db_url, server)
    async with running_app(settings) as app:
        await seed(app, [(100, "Điểu Hùng", "reporter", "X1-T1")])
        await app.start(webhook=False)
        server.inject_update(
            '{"message": {"message_id": 1, "date": 1700000000, "chat": {"id": 100, "type": "private"}, '
            '"from": {"id": 100, "is_bot": false, "first_name": "H"}, '
            '"text": "Ba con phan anh gia phan bon tang \\ud800 cao"}}'
        )
        await wait_message(server, 100, "Đã nhận báo cáo số", timeout=10)
        server.send_text(100, "Giáo xứ tổ chức lễ Phục sinh, trật tự tốt")
        await server.wait_for(lambda c: len([m for m in server.sent_to(100) if "Đã nhận báo cáo số" in m.plain_text]) == 2)
        await server.wait_idle()
        async with app.session_factory() as session:
            texts = sorted((await session.execute(select(Report.text))).scalars())
        assert texts[0] == "Ba con phan anh gia phan bon tang \ufffd cao"  # the rest is kept
        assert server.pending_updates == []
    assert server.invalid_calls == []
