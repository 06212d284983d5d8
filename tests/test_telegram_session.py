"""The JSON session: each call means to the Bot API exactly what aiogram's form meant; uploads stay multipart."""

from __future__ import annotations

import datetime
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatAction, ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    BanChatMember,
    EditMessageText,
    RestrictChatMember,
    SendChatAction,
    SendMediaGroup,
    SendMessage,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    ChatPermissions,
    ForceReply,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    LinkPreviewOptions,
    ReplyParameters,
)

from bot.sandbox.fake_telegram import Call, FakeTelegramServer, demo_png
from bot.sandbox.spec import load_spec
from bot.telegram.channel import NO_PREVIEW, SendText, keyboard_json
from bot.telegram.runtime import make_bot
from bot.telegram.session import JsonAiohttpSession

TOKEN = "123456:TEST"
USER = 42
UPLOAD_KEYS = {"document", "photo"}  # an upload's part name is random: compare the file, not the name


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text="✅ Nhân dân", callback_data="t:7:nd"),
         InlineKeyboardButton(text="▫️ Dân tộc", callback_data="t:7:dt")],
        [InlineKeyboardButton(text="Hướng dẫn", url="https://example.org/huong-dan")],
    ])


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(TOKEN) as fake:
        yield fake


@pytest.fixture
async def bots(server: FakeTelegramServer) -> AsyncIterator[dict[str, Bot]]:
    """aiogram's own session (a form per call) and the project's bot, against the same server."""
    form = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))
    project = make_bot(TOKEN, server.base_url)
    assert isinstance(project.session, JsonAiohttpSession)
    yield {"form": form, "json": project}
    for bot in (form, project):
        await bot.session.close()


async def both(server: FakeTelegramServer, bots: dict[str, Bot],
               call: Callable[[Bot], Awaitable[Any]]) -> dict[str, Call]:
    """Make the same call with each bot and return what the server received from each."""
    seen = {}
    for name, bot in bots.items():
        await call(bot)
        seen[name] = server.calls[-1]
        assert seen[name].ok, seen[name].error
    assert server.invalid_calls == []
    return seen


def meaning(call: Call, *ignore: str) -> dict[str, Any]:
    return {k: v for k, v in call.params.items() if k not in ignore}


async def test_send_message_with_html_keyboard_and_reply_means_the_same(
    server: FakeTelegramServer, bots: dict[str, Bot]
) -> None:
    question = server.send_text(USER, "Khoảng 50 hộ kéo đến UBND xã")["message"]["message_id"]

    seen = await both(server, bots, lambda bot: bot.send_message(
        USER, "Đã nhận báo cáo số <b>#7</b> &amp; <i>đã phân loại</i>", parse_mode="HTML",
        reply_markup=keyboard(), link_preview_options=NO_PREVIEW,
        reply_parameters=ReplyParameters(message_id=question, allow_sending_without_reply=True),
    ))

    assert (seen["form"].content_type, seen["json"].content_type) == (
        "application/x-www-form-urlencoded", "application/json")
    assert meaning(seen["json"]) == meaning(seen["form"]) == {
        "chat_id": USER, "text": "Đã nhận báo cáo số <b>#7</b> &amp; <i>đã phân loại</i>", "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
        "reply_parameters": {"message_id": question, "allow_sending_without_reply": True},
        "reply_markup": {"inline_keyboard": [
            [{"text": "✅ Nhân dân", "callback_data": "t:7:nd"}, {"text": "▫️ Dân tộc", "callback_data": "t:7:dt"}],
            [{"text": "Hướng dẫn", "url": "https://example.org/huong-dan"}]]},
    }
    form_msg, json_msg = (server.sent_to(USER)[i] for i in (0, 1))
    assert json_msg.plain_text == form_msg.plain_text == "Đã nhận báo cáo số #7 & đã phân loại"
    assert json_msg.message["entities"] == form_msg.message["entities"]
    assert json_msg.callback_data == form_msg.callback_data == ["t:7:nd", "t:7:dt"]
    # The button a person presses carries the same data back, whichever way the keyboard was sent.
    update = server.press_button(USER, json_msg.message_id, "t:7:dt")
    assert update["callback_query"]["data"] == "t:7:dt"


