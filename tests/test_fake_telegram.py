"""Drive the fake Telegram Bot API server with the real aiogram Bot over loopback HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.sandbox.fake_telegram import SECRET_HEADER, FakeTelegramServer, demo_png, image_size
from bot.sandbox.spec import load_spec, parse_telegram_html, validate_call

TOKEN = "123456:TEST"
USER = 42


def make_bot(server: FakeTelegramServer, token: str = TOKEN) -> Bot:
    return Bot(token=token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    fake = FakeTelegramServer(TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    client = make_bot(server)
    yield client
    await client.session.close()


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in pairs])


class SendFancy(TelegramMethod[bool]):
    """A method Telegram does not have."""

    __returning__: ClassVar[type] = bool
    __api_method__: ClassVar[str] = "sendFancy"

    chat_id: int


class SendMessageWithoutChat(TelegramMethod[Message]):
    """sendMessage with the required chat_id left out, which aiogram's own model would refuse."""

    __returning__: ClassVar[type] = Message
    __api_method__: ClassVar[str] = "sendMessage"

    text: str


# --------------------------------------------------------------------- basics


async def test_get_me_returns_the_bot(bot: Bot, server: FakeTelegramServer) -> None:
    me = await bot.get_me()

    assert (me.id, me.is_bot, me.username) == (123456, True, "danvan_sandbox_bot")
    assert server.calls[-1].method == "getMe" and server.calls[-1].ok


async def test_unknown_token_is_unauthorized(server: FakeTelegramServer) -> None:
    stranger = make_bot(server, token="999:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await stranger.session.close()
    assert server.calls[-1].status == 401


async def test_method_names_are_case_insensitive_and_json_bodies_work(server: FakeTelegramServer) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{server.base_url}/bot{TOKEN}/SENDMESSAGE"
        async with session.post(url, json={"chat_id": USER, "text": "xin chào"}) as response:
            body = await response.json()
        async with session.get(f"{server.base_url}/bot{TOKEN}/getme") as response:
            me = await response.json()

    assert body["ok"] and body["result"]["text"] == "xin chào"
    assert me["result"]["id"] == 123456
    assert server.invalid_calls == []


# --------------------------------------------------------------------- messages


async def test_send_with_inline_keyboard_is_shown_in_the_chat(bot: Bot, server: FakeTelegramServer) -> None:
    sent = await bot.send_message(USER, "Chọn chủ đề", reply_markup=keyboard(("Y tế", "topic:health")))

    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "topic:health"
    shown = server.sent_to(USER)
    assert [(m.message_id, m.text, m.callback_data) for m in shown] == [(sent.message_id, "Chọn chủ đề", ["topic:health"])]
    assert server.invalid_calls == []


async def test_html_text_comes_back_as_plain_text_with_entities(bot: Bot) -> None:
    sent = await bot.send_message(USER, "<b>Khẩn</b> – xem <a href='https://example.org'>hướng dẫn</a>", parse_mode="HTML")

    assert sent.text == "Khẩn – xem hướng dẫn"
    assert [e.type for e in sent.entities or []] == ["bold", "text_link"]
    assert sent.html_text == '<b>Khẩn</b> – xem <a href="https://example.org">hướng dẫn</a>'


async def test_edits_replace_what_the_chat_shows(bot: Bot, server: FakeTelegramServer) -> None:
    sent = await bot.send_message(USER, "Bước 1", reply_markup=keyboard(("Tiếp", "next")))

    await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("Xong", "done")))
    assert server.sent_to(USER)[0].callback_data == ["done"]

    edited = await bot.edit_message_text("Bước 2", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.edit_date is not None
    shown = server.sent_to(USER)[0]
    assert (shown.text, shown.callback_data, shown.edited) == ("Bước 2", [], True)  # no markup = keyboard removed

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Bước 2", chat_id=USER, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("?", chat_id=USER, message_id=999)


async def test_deleted_messages_disappear(bot: Bot, server: FakeTelegramServer) -> None:
    first = await bot.send_message(USER, "một")
    await bot.send_message(USER, "hai")

    assert await bot.delete_message(USER, first.message_id) is True

    assert [m.text for m in server.sent_to(USER)] == ["hai"]
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, first.message_id)


