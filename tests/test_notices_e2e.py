"""End to end in the sandbox: an admin broadcasts to the demo province over the fake Bot API, watches the
progress message change in place, and sees the acknowledgements come in."""

from __future__ import annotations

import re

import handlers.notices  # noqa: F401  (registers the handlers, as handlers/router.py does)
from bot.notices import NoticeProgress
from bot.sandbox.fake_telegram import Call, FakeTelegramServer
from bot.sandbox.run import start_sandbox
from bot.settings import Settings
from storage.uow import UnitOfWork

ADMIN, OFFICER, REPORTERS = 1001, 1002, (1003, 1004)
EXTRA = range(5001, 5031)  # thirty more hamlet staff in the demo province


def _text(call: Call) -> str:
    return str(call.params.get("text") or "")


async def wait_text(server: FakeTelegramServer, chat_id: int, pattern: str, *, method: str | None = None,
                    after: int = 0, timeout: float = 15.0) -> Call:  # noqa: ASYNC109
    def match(call: Call) -> bool:
        return (call.ok and str(call.params.get("chat_id")) == str(chat_id) and re.search(pattern, _text(call))
                is not None and (method is None or call.method == method))

    return await server.wait_for(match, timeout=timeout, after=after)


async def test_admin_broadcasts_to_the_demo_province_and_sees_acknowledgements(db_url: str) -> None:
    settings = Settings(_env_file=None, database_url=db_url, report_merge_seconds=0)  # type: ignore[call-arg]
    sandbox = await start_sandbox(settings, web_port=0)
    server, app = sandbox.telegram, sandbox.app
    try:
        assert app.sender is not None
        assert any(isinstance(listener, NoticeProgress) for listener in app.sender.listeners), "wired by the App"
        async with UnitOfWork(app.session_factory) as uow:
            hamlet = await uow.units.by_code("DEMO-LN-A3")
            assert hamlet is not None
            for uid in EXTRA:
                person = await uow.people.add(f"Cán bộ {uid}", "reporter", hamlet.id, preferred_channel="telegram")
                await uow.people.add_identity(person, "telegram", str(uid), str(uid), person.name)
            await uow.commit()
        for uid in EXTRA:
            server.add_user(uid, f"Cán bộ {uid}")
        server.block_user(EXTRA[0])

        server.send_text(ADMIN, "/thongbao")
        await wait_text(server, ADMIN, "Soạn thông báo")
        server.send_text(ADMIN, "Họp trực tuyến toàn tỉnh lúc 14 giờ hôm nay.")
        question = await wait_text(server, ADMIN, "Gửi thông báo tới ai")
        server.press_button(ADMIN, question.result["message_id"], "nt:a:all")
        preview = await wait_text(server, ADMIN, "Số người nhận: <b>33</b>", method="editMessageText")
        send = next(d for d in server.sent_to(ADMIN)[-1].callback_data if d.startswith("nt:ok:"))
        notice_id = int(send.split(":")[2])
        server.press_button(ADMIN, preview.result["message_id"], send)

        done = await wait_text(server, ADMIN, r"Đã gửi xong: 32/33 · lỗi 1", method="editMessageText", timeout=30)
        assert done.params["message_id"] == preview.result["message_id"], "the progress is one message, edited"
        summary = await wait_text(server, ADMIN, "Đã gửi xong thông báo", method="sendMessage")
        assert "chặn bot: 1" in _text(summary) and "Thời gian gửi" in _text(summary)
        for uid in (OFFICER, *REPORTERS, *EXTRA[1:]):
            assert sum(f"THÔNG BÁO #{notice_id}<" in e.body for e in server.sent_to(uid)) == 1, uid

        for uid in (OFFICER, REPORTERS[0], EXTRA[1]):
            message = next(e for e in server.sent_to(uid) if f"THÔNG BÁO #{notice_id}<" in e.body)
            server.press_button(uid, message.message_id, f"nack:{notice_id}")
            await wait_text(server, uid, "Bạn đã xác nhận lúc", method="editMessageText")
        mark = server.mark()
        server.send_text(ADMIN, f"/thongbao_ketqua {notice_id}")
        result = _text(await wait_text(server, ADMIN, "Kết quả thông báo", after=mark))
        assert "Đã bấm «Đã nhận»: <b>3</b>/32" in result
        assert "Đơn vị chưa có ai xác nhận (1)" in result and "Sóc Ruộng" in result
        await server.wait_idle()
        assert server.invalid_calls == [], [(c.method, c.problems) for c in server.invalid_calls]
    finally:
        await sandbox.stop()


async def test_a_photo_notice_arrives_as_a_photo_before_its_text(db_url: str) -> None:
    settings = Settings(_env_file=None, database_url=db_url, report_merge_seconds=0)  # type: ignore[call-arg]
    sandbox = await start_sandbox(settings, web_port=0)
    server = sandbox.telegram
    try:
        server.send_text(ADMIN, "/thongbao")
        await wait_text(server, ADMIN, "Soạn thông báo")
        server.send_photo(ADMIN, "Sơ đồ điểm bầu cử")
        question = await wait_text(server, ADMIN, "Gửi thông báo tới ai")
        server.press_button(ADMIN, question.result["message_id"], "nt:a:role")
        roles = await wait_text(server, ADMIN, "vai trò nào", method="editMessageText")
        server.press_button(ADMIN, roles.result["message_id"], "nt:r:reporter")
        preview = await wait_text(server, ADMIN, "Kèm theo", method="editMessageText")
        send = next(d for d in server.sent_to(ADMIN)[-1].callback_data if d.startswith("nt:ok:"))
        server.press_button(ADMIN, preview.result["message_id"], send)
        await wait_text(server, REPORTERS[0], "THÔNG BÁO #", method="sendMessage")
        kinds = [e.kind for e in server.sent_to(REPORTERS[0])]
        assert kinds[-2:] == ["photo", "text"], kinds
    finally:
        await sandbox.stop()