async def test_defaults_and_deprecated_parameters_mean_the_same(server: FakeTelegramServer) -> None:
    default = DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True, protect_content=True)
    bots = {"form": Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)),
                        default=default),
            "json": Bot(TOKEN, session=JsonAiohttpSession(api=TelegramAPIServer.from_base(server.base_url)),
                        default=default)}
    try:
        question = server.send_text(USER, "hỏi")["message"]["message_id"]
        seen = await both(server, bots, lambda bot: bot.send_message(
            USER, "<b>Thông báo</b>", reply_to_message_id=question, disable_notification=False))
    finally:
        for bot in bots.values():
            await bot.session.close()

    assert meaning(seen["json"]) == meaning(seen["form"]) == {
        "chat_id": USER, "text": "<b>Thông báo</b>", "parse_mode": "HTML", "protect_content": True,
        "disable_notification": False, "link_preview_options": {"is_disabled": True},
        "disable_web_page_preview": True, "reply_to_message_id": question,
    }
    assert seen["json"].warnings == seen["form"].warnings != []


async def test_edits_mean_the_same(server: FakeTelegramServer, bots: dict[str, Bot]) -> None:
    first = {name: (await bot.send_message(USER, "Chọn chủ đề", reply_markup=keyboard())).message_id
             for name, bot in bots.items()}
    edited = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="✅ Tôn giáo", callback_data="t:7:tg")]])

    texts: dict[str, Call] = {}
    markups: dict[str, Call] = {}
    for name, bot in bots.items():
        await bot.edit_message_text(text="Đã chọn: <b>Tôn giáo</b>", chat_id=USER, message_id=first[name],
                                    parse_mode="HTML", reply_markup=edited, link_preview_options=NO_PREVIEW)
        texts[name] = server.calls[-1]
        await bot.edit_message_reply_markup(chat_id=USER, message_id=first[name], reply_markup=None)
        markups[name] = server.calls[-1]

    assert texts["json"].content_type == "application/json"
    assert meaning(texts["json"], "message_id") == meaning(texts["form"], "message_id")
    assert texts["json"].params["reply_markup"] == {"inline_keyboard": [[{"text": "✅ Tôn giáo", "callback_data": "t:7:tg"}]]}
    assert meaning(markups["json"], "message_id") == meaning(markups["form"], "message_id") == {"chat_id": USER}
    shown = {m.message_id: m for m in server.sent_to(USER)}
    assert shown[first["json"]].plain_text == shown[first["form"]].plain_text == "Đã chọn: Tôn giáo"
    assert shown[first["json"]].buttons == shown[first["form"]].buttons == []
    assert server.invalid_calls == []


@pytest.mark.parametrize("kind", ["document", "photo"])
async def test_uploads_stay_multipart_and_mean_the_same(
    server: FakeTelegramServer, bots: dict[str, Bot], tmp_path: Path, kind: str
) -> None:
    path = tmp_path / ("bao-cao.docx" if kind == "document" else "anh.png")
    path.write_bytes(b"PK\x03\x04 bao cao quy 1" if kind == "document" else demo_png(40, 30))

    async def send(bot: Bot) -> Any:
        upload = FSInputFile(path, filename=path.name)
        method = bot.send_document if kind == "document" else bot.send_photo
        return await method(USER, upload, caption="Báo cáo <b>quý 1</b>", parse_mode="HTML", reply_markup=keyboard())

    seen = await both(server, bots, send)

    assert seen["json"].content_type == seen["form"].content_type == "multipart/form-data"
    assert meaning(seen["json"], *UPLOAD_KEYS) == meaning(seen["form"], *UPLOAD_KEYS)
    assert seen["json"].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "t:7:nd"
    json_file, form_file = (next(iter(seen[name].files.values())) for name in ("json", "form"))
    assert json_file.content == form_file.content == path.read_bytes()
    assert json_file.filename == form_file.filename == path.name
    # Sending the stored file again by its id needs no upload: that call goes as JSON.
    again = await both(server, bots, lambda bot: (bot.send_document if kind == "document" else bot.send_photo)(
        USER, json_file.file_id, caption="lần 2"))
    assert again["json"].content_type == "application/json"
    assert meaning(again["json"]) == meaning(again["form"])


async def test_small_calls_mean_the_same(server: FakeTelegramServer, bots: dict[str, Bot]) -> None:
    seen = await both(server, bots, lambda bot: bot.send_chat_action(USER, ChatAction.TYPING))
    assert meaning(seen["json"]) == meaning(seen["form"]) == {"chat_id": USER, "action": "typing"}

    commands = [BotCommand(command="baocao", description="Gửi báo cáo"), BotCommand(command="xem", description="Xem")]
    seen = await both(server, bots, lambda bot: bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id=USER)))
    assert meaning(seen["json"]) == meaning(seen["form"])
    assert server.commands_for({"type": "chat", "chat_id": USER}) == [
        {"command": "baocao", "description": "Gửi báo cáo"}, {"command": "xem", "description": "Xem"}]

    seen = await both(server, bots, lambda bot: bot.get_updates(offset=5, timeout=0, allowed_updates=["message"]))
    assert meaning(seen["json"]) == meaning(seen["form"]) == {"offset": 5, "timeout": 0, "allowed_updates": ["message"]}


