"""The fake Zalo Bot API server behaves like the reference's §1.9 checklist, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.sandbox.fake_zalo import WEBHOOK_SET, FakeZaloServer
from bot.zalo.client import ZaloClient
from bot.zalo.webhook import make_webhook_handler

TOKEN = "271828:fake-zalo-test-token"
USER = "6ede9afa66b88fe6d6a9"
SECRET = "webhook-secret-123"
HEX20 = re.compile(r"^[0-9a-f]{20}$")


@pytest.fixture
async def server() -> AsyncIterator[FakeZaloServer]:
    fake = FakeZaloServer(TOKEN, allow_http_webhook=True)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    server: FakeZaloServer,
    method: str,
    *,
    token: str = TOKEN,
    verb: str = "POST",
    **kwargs: Any,
) -> tuple[int, dict[str, Any]]:
    async with http.request(verb, f"{server.base_url}/bot{token}/{method}", **kwargs) as response:
        return response.status, await response.json()


class Receiver:
    """A local webhook endpoint that records what the fake pushes to it."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        return web.json_response({"ok": True})

    async def start(self, handler: Any = None) -> str:
        app = web.Application()
        app.router.add_post("/hook", handler or self.handle)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = Receiver()
    await endpoint.start()
    yield endpoint
    await endpoint.stop()


# ---- routing and parameters ---------------------------------------------------------------


async def test_unknown_token_is_401_and_unknown_method_404(
    http: aiohttp.ClientSession, server: FakeZaloServer
) -> None:
    assert await call(http, server, "getMe", token="271828:wrong") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert await call(http, server, "sendPoll") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )


async def test_get_with_query_and_post_with_form_or_json(
    http: aiohttp.ClientSession, server: FakeZaloServer
) -> None:
    status, body = await call(http, server, "getMe", verb="GET")
    assert status == 200 and body["result"]["id"] == "271828"
    await call(http, server, "sendMessage", verb="GET", params={"chat_id": USER, "text": "qua query"})
    await call(http, server, "sendMessage", data={"chat_id": USER, "text": "qua form"})
    await call(http, server, "sendMessage", json={"chat_id": USER, "text": "qua JSON"})
    assert [message.text for message in server.sent_to(USER)] == ["qua query", "qua form", "qua JSON"]
    assert [c.http_method for c in server.calls_to("sendMessage")] == ["GET", "POST", "POST"]


@pytest.mark.parametrize(
    ("method", "params", "fragment"),
    [
        ("sendMessage", {"text": "no chat"}, "chat_id is required"),
        ("sendMessage", {"chat_id": USER, "text": ""}, "1-2000"),
        ("sendMessage", {"chat_id": USER, "text": "x" * 2001}, "1-2000"),
        ("sendMessage", {"chat_id": USER, "text": "hi", "parse_mode": "bbcode"}, "parse_mode"),
        ("sendPhoto", {"chat_id": USER}, "photo is required"),
        ("sendPhoto", {"chat_id": USER, "photo": "https://e.com/a.png", "caption": "c" * 2001}, "caption"),
        ("sendChatAction", {"chat_id": USER, "action": "dancing"}, "action"),
        ("sendVoice", {"chat_id": USER, "voice_url": "https://e.com/a.mp3"}, ".aac"),
        ("sendSticker", {"chat_id": USER}, "sticker is required"),
        ("setWebhook", {"url": "https://example.com/h", "secret_token": "7chars!"}, "secret_token"),
        ("setWebhook", {"url": "https://example.com/h", "secret_token": "s" * 257}, "secret_token"),
        ("setWebhook", {"url": "http://example.com/h", "secret_token": SECRET}, "HTTPS"),
        ("setWebhook", {"secret_token": SECRET}, "url is required"),
        ("getUpdates", {"timeout": "soon"}, "timeout"),
    ],
)
async def test_validation_answers_400(
    http: aiohttp.ClientSession, server: FakeZaloServer, method: str, params: dict[str, Any], fragment: str
) -> None:
    status, body = await call(http, server, method, json=params)
    assert (status, body["ok"], body["error_code"]) == (400, False, 400)
    assert fragment in body["description"]
    assert server.outbox == [] and server.webhook is None