async def test_document_upload_reads_back_byte_for_byte(bot: Bot, server: FakeTelegramServer) -> None:
    payload = bytes(range(256)) * 40 + "Báo cáo tuần".encode()

    sent = await bot.send_document(USER, BufferedInputFile(payload, "bao-cao-tuan.xlsx"), caption="Tổng hợp")

    shown = server.sent_to(USER)[0]
    assert shown.file is not None
    assert (shown.kind, shown.caption, shown.file.filename) == ("document", "Tổng hợp", "bao-cao-tuan.xlsx")
    assert shown.content == payload
    assert sent.document is not None and sent.document.file_size == len(payload)
    file = await bot.get_file(sent.document.file_id)
    downloaded = await bot.download_file(file.file_path or "")
    assert downloaded is not None and downloaded.read() == payload
    assert server.invalid_calls == []


async def test_photo_by_upload_and_by_file_id(bot: Bot, server: FakeTelegramServer) -> None:
    png = demo_png(40, 30)

    first = await bot.send_photo(USER, BufferedInputFile(png, "anh.png"), caption="Hiện trường")
    assert first.photo is not None
    file_id = first.photo[-1].file_id
    again = await bot.send_photo(USER, file_id)

    assert (first.photo[-1].width, first.photo[-1].height) == (40, 30)
    assert again.photo is not None and again.photo[-1].file_id == file_id
    assert [m.content for m in server.sent_to(USER)] == [png, png]
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(USER, "no-such-file")


async def test_chat_actions_commands_and_profile(bot: Bot, server: FakeTelegramServer) -> None:
    await bot.send_chat_action(USER, "typing")
    await bot.set_my_commands([BotCommand(command="start", description="Bắt đầu")])
    await bot.set_my_commands([BotCommand(command="admin", description="Quản trị")], scope=BotCommandScopeChat(chat_id=7))
    await bot.set_my_description("Bot báo cáo tình hình cơ sở")
    await bot.set_my_short_description("Báo cáo nhanh")

    assert server.chat_actions == [(USER, "typing")]
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=7))] == ["admin"]
    assert await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=7))
    assert server.commands_for({"type": "chat", "chat_id": 7}) == []
    assert (await bot.get_my_description()).description == "Bot báo cáo tình hình cơ sở"
    chat = await bot.get_chat(USER)
    assert (chat.id, chat.type) == (USER, "private")
    assert server.invalid_calls == []


# --------------------------------------------------------------------- updates


async def test_get_updates_long_polls_and_confirms_with_offset(bot: Bot, server: FakeTelegramServer) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await server.wait_until(lambda: server.polling)
    assert not poll.done()  # nothing to deliver yet: the request waits

    server.send_text(USER, "/start", first_name="Lan")
    updates = await asyncio.wait_for(poll, timeout=2)

    assert [u.message.text for u in updates if u.message] == ["/start"]
    assert updates[0].message is not None and updates[0].message.from_user is not None
    assert updates[0].message.from_user.first_name == "Lan"
    server.send_text(USER, "tin thứ hai")
    again = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert [u.message.text for u in again if u.message] == ["tin thứ hai"]
    assert again[0].update_id == updates[0].update_id + 1
    assert await bot.get_updates(offset=again[-1].update_id + 1, timeout=0) == []