# --------------------------------------------------------------------- the body itself, call by call

WHEN = datetime.datetime(2026, 5, 9, 7, 30, tzinfo=datetime.UTC)
METHODS: list[TelegramMethod[Any]] = [
    SendMessage(chat_id="-1001234", text="Xin chào 👋", parse_mode=ParseMode.MARKDOWN_V2, reply_markup=ForceReply(
        force_reply=True, input_field_placeholder="Trả lời…")),
    SendMessage(chat_id=USER, text="", reply_markup=keyboard(), disable_notification=True, protect_content=False),
    SendMessage(chat_id=USER, text="x", link_preview_options=LinkPreviewOptions(url="https://example.org",
                                                                                prefer_small_media=True)),
    EditMessageText(chat_id=USER, message_id=9, text="<b>đã sửa</b>", parse_mode="HTML"),
    SendChatAction(chat_id=USER, action=ChatAction.UPLOAD_DOCUMENT),
    SetMyCommands(commands=[BotCommand(command="a", description="b")], scope=BotCommandScopeChat(chat_id=USER)),
    BanChatMember(chat_id=-100, user_id=USER, until_date=WHEN, revoke_messages=False),
    BanChatMember(chat_id=-100, user_id=USER, until_date=1_800_000_000),
    RestrictChatMember(chat_id=-100, user_id=USER, permissions=ChatPermissions(can_send_messages=False),
                       until_date=WHEN),
    SendText(chat_id=USER, text="Đã nhận báo cáo số <b>#7</b>", parse_mode="HTML", reply_markup=keyboard_json(
        [[{"label": "✅ Nhân dân", "payload": "rp:t:7:n"}]]), link_preview_options={"is_disabled": True}),
    SendText(chat_id="-1001", text="x"),
]


def _form_fields(session: AiohttpSession, bot: Bot, method: TelegramMethod[Any]) -> dict[str, str]:
    form = session.build_form_data(bot, method)
    return {options["name"]: value for options, _headers, value in form._fields}


@pytest.mark.parametrize("method", METHODS, ids=lambda m: type(m).__name__)
def test_json_body_decodes_to_what_the_form_decodes_to(method: TelegramMethod[Any]) -> None:
    spec = load_spec()
    bot = Bot(TOKEN, default=DefaultBotProperties(link_preview_prefer_large_media=True))
    body = JsonAiohttpSession().build_json_body(bot, method)
    assert body is not None
    form = _form_fields(AiohttpSession(), bot, method)
    name = method.__api_method__

    assert spec.decode(name, json.loads(body)) == spec.decode(name, form)
    assert spec.validate(name, json.loads(body), allow_deprecated=True) == spec.validate(name, form, allow_deprecated=True)


def test_a_call_with_an_upload_anywhere_is_left_to_the_form() -> None:
    bot = Bot(TOKEN)
    session = JsonAiohttpSession()
    photo = BufferedInputFile(demo_png(), "a.png")
    album = SendMediaGroup(chat_id=USER, media=[InputMediaPhoto(media=photo), InputMediaDocument(media="file-id")])

    assert session.build_json_body(bot, album) is None
    assert json.loads(session.build_json_body(bot, SendMediaGroup(chat_id=USER, media=[
        InputMediaPhoto(media="file-id", caption="ảnh")])) or b"") == {
        "chat_id": USER, "media": [{"type": "photo", "media": "file-id", "caption": "ảnh"}]}


async def test_an_album_with_uploads_reaches_the_server_as_a_form(server: FakeTelegramServer) -> None:
    bot = make_bot(TOKEN, server.base_url)
    try:
        with pytest.raises(TelegramBadRequest, match="does not implement sendMediaGroup"):
            await bot.send_media_group(USER, [InputMediaPhoto(media=BufferedInputFile(demo_png(), "a.png"))])
    finally:
        await bot.session.close()

    call = server.calls[-1]
    assert call.content_type == "multipart/form-data" and not call.invalid
    assert call.params["media"][0]["media"].startswith("attach://")