async def test_limits_are_inclusive(http: aiohttp.ClientSession, server: FakeZaloServer) -> None:
    ok = {"chat_id": USER, "text": "x" * 2000}
    assert (await call(http, server, "sendMessage", json=ok))[0] == 200
    assert (
        await call(http, server, "setWebhook", json={"url": "https://e.com/h", "secret_token": "8chars!!"})
    )[0] == 200


async def test_loopback_webhook_needs_the_flag(http: aiohttp.ClientSession) -> None:
    strict = FakeZaloServer(TOKEN)
    await strict.start()
    try:
        for url in ("http://127.0.0.1:8080/h", "https://localhost/h", "https://192.168.1.5/h"):
            status, _ = await call(http, strict, "setWebhook", json={"url": url, "secret_token": SECRET})
            assert status == 400, url
    finally:
        await strict.stop()


# ---- answers ------------------------------------------------------------------------------


async def test_send_answers_hex_id_and_ms_date_and_chat_action_is_bare(
    http: aiohttp.ClientSession, server: FakeZaloServer
) -> None:
    status, body = await call(http, server, "sendMessage", json={"chat_id": USER, "text": "hi"})
    assert status == 200 and set(body) == {"ok", "result"}
    assert HEX20.match(body["result"]["message_id"]) and body["result"]["date"] > 10**12
    assert await call(http, server, "sendChatAction", json={"chat_id": USER, "action": "typing"}) == (
        200,
        {"ok": True},
    )


async def test_get_updates_pops_one_then_408(http: aiohttp.ClientSession, server: FakeZaloServer) -> None:
    first = await server.send_text(USER, "một")
    second = await server.send_text(USER, "hai")
    assert await call(http, server, "getUpdates", json={"timeout": 1}) == (200, {"ok": True, "result": first})
    assert server.pending_updates == 1
    assert (await call(http, server, "getUpdates", json={"timeout": "1"}))[1]["result"] == second
    started = asyncio.get_running_loop().time()
    assert await call(http, server, "getUpdates", json={"timeout": 0.3}) == (
        408,
        {"ok": False, "error_code": 408, "description": "Request timeout"},
    )
    assert asyncio.get_running_loop().time() - started >= 0.25


async def test_a_held_poll_wakes_for_a_new_message(
    http: aiohttp.ClientSession, server: FakeZaloServer
) -> None:
    poll = asyncio.create_task(call(http, server, "getUpdates", json={"timeout": 5}))
    await server.wait_for(lambda: server.calls_to("getUpdates"))
    update = await server.send_text(USER, "đến ngay")
    assert await asyncio.wait_for(poll, 1) == (200, {"ok": True, "result": update})


async def test_replay_last_returns_the_consumed_update_again(
    http: aiohttp.ClientSession, server: FakeZaloServer
) -> None:
    server.replay_last = True
    update = await server.send_text(USER, "lặp lại")
    for _ in range(3):
        assert (await call(http, server, "getUpdates", json={"timeout": 1}))[1]["result"] == update
    newer = await server.send_text(USER, "mới")
    assert (await call(http, server, "getUpdates", json={"timeout": 1}))[1]["result"] == newer


async def test_webhook_slot_and_polling_conflict(http: aiohttp.ClientSession, server: FakeZaloServer) -> None:
    assert (await call(http, server, "getWebhookInfo"))[0] == 404
    status, body = await call(
        http, server, "setWebhook", json={"url": "https://e.com/h", "secret_token": SECRET}
    )
    assert (
        status == 200 and body["result"]["url"] == "https://e.com/h" and body["result"]["updated_at"] > 10**12
    )
    assert (await call(http, server, "getWebhookInfo"))[1]["result"]["url"] == "https://e.com/h"
    assert await call(http, server, "getUpdates", json={"timeout": 1}) == (
        400,
        {"ok": False, "error_code": 400, "description": WEBHOOK_SET},
    )
    assert (await call(http, server, "deleteWebhook"))[1]["result"]["url"] == ""
    server.webhook_info_404 = False
    assert (await call(http, server, "getWebhookInfo"))[1]["result"]["url"] == ""