async def test_empty_long_poll_times_out(bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    assert await bot.get_updates(timeout=1) == []
    assert loop.time() - started >= 0.9


async def test_simulated_people_produce_updates_aiogram_parses(bot: Bot, server: FakeTelegramServer) -> None:
    server.send_photo(USER, caption="Ngập ở thôn 3")
    server.send_sticker(USER)
    server.send_voice(USER, duration=4)
    server.send_location(USER, 21.03, 105.85)
    text = server.send_text(USER, "sai chính tả")
    server.edit_text(USER, text["message"]["message_id"], "đúng chính tả")
    server.send_text(7, "chào nhóm", chat_type="group", chat_id=-100)

    updates = await bot.get_updates(timeout=0)

    messages = [u.message for u in updates if u.message]
    assert messages[0].photo and messages[0].caption == "Ngập ở thôn 3"
    assert messages[1].sticker and messages[2].voice and messages[2].voice.duration == 4
    assert messages[3].location and messages[3].location.latitude == pytest.approx(21.03)
    assert updates[5].edited_message is not None and updates[5].edited_message.text == "đúng chính tả"
    assert messages[-1].chat.type == "group" and messages[-1].chat.id == -100
    assert [u.update_id for u in updates] == list(range(updates[0].update_id, updates[0].update_id + 7))
    assert [m.from_bot for m in server.history(USER)] == [False] * 5
    photo = await bot.get_file(messages[0].photo[-1].file_id)
    downloaded = await bot.download_file(photo.file_path or "")
    assert downloaded is not None and downloaded.read() == server.history(USER)[0].content


async def test_injected_updates_keep_sequence_and_raw_text_is_sent_once(server: FakeTelegramServer) -> None:
    first = server.inject_update({"message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}})
    raw = server.inject_update("{not json")
    explicit = server.inject_update({"update_id": 500, "poll": {}})
    after = server.send_text(USER, "hi")

    assert raw["update_id"] == first["update_id"] + 1
    assert after["update_id"] == explicit["update_id"] + 1 == 501
    url = f"{server.base_url}/bot{TOKEN}/getUpdates"
    async with aiohttp.ClientSession() as session:
        async with session.post(url) as response:
            text = await response.text()
        assert "{not json" in text
        async with session.post(url) as response:
            assert "{not json" not in await response.text()


async def test_offsets_confirm_by_id_even_out_of_order_and_unasked_kinds_are_dropped(
    bot: Bot, server: FakeTelegramServer
) -> None:
    message = {"message_id": 1, "date": 0, "chat": {"id": USER, "type": "private"}, "text": "x"}
    server.inject_update({"update_id": 500, "message": message})
    server.send_text(USER, "tin 501")
    server.inject_update({"update_id": 10, "message": message})  # an older id, queued last

    assert [u.update_id for u in await bot.get_updates(offset=501, timeout=0)] == [501]
    assert await bot.get_updates(offset=502, timeout=0) == []

    burst = [server.send_text(USER, f"tin {i}")["update_id"] for i in range(300)]
    assert [u.update_id for u in await bot.get_updates(offset=burst[150], timeout=0)] == burst[150:250]
    assert [u.update_id for u in await bot.get_updates(offset=-2, timeout=0)] == burst[-2:]

    sent = await bot.send_message(USER, "Khẩn?", reply_markup=keyboard(("Có", "yes")))
    server.send_text(USER, "tin thường")
    server.press_button(USER, sent.message_id, "yes")
    only_presses = await bot.get_updates(offset=burst[-1] + 1, timeout=0, allowed_updates=["callback_query"])
    assert [u.callback_query is not None for u in only_presses] == [True]
    # The message was dropped when the bot asked for presses only, as Telegram never creates it.
    later = await bot.get_updates(offset=only_presses[0].update_id + 1, timeout=0,
                                  allowed_updates=["message", "callback_query"])
    assert later == []


async def test_press_button_and_answer_callback_query(bot: Bot, server: FakeTelegramServer) -> None:
    sent = await bot.send_message(USER, "Có khẩn cấp không?", reply_markup=keyboard(("Có", "urgent:yes")))
    server.press_button(USER, sent.message_id, "urgent:yes")

    updates = await bot.get_updates(timeout=0)
    query = updates[0].callback_query

    assert query is not None and query.data == "urgent:yes"
    assert isinstance(query.message, Message) and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="Đã ghi nhận")
    assert server.callback_answers[query.id]["text"] == "Đã ghi nhận"
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(ValueError):
        server.press_button(USER, sent.message_id, "not-a-button")


async def test_second_poller_ends_the_first_with_conflict(server: FakeTelegramServer) -> None:
    first, second = make_bot(server), make_bot(server)
    try:
        waiting = asyncio.create_task(first.get_updates(timeout=5))
        await server.wait_until(lambda: server.polling)
        await second.get_updates(timeout=0)
        with pytest.raises(TelegramConflictError):
            await asyncio.wait_for(waiting, timeout=2)
    finally:
        await first.session.close()
        await second.session.close()


# --------------------------------------------------------------------- webhook


async def test_webhook_pushes_updates_with_the_secret_header(bot: Bot, server: FakeTelegramServer) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    answers = [500]  # the first delivery fails, so the server must retry

    async def receive(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.Response(status=answers.pop(0) if answers else 200, text="{}")

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="bi-mat_123")
        with pytest.raises(TelegramConflictError):
            await bot.get_updates(timeout=0)

        update = server.send_text(USER, "báo cáo qua webhook")
        # Wait on the server's record: the receiver sees a POST before the server has read its answer.
        await server.wait_until(lambda: len(server.webhook_deliveries) >= 2)

        assert [secret for secret, _ in received] == ["bi-mat_123", "bi-mat_123"]
        assert received[-1][1] == update
        assert [d.status for d in server.webhook_deliveries] == [500, 200]
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0 and info.last_error_message is not None
        assert await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == []
    finally:
        await runner.cleanup()


async def test_a_method_in_the_webhook_answer_is_executed(bot: Bot, server: FakeTelegramServer) -> None:
    router = Router()

    @router.message()
    async def echo(message: Message) -> Any:
        return message.answer(f"Đã nhận: {message.text}")  # returned, not awaited: sent back in the HTTP answer

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token="abc").register(app, path="/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook", secret_token="abc")
        server.send_text(USER, "ngập lụt")
        await server.wait_for(lambda c: c.method == "sendMessage")
    finally:
        await runner.cleanup()

    assert [m.text for m in server.sent_to(USER)] == ["Đã nhận: ngập lụt"]
    assert server.invalid_calls == []


# --------------------------------------------------------------------- validation


async def test_invalid_calls_are_rejected_and_recorded(bot: Bot, server: FakeTelegramServer) -> None:
    with pytest.raises(TelegramNotFound):
        await bot(SendFancy(chat_id=USER))
    with pytest.raises(TelegramBadRequest, match="chat_id"):
        await bot(SendMessageWithoutChat(text="thiếu người nhận"))
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "a" * 4097)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "chọn", reply_markup=keyboard(("Quá dài", "x" * 65)))
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "dòng 1<br>dòng 2", parse_mode="HTML")

    assert [c.method for c in server.invalid_calls] == ["sendFancy", "sendMessage", "sendMessage", "sendMessage",
                                                        "sendMessage"]
    assert server.invalid_calls[0].status == 404
    assert server.sent_to(USER) == []