# --------------------------------------------------------------------- JSON bodies at the fake server


async def _post(server: FakeTelegramServer, method: str, body: bytes,
                content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        url = f"{server.base_url}/bot{TOKEN}/{method}"
        async with session.post(url, data=body, headers={"Content-Type": content_type}) as response:
            return response.status, await response.json()


@pytest.mark.parametrize("body", [b'{"chat_id": 42, "text": "thi\xe1\xba\xbfu', b"{chat_id: 42}", b"\xff\xfe{}",
                                  b'[{"chat_id": 42}]', b'"chat_id"'])
async def test_malformed_json_body_is_a_400_and_an_invalid_call(server: FakeTelegramServer, body: bytes) -> None:
    status, answer = await _post(server, "sendMessage", body)

    assert status == 400
    assert answer["ok"] is False and answer["error_code"] == 400
    assert answer["description"].startswith("Bad Request: ")
    assert [c.method for c in server.invalid_calls] == ["sendMessage"]
    assert server.invalid_calls[0].problems and server.sent_to(USER) == []


async def test_json_values_are_read_as_the_bot_api_reads_them(server: FakeTelegramServer) -> None:
    markup = {"inline_keyboard": [[{"text": "Có", "callback_data": "yes"}]]}
    status, plain = await _post(server, "sendMessage", json.dumps({"chat_id": "42", "text": 2026}).encode())
    assert status == 200 and plain["result"]["text"] == "2026"  # a number where text goes is its text
    status, nested = await _post(server, "sendMessage", json.dumps(
        {"chat_id": 42, "text": "Chọn", "reply_markup": json.dumps(markup), "disable_notification": "true"}).encode())
    assert status == 200 and nested["result"]["reply_markup"] == markup
    status, wrong = await _post(server, "sendMessage", json.dumps(
        {"chat_id": 42, "text": "Chọn", "reply_markup": {"inline_keyboard": [[{"text": "Có", "data": "x"}]]}}).encode())
    assert status == 400 and "unknown field of InlineKeyboardButton" in wrong["description"]

    assert [c.params.get("disable_notification") for c in server.calls] == [None, True, None]
    assert [c.invalid for c in server.calls] == [False, False, True]


# --------------------------------------------------------------------- compiled validators


def _sample(spec: Any, type_name: str, depth: int = 0) -> Any:
    """A minimal value of a spec type: required fields only, recursively."""
    if type_name.startswith("Array of "):
        return [_sample(spec, type_name.removeprefix("Array of "), depth + 1)]
    simple = {"Integer": 7, "Float": 1.5, "Boolean": True, "String": "s", "InputFile": "attach://f"}
    if type_name in simple:
        return simple[type_name]
    subtypes = spec._subtypes.get(type_name)
    if subtypes:
        return _sample(spec, subtypes[0], depth + 1)
    fields = spec._types.get(type_name) or {}
    if depth > 6:
        return {}
    return {f.name: _sample(spec, f.types[0], depth + 1) for f in fields.values() if f.required}


def _mutations(value: Any, rng: random.Random) -> list[Any]:
    """The value, and versions of it with one thing wrong (or harmlessly different)."""
    out = [value, None, "s", 7, True, 1.5, [], {}, [value], {"unexpected": 1}]
    if isinstance(value, dict):
        for key in list(value):
            out += [{k: v for k, v in value.items() if k != key}, {**value, key: None}, {**value, key: "s"},
                    {**value, key: 7}, {**value, key: [value[key]]}, {**value, key: {"x": value[key]}}]
        out.append({**value, "extra_field": 1})
    if isinstance(value, list) and value:
        out += [value + [None], value * 2, [rng.choice(["s", 7, {}, []])]]
    return out


def test_compiled_predicates_agree_with_the_long_check() -> None:
    spec = load_spec()
    rng = random.Random(7)
    names = list(spec._types) + ["Integer", "Float", "Boolean", "String", "InputFile",
                                 "Array of Array of InlineKeyboardButton", "Array of MessageEntity"]
    compared = 0
    for name in names:
        sample = _sample(spec, name)
        for value in _mutations(sample, rng) + [m for inner in _mutations(sample, rng)[10:12]
                                                 for m in _mutations(inner, rng)]:
            slow = spec.check(name, value, "v", fast=False)
            assert spec.fits(name, value) == (slow == []), (name, value, slow)
            assert spec.check(name, value, "v") == slow
            compared += 1
    assert compared > 5000
