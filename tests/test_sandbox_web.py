"""Exercise the sandbox chat page's JSON API over the fake Telegram server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp.test_utils import TestClient, TestServer

from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.sandbox.web import (
    ChatBackend,
    ChatItem,
    DemoUser,
    FileBlob,
    SandboxWebApp,
    TelegramBackend,
    render_telegram_html,
)

TOKEN = "123456:TEST"
USERS = [
    DemoUser(1001, "Chị Lan", "Cán bộ cơ sở"),
    DemoUser(1002, "Anh Minh", "Quản trị viên"),
]
LAN = USERS[0].user_id


@dataclass
class Sandbox:
    server: FakeTelegramServer
    client: TestClient
    bot: Bot


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    server = FakeTelegramServer(TOKEN)
    await server.start()
    client = TestClient(TestServer(SandboxWebApp([TelegramBackend(server)], USERS).make_app()))
    await client.start_server()
    bot = Bot(token=TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))
    yield Sandbox(server, client, bot)
    await bot.session.close()
    await client.close()
    await server.stop()


async def history(sandbox: Sandbox, user_id: int = LAN, after: int = 0, channel: str = "telegram") -> dict:
    response = await sandbox.client.get("/api/history", params={"channel": channel, "user_id": user_id, "after": after})
    assert response.status == 200
    return await response.json()


async def test_page_is_served_in_vietnamese_with_stable_ids(sandbox: Sandbox) -> None:
    response = await sandbox.client.get("/")
    page = await response.text()

    assert response.status == 200
    for needle in ('id="user-select"', 'id="message-input"', 'id="send-button"', "Chọn người dùng", "Nhập tin nhắn…",
                   ">Gửi<", "Không có dữ liệu nào rời khỏi máy"):
        assert needle in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    for asset in ("/static/app.js", "/static/style.css"):
        assert (await sandbox.client.get(asset)).status == 200


async def test_users_lists_demo_users_and_one_channel(sandbox: Sandbox) -> None:
    data = await (await sandbox.client.get("/api/users")).json()

    assert data["users"][0] == {"user_id": 1001, "name": "Chị Lan", "role_label": "Cán bộ cơ sở"}
    assert data["channels"] == [{"id": "telegram", "label": "Telegram"}]


async def test_sending_as_a_demo_user_queues_a_message_update(sandbox: Sandbox) -> None:
    response = await sandbox.client.post("/api/send", json={"channel": "telegram", "user_id": LAN, "text": "/start"})

    assert response.status == 200
    [update] = sandbox.server.pending_updates
    assert update["message"]["text"] == "/start"
    assert update["message"]["from"]["first_name"] == "Chị Lan"
    items = (await history(sandbox))["items"]
    assert [(i["from"], i["html"]) for i in items] == [("user", "/start")]


async def test_a_newcomer_sends_with_their_own_name(sandbox: Sandbox) -> None:
    await sandbox.client.post("/api/send", json={"channel": "telegram", "user_id": 555, "text": "xin chào",
                                                 "name": "Cô Hoa"})

    assert sandbox.server.pending_updates[0]["message"]["from"] == {
        "id": 555, "is_bot": False, "first_name": "Cô Hoa", "language_code": "vi"}


async def test_bot_replies_appear_in_history_with_buttons_and_cursor(sandbox: Sandbox) -> None:
    await sandbox.client.post("/api/send", json={"channel": "telegram", "user_id": LAN, "text": "hi"})
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="Có", callback_data="yes"),
        InlineKeyboardButton(text="Hướng dẫn", url="https://example.org/hd"),
    ]])
    sent = await sandbox.bot.send_message(LAN, "<b>Chào</b> chị & <i>cả nhà</i>", parse_mode="HTML",
                                          reply_markup=markup)

    first = await history(sandbox)
    bot_item = first["items"][-1]
    assert bot_item["from"] == "bot" and bot_item["id"] == str(sent.message_id)
    assert bot_item["html"] == "<b>Chào</b> chị &amp; <i>cả nhà</i>"
    assert [[(b["label"], b["kind"], b["data"], b["url"]) for b in row] for row in bot_item["buttons"]] == [
        [("Có", "callback", "yes", None), ("Hướng dẫn", "url", None, "https://example.org/hd")]]
    assert (await history(sandbox, after=first["cursor"]))["items"] == []

    await sandbox.bot.edit_message_text("Đã xong", chat_id=LAN, message_id=sent.message_id)
    [edited] = (await history(sandbox, after=first["cursor"]))["items"]
    assert (edited["html"], edited["edited"], edited["buttons"]) == ("Đã xong", True, [])

    await sandbox.bot.delete_message(LAN, sent.message_id)
    [deleted] = (await history(sandbox, after=first["cursor"]))["items"]
    assert deleted["deleted"] is True


async def test_pressing_a_button_queues_a_callback_query(sandbox: Sandbox) -> None:
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Khẩn", callback_data="urgent")]])
    sent = await sandbox.bot.send_message(LAN, "Mức độ?", reply_markup=markup)

    response = await sandbox.client.post("/api/press", json={"channel": "telegram", "user_id": LAN,
                                                             "message_id": sent.message_id, "data": "urgent"})
    stale = await sandbox.client.post("/api/press", json={"channel": "telegram", "user_id": LAN,
                                                          "message_id": sent.message_id, "data": "gone"})

    assert response.status == 200
    [update] = sandbox.server.pending_updates
    assert update["callback_query"]["data"] == "urgent"
    assert update["callback_query"]["message"]["message_id"] == sent.message_id
    assert stale.status == 400 and (await stale.json())["error"] == "Nút này không còn hiệu lực."

    await sandbox.bot.answer_callback_query(update["callback_query"]["id"], text="Đã nhận")
    await sandbox.bot.send_message(LAN, "Cảm ơn")
    await sandbox.bot.edit_message_text("Mức độ: khẩn", chat_id=LAN, message_id=sent.message_id)
    items = (await history(sandbox))["items"]
    assert [(i["kind"], i["html"]) for i in items] == [  # the order of a conversation, not of the changes
        ("text", "Mức độ: khẩn"), ("notice", "Đã nhận"), ("text", "Cảm ơn")]


async def test_media_from_the_page_and_files_from_the_bot(sandbox: Sandbox) -> None:
    for kind, caption in (("sticker", ""), ("photo", "Đường bị sạt lở"), ("voice", "")):
        response = await sandbox.client.post("/api/media", json={"channel": "telegram", "user_id": LAN,
                                                                 "kind": kind, "caption": caption})
        assert response.status == 200
    await sandbox.bot.send_document(LAN, BufferedInputFile(b"PK\x03\x04 report", "Báo cáo.docx"))

    items = (await history(sandbox))["items"]
    assert [i["kind"] for i in items] == ["sticker", "photo", "voice", "document"]
    assert items[1]["html"] == "Đường bị sạt lở"
    photo = await sandbox.client.get(items[1]["file_url"])
    assert photo.headers["Content-Type"] == "image/png" and (await photo.read()).startswith(b"\x89PNG")
    document = await sandbox.client.get(items[3]["file_url"])
    assert await document.read() == b"PK\x03\x04 report"
    assert "attachment" in document.headers["Content-Disposition"]
    assert [u["message"].get("caption") for u in sandbox.server.pending_updates] == [None, "Đường bị sạt lở", None]
    bad = await sandbox.client.post("/api/media", json={"channel": "telegram", "user_id": LAN, "kind": "video"})
    assert bad.status == 400


async def test_requests_are_checked(sandbox: Sandbox) -> None:
    cases = [
        ("/api/send", {"channel": "telegram", "user_id": "abc", "text": "x"}),
        ("/api/send", {"channel": "telegram", "user_id": -5, "text": "x"}),
        ("/api/send", {"channel": "telegram", "user_id": LAN, "text": "   "}),
        ("/api/send", {"channel": "viber", "user_id": LAN, "text": "x"}),
    ]
    for path, body in cases:
        response = await sandbox.client.post(path, json=body)
        assert response.status == 400, body
        assert (await response.json())["error"]
    assert (await sandbox.client.post("/api/send", data=b"not json")).status == 400
    assert (await sandbox.client.get("/api/file/nope", params={"channel": "telegram"})).status == 404
    assert sandbox.server.pending_updates == []


def test_renderer_keeps_telegram_formatting_and_escapes_the_rest() -> None:
    assert render_telegram_html("<b>đậm</b> <i>nghiêng</i> <u>gạch</u> <s>xoá</s> <code>x</code> <pre>y</pre>") == (
        "<b>đậm</b> <i>nghiêng</i> <u>gạch</u> <s>xoá</s> <code>x</code> <pre>y</pre>")
    assert render_telegram_html('<a href="https://a.vn/?q=1&amp;r=2">liên kết</a>') == (
        '<a href="https://a.vn/?q=1&amp;r=2" target="_blank" rel="noopener noreferrer">liên kết</a>')
    assert render_telegram_html("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert render_telegram_html('<a href="javascript:alert(1)">x</a>') == "<a>x</a>"
    assert render_telegram_html('<b onclick="x()">y</b><img src=x onerror=alert(1)>') == (
        "<b>y</b>&lt;img src=x onerror=alert(1)&gt;")
    assert render_telegram_html("<b>mở <i>lồng") == "<b>mở <i>lồng</i></b>"
    assert render_telegram_html("a</b> &lt;3 <tg-spoiler>bí mật</tg-spoiler>") == (
        'a&lt;/b&gt; &lt;3 <span class="spoiler">bí mật</span>')


class FakeZaloBackend:
    """A stand-in second channel: buttons degrade to numbered text, as the Zalo backend will do."""

    channel = "zalo"
    label = "Zalo"

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, str | None]] = []

    async def send_text(self, user_id: int, text: str, name: str | None = None) -> None:
        self.sent.append((user_id, text, name))

    async def press(self, user_id: int, message_id: str, data: str) -> None:
        raise NotImplementedError

    async def send_media(self, user_id: int, kind: str, caption: str | None = None, name: str | None = None) -> None:
        self.sent.append((user_id, kind, caption))

    async def history(self, user_id: int, after: int = 0) -> list[ChatItem]:
        items = [ChatItem(id="z1", version=1, from_bot=True, kind="text", text="1. Có\n2. Không <b>")]
        return [i for i in items if i.version > after]

    async def file(self, file_id: str) -> FileBlob | None:
        return None


async def test_a_second_backend_adds_a_channel_switch() -> None:
    zalo = FakeZaloBackend()
    assert isinstance(zalo, ChatBackend)
    async with FakeTelegramServer(TOKEN) as server:
        app = SandboxWebApp([TelegramBackend(server), zalo], USERS).make_app()
        async with TestClient(TestServer(app)) as client:
            channels = (await (await client.get("/api/users")).json())["channels"]
            await client.post("/api/send", json={"channel": "zalo", "user_id": LAN, "text": "1"})
            items = (await (await client.get("/api/history", params={"channel": "zalo", "user_id": LAN})).json())["items"]
            press = await client.post("/api/press", json={"channel": "zalo", "user_id": LAN, "message_id": "z1",
                                                          "data": "x"})

    assert [c["id"] for c in channels] == ["telegram", "zalo"]
    assert zalo.sent == [(LAN, "1", "Chị Lan")]
    assert items[0]["html"] == "1. Có\n2. Không &lt;b&gt;"  # plain text from a channel without HTML is escaped
    assert press.status == 400
    assert server.pending_updates == []