async def test_quota_and_blocked_answers(http: aiohttp.ClientSession, server: FakeZaloServer) -> None:
    server.monthly_quota = 1
    server.block_user("0123456789abcdef0123")
    status, body = await call(
        http, server, "sendMessage", json={"chat_id": "0123456789abcdef0123", "text": "hi"}
    )
    assert status == 403 and "blocked" in body["description"]
    assert (await call(http, server, "sendMessage", json={"chat_id": USER, "text": "1"}))[0] == 200
    assert await call(http, server, "sendMessage", json={"chat_id": USER, "text": "2"}) == (
        429,
        {"ok": False, "error_code": 429, "description": "Quota exceeded"},
    )
    server.reset_quota()
    assert (await call(http, server, "sendMessage", json={"chat_id": USER, "text": "3"}))[0] == 200


async def test_fail_next_scripts_errors(http: aiohttp.ClientSession, server: FakeZaloServer) -> None:
    server.fail_next(2, status=502, method="getMe")
    await call(http, server, "sendChatAction", json={"chat_id": USER, "action": "typing"})
    assert [(await call(http, server, "getMe"))[0] for _ in range(3)] == [502, 502, 200]
    server.fail_next(status=408, description="Request timeout", http_status=200)
    assert await call(http, server, "getMe") == (
        200,
        {"ok": False, "error_code": 408, "description": "Request timeout"},
    )


# ---- simulated users ----------------------------------------------------------------------


async def test_user_updates_have_the_documented_shapes(server: FakeZaloServer) -> None:
    text = await server.send_text(USER, "/start xin chào", display_name="Ted")
    image = await server.send_image(USER, caption="cái bảng")
    sticker = await server.send_sticker(USER)
    voice = await server.send_voice(USER)
    unsupported = await server.send_unsupported(USER)
    group = await server.send_text(USER, "@bot chào nhóm", group_id="f0e1d2c3b4a596870123")
    events = [u["event_name"] for u in (text, image, sticker, voice, unsupported)]
    assert events == [
        f"message.{kind}.received" for kind in ("text", "image", "sticker", "voice", "unsupported")
    ]
    for update in (text, image, sticker, voice, unsupported):
        message = update["message"]
        assert HEX20.match(message["message_id"]) and message["date"] > 10**12
        assert message["from"] == {"id": USER, "display_name": "Ted", "is_bot": False}
        assert message["chat"] == {"id": USER, "chat_type": "PRIVATE"}
    assert text["message"]["text"] == "/start xin chào"
    assert image["message"]["photo_url"].startswith("https://") and image["message"]["caption"] == "cái bảng"
    assert image["message"]["message_type"] == "CHAT_PHOTO" and "photo" not in image["message"]
    assert voice["message"]["voice_url"].endswith(".aac")
    assert set(unsupported["message"]) == {"message_id", "date", "from", "chat"}
    assert group["message"]["chat"] == {"id": "f0e1d2c3b4a596870123", "chat_type": "GROUP"}
    server.use_photo_field = True
    legacy = await server.send_image(USER, photo_url="https://e.com/p.jpg")
    assert legacy["message"]["photo"] == "https://e.com/p.jpg" and "photo_url" not in legacy["message"]
    assert server.pending_updates == 7


async def test_inject_update_delivers_raw_payloads(
    http: aiohttp.ClientSession, server: FakeZaloServer
) -> None:
    await server.inject_update({"event_name": "message.future.received"})
    assert (await call(http, server, "getUpdates", json={"timeout": 1}))[1]["result"] == {
        "event_name": "message.future.received"
    }