async def test_deprecated_parameters_aiogram_still_sends_are_accepted_with_a_warning(server: FakeTelegramServer) -> None:
    lenient = Bot(token=TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)),
                  default=DefaultBotProperties(parse_mode="HTML", link_preview_is_disabled=True))
    try:
        await lenient.send_message(USER, "<b>Thông báo</b> https://example.org")
        server.allow_deprecated = False
        with pytest.raises(TelegramBadRequest, match="unknown parameter 'disable_web_page_preview'"):
            await lenient.send_message(USER, "lần nữa")
    finally:
        await lenient.session.close()

    assert server.calls[0].ok and server.calls[0].params["link_preview_options"] == {"is_disabled": True}
    assert server.calls[0].warnings == ["deprecated parameter 'disable_web_page_preview', use 'link_preview_options'"]


async def test_exactly_at_the_limits_is_accepted(bot: Bot, server: FakeTelegramServer) -> None:
    await bot.send_message(USER, "ả" * 4096, reply_markup=keyboard(("Vừa đủ", "é" * 32)))  # 64 bytes
    await bot.send_document(USER, BufferedInputFile(b"x", "a.txt"), caption="c" * 1024)

    assert server.invalid_calls == []


def test_validate_call_reports_each_documented_limit() -> None:
    assert validate_call("sendMessage", {"chat_id": "1", "text": "ok"}) == []
    assert validate_call("nope", {}) == ["unknown method 'nope'"]
    assert validate_call("sendMessage", {"chat_id": "1", "text": "ok", "reply_to_message_id": "5"}) == [
        "unknown parameter 'reply_to_message_id'"]
    assert "caption is too long" in validate_call("sendPhoto", {"chat_id": 1, "photo": "id", "caption": "c" * 1025})[0]
    assert "too long" in validate_call("answerCallbackQuery", {"callback_query_id": "1", "text": "t" * 201})[0]
    problems = validate_call("setMyCommands", {"commands": '[{"command": "Bao-Cao", "description": ""}]'})
    assert [p.split(":")[0].split(" ")[0] for p in problems] == ["BOT_COMMAND_INVALID", "command"]
    assert validate_call("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "a", "bad": 1}]]}}) == [
        "reply_markup.inline_keyboard[0][0].bad: unknown field of InlineKeyboardButton"]
    assert validate_call("getUpdates", {"offset": "soon"}) == ["offset: expected Integer, got str"]