async def test_history_and_sent_to_cover_both_sides(server: FakeZaloServer) -> None:
    client = ZaloClient(TOKEN, server.base_url)
    await server.send_text(USER, "Có ngập không?", display_name="Lan")
    await client.send_message(USER, "Đã ghi nhận.")
    await client.send_photo(USER, "https://e.com/map.png", caption="Bản đồ")
    await client.send_message("0123456789abcdef0123", "người khác")
    await client.close()
    history = server.history(USER)
    assert [(e.sender, e.kind, e.text) for e in history] == [
        ("user", "text", "Có ngập không?"),
        ("bot", "text", "Đã ghi nhận."),
        ("bot", "image", "Bản đồ"),
    ]
    assert history[0].display_name == "Lan" and history[2].photo_url == "https://e.com/map.png"
    assert [(m.method, m.text, m.photo) for m in server.sent_to(USER)] == [
        ("sendMessage", "Đã ghi nhận.", None),
        ("sendPhoto", None, "https://e.com/map.png"),
    ]
    assert server.chats() == [USER, "0123456789abcdef0123"]


async def test_wait_for_returns_the_value_or_times_out(server: FakeZaloServer) -> None:
    waiter = asyncio.create_task(server.wait_for(lambda: server.pending_updates, timeout=1))
    await asyncio.sleep(0.05)
    await server.send_text(USER, "hello")
    assert await waiter == 1
    with pytest.raises(TimeoutError):
        await server.wait_for(lambda: server.outbox, timeout=0.1)


async def test_stop_releases_a_held_poll_quickly(http: aiohttp.ClientSession) -> None:
    fake = FakeZaloServer(TOKEN)
    await fake.start()
    poll = asyncio.create_task(call(http, fake, "getUpdates", json={"timeout": 30}))
    await fake.wait_for(lambda: fake.calls_to("getUpdates"))
    started = asyncio.get_running_loop().time()
    await fake.stop()
    assert asyncio.get_running_loop().time() - started < 2
    assert (await asyncio.wait_for(poll, 1))[0] == 408


# ---- webhook push -------------------------------------------------------------------------


async def set_webhook(server: FakeZaloServer, url: str) -> None:
    client = ZaloClient(TOKEN, server.base_url)
    await client.set_webhook(url, SECRET)
    await client.close()


async def test_pushes_wrapped_update_with_secret_header(server: FakeZaloServer, receiver: Receiver) -> None:
    await set_webhook(server, receiver.url)
    update = await server.send_text(USER, "qua webhook")
    [(headers, body)] = receiver.requests
    assert headers["X-Bot-Api-Secret-Token"] == SECRET
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"ok": True, "result": update}
    assert server.pending_updates == 0
    assert [d.status for d in server.webhook_deliveries] == [200]


async def test_pushes_flat_and_duplicate_when_switched(server: FakeZaloServer, receiver: Receiver) -> None:
    server.flat_webhook = True
    server.duplicate_webhook = True
    await set_webhook(server, receiver.url)
    update = await server.send_text(USER, "hai lần")
    assert [json.loads(body) for _, body in receiver.requests] == [update, update]


async def test_probe_posts_an_empty_body(server: FakeZaloServer, receiver: Receiver) -> None:
    await set_webhook(server, receiver.url)
    delivery = await server.probe_webhook()
    [(headers, body)] = receiver.requests
    assert body == b"" and "Content-Type" not in headers and delivery.status == 200


async def test_failed_push_is_recorded_not_raised(server: FakeZaloServer) -> None:
    await set_webhook(server, "http://127.0.0.1:1/hook")
    await server.send_text(USER, "không ai nghe")
    [delivery] = server.webhook_deliveries
    assert delivery.status is None and delivery.error


async def test_push_into_our_webhook_handler_end_to_end(server: FakeZaloServer) -> None:
    received: list[dict[str, Any]] = []

    async def store(update: dict[str, Any]) -> None:
        received.append(update)

    endpoint = Receiver()
    url = await endpoint.start(make_webhook_handler(SECRET, store))
    try:
        await set_webhook(server, url)
        server.duplicate_webhook = True
        wrapped = await server.send_image(USER, caption="ảnh hiện trường")
        server.duplicate_webhook = False
        server.flat_webhook = True
        flat = await server.send_voice(USER)
        await server.probe_webhook()
    finally:
        await endpoint.stop()
    assert received == [wrapped, wrapped, flat]  # duplicates reach the app; the inbox dedupes them
    assert [d.status for d in server.webhook_deliveries] == [200, 200, 200, 200]