def test_spec_copy_and_html_parsing() -> None:
    spec = load_spec()

    assert spec.version == "Bot API 10.1"
    assert spec.method_name("SENDMESSAGE") == "sendMessage"
    parsed = parse_telegram_html("<b>Đ</b>😀<i>x</i>")
    assert parsed.text == "Đ😀x"
    assert parsed.entities == [{"type": "bold", "offset": 0, "length": 1}, {"type": "italic", "offset": 3, "length": 1}]
    assert parse_telegram_html("<b>open").errors == ["unclosed start tag 'b'"]
    assert image_size(demo_png(12, 7)) == (12, 7)


# --------------------------------------------------------------------- failures and limits


async def test_injected_429_raises_retry_after(bot: Bot, server: FakeTelegramServer) -> None:
    server.fail_next("sendMessage", 429, retry_after=7)

    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER, "lần 1")
    await bot.send_message(USER, "lần 2")

    assert caught.value.retry_after == 7
    assert len(server.rate_limited_calls) == 1
    assert [m.text for m in server.sent_to(USER)] == ["lần 2"]


async def test_injected_errors_map_to_aiogram_exceptions(bot: Bot, server: FakeTelegramServer) -> None:
    server.fail_next("sendMessage", 403)
    server.fail_next("*", 500, count=2)

    with pytest.raises(TelegramServerError):
        await bot.get_me()
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.send_message(USER, "a")
    with pytest.raises(TelegramServerError):
        await bot.send_message(USER, "b")
    await bot.send_message(USER, "c")


async def test_global_rate_is_enforced_across_chats() -> None:
    async with FakeTelegramServer(TOKEN, global_rate=5) as server:
        bot = make_bot(server)
        try:
            for chat_id in range(1, 6):
                await bot.send_message(chat_id, "thông báo")
            with pytest.raises(TelegramRetryAfter) as caught:
                await bot.send_message(6, "thông báo")
            await asyncio.sleep(caught.value.retry_after)
            await bot.send_message(6, "thông báo")
        finally:
            await bot.session.close()

    assert caught.value.retry_after == 1
    assert len(server.rate_limited_calls) == 1
    assert [len(server.sent_to(chat_id)) for chat_id in range(1, 7)] == [1] * 6


async def test_per_chat_rate_only_slows_that_chat() -> None:
    async with FakeTelegramServer(TOKEN, per_chat_rate=1) as server:
        bot = make_bot(server)
        try:
            await bot.send_message(1, "một")
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(1, "hai")
            await bot.send_message(2, "một")
        finally:
            await bot.session.close()


async def test_blocked_user_is_forbidden(bot: Bot, server: FakeTelegramServer) -> None:
    server.block_user(USER)

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "còn đó không?")
    await bot.send_message(USER + 1, "người khác vẫn nhận được")

    server.unblock_user(USER)
    await bot.send_message(USER, "đã bỏ chặn")
    assert [m.text for m in server.sent_to(USER)] == ["đã bỏ chặn"]


# --------------------------------------------------------------------- a whole bot


async def test_dispatcher_polling_end_to_end(bot: Bot, server: FakeTelegramServer) -> None:
    router = Router()

    @router.message(F.text == "/start")
    async def start(message: Message) -> None:
        await message.answer("Chào <b>bạn</b>!", parse_mode="HTML", reply_markup=keyboard(("Báo cáo", "report")))

    @router.callback_query(F.data == "report")
    async def report(query: CallbackQuery) -> None:
        await query.answer("Đang mở biểu mẫu")
        assert isinstance(query.message, Message)
        await query.message.edit_text("Hãy mô tả tình hình.")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    polling = asyncio.create_task(dispatcher.start_polling(bot, polling_timeout=1, handle_signals=False,
                                                           close_bot_session=False))
    try:
        mark = server.mark()
        server.send_text(USER, "/start")
        reply = await server.wait_for(lambda c: c.method == "sendMessage", after=mark)
        server.press_button(USER, reply.result["message_id"], "report")
        await server.wait_for(lambda c: c.method == "editMessageText", after=mark)
        await server.wait_idle()
    finally:
        await dispatcher.stop_polling()
        await asyncio.wait_for(polling, timeout=5)

    shown = server.sent_to(USER)
    assert [(m.text, m.callback_data) for m in shown] == [("Hãy mô tả tình hình.", [])]
    assert list(server.callback_answers.values())[0]["text"] == "Đang mở biểu mẫu"
    assert server.pending_updates == []
    assert server.invalid_calls == []
    Update.model_validate(server.updates[0])  # what the server queued is a valid Update
