"""The Zalo client, poller, text splitter and webhook helpers, against the fake server over HTTP."""

from __future__ import annotations

import asyncio
import logging
import re
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import bot.zalo.client as client_module
from bot.errors import (
    ChannelBlocked,
    ChannelError,
    ChannelRateLimited,
    ChannelRejected,
    ChannelUnavailable,
)
from bot.sandbox.fake_zalo import FakeZaloServer
from bot.zalo.client import ZaloClient
from bot.zalo.polling import ZaloPoller
from bot.zalo.text import split_text, utf16_len
from bot.zalo.webhook import make_webhook_handler, unwrap_update, verify_secret

TOKEN = "4815162342:Zs3cr3tT0kenNeverLogged"
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
async def client(server: FakeZaloServer) -> AsyncIterator[ZaloClient]:
    zalo = ZaloClient(TOKEN, server.base_url, request_timeout=5)
    yield zalo
    await zalo.close()


@asynccontextmanager
async def serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> AsyncIterator[str]:
    """Serve one handler on every path at a loopback URL, for answers the fake never gives."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def statuses(server: FakeZaloServer, method: str) -> list[int | None]:
    return [call.status for call in server.calls_to(method)]


def gaps(server: FakeZaloServer, method: str) -> list[float]:
    times = [call.at for call in server.calls_to(method)]
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


# ---- client: success paths ---------------------------------------------------------------


async def test_get_me_returns_the_bot_account(client: ZaloClient) -> None:
    me = await client.get_me()
    assert me["id"] == "4815162342"
    assert me["account_type"] == "BASIC"


async def test_send_message_returns_message_id_and_reaches_the_chat(
    client: ZaloClient, server: FakeZaloServer
) -> None:
    message_id = await client.send_message(USER, "Xin chào, báo cáo đã nhận.")
    assert HEX20.match(message_id)
    [sent] = server.sent_to(USER)
    assert (sent.text, sent.message_id) == ("Xin chào, báo cáo đã nhận.", message_id)
    assert server.calls_to("sendMessage")[0].http_method == "POST"


async def test_send_photo_and_chat_action(client: ZaloClient, server: FakeZaloServer) -> None:
    await client.send_chat_action(USER)
    message_id = await client.send_photo(USER, "https://example.com/chart.png", caption="Biểu đồ tuần")
    [sent] = server.sent_to(USER)
    assert (sent.photo, sent.caption, sent.message_id) == (
        "https://example.com/chart.png",
        "Biểu đồ tuần",
        message_id,
    )
    assert server.calls_to("sendChatAction")[0].params["action"] == "typing"


# ---- client: getUpdates ------------------------------------------------------------------


async def test_idle_poll_waits_then_returns_none(client: ZaloClient, server: FakeZaloServer) -> None:
    started = asyncio.get_running_loop().time()
    assert await client.get_updates(timeout=1) is None
    assert asyncio.get_running_loop().time() - started >= 0.9  # the server really held the poll
    assert statuses(server, "getUpdates") == [408]


async def test_idle_408_wrapped_in_http_200_is_idle_too(client: ZaloClient, server: FakeZaloServer) -> None:
    server.fail_next(status=408, description="Request timeout", http_status=200, method="getUpdates")
    assert await client.get_updates(timeout=1) is None


async def test_each_poll_returns_exactly_one_update(client: ZaloClient, server: FakeZaloServer) -> None:
    first = await server.send_text(USER, "một")
    second = await server.send_text(USER, "hai")
    assert await client.get_updates(timeout=1) == first
    assert await client.get_updates(timeout=1) == second
    assert await client.get_updates(timeout=0.2) is None


async def test_get_updates_read_timeout_is_poll_timeout_plus_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    assert client_module.POLL_TIMEOUT_MARGIN == 10
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"ok": True, "result": None})

    monkeypatch.setattr(client_module, "POLL_TIMEOUT_MARGIN", 0.3)
    async with serve(hang) as url:
        zalo = ZaloClient(TOKEN, url)
        started = asyncio.get_running_loop().time()
        with pytest.raises(ChannelUnavailable, match="no answer within 0.5 s"):
            await zalo.get_updates(timeout=0.2)
        assert 0.4 <= asyncio.get_running_loop().time() - started < 2
        release.set()
        await zalo.close()


async def test_a_list_result_is_handed_out_one_update_at_a_time() -> None:
    updates = [{"message": {"message_id": "a"}}, {"message": {"message_id": "b"}}]

    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": updates})

    async with serve(answer) as url:
        zalo = ZaloClient(TOKEN, url)
        assert [await zalo.get_updates(timeout=1), await zalo.get_updates(timeout=1)] == updates
        await zalo.close()


# ---- client: errors ----------------------------------------------------------------------


async def test_ok_false_inside_http_200_raises(client: ZaloClient, server: FakeZaloServer) -> None:
    server.fail_next(status=400, description="Bad Request: chat not found", http_status=200)
    with pytest.raises(ChannelRejected, match="chat not found"):
        await client.send_message(USER, "hi")
    server.fail_next(status=500, description="Internal Server Error", http_status=200)
    with pytest.raises(ChannelUnavailable):
        await client.send_message(USER, "hi")
    assert server.sent_to(USER) == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [(500, ChannelUnavailable), (502, ChannelUnavailable), (403, ChannelUnavailable), (400, ChannelRejected)],
)
async def test_status_codes_map_to_neutral_errors(
    client: ZaloClient, server: FakeZaloServer, status: int, expected: type[ChannelError]
) -> None:
    server.fail_next(status=status, description="boom")
    with pytest.raises(expected) as caught:
        await client.send_message(USER, "hi")
    assert type(caught.value) is expected


async def test_wrong_token_is_rejected(server: FakeZaloServer) -> None:
    zalo = ZaloClient("4815162342:WrongTokenValue", server.base_url)
    with pytest.raises(ChannelRejected, match="invalid or revoked bot token") as caught:
        await zalo.get_me()
    assert "WrongTokenValue" not in str(caught.value)
    await zalo.close()


async def test_unknown_method_is_rejected(client: ZaloClient) -> None:
    with pytest.raises(ChannelRejected):
        await client._call("sendPoll")


async def test_webhook_set_conflicts_with_polling(client: ZaloClient) -> None:
    assert await client.get_webhook_info() == {"url": ""}  # the fake answers 404 like S8 measured
    await client.set_webhook("https://example.com/zalo", SECRET)
    assert (await client.get_webhook_info())["url"] == "https://example.com/zalo"
    with pytest.raises(ChannelRejected, match="webhook is set"):
        await client.get_updates(timeout=1)
    await client.delete_webhook()
    assert await client.get_webhook_info() == {"url": ""}
    assert await client.get_updates(timeout=0.1) is None


async def test_invalid_webhook_secret_is_rejected(client: ZaloClient) -> None:
    with pytest.raises(ChannelRejected, match="secret_token"):
        await client.set_webhook("https://example.com/zalo", "short")


async def test_quota_exhaustion_is_rate_limited(server: FakeZaloServer, client: ZaloClient) -> None:
    server.monthly_quota = 2
    await client.send_message(USER, "1")
    await client.send_photo(USER, "https://example.com/a.png")
    with pytest.raises(ChannelRateLimited, match="Quota exceeded") as caught:
        await client.send_message(USER, "3")
    assert caught.value.retry_after == 60
    await client.send_chat_action(USER)  # not a message, so not counted
    assert len(server.sent_to(USER)) == 2


async def test_blocked_user_raises_channel_blocked(client: ZaloClient, server: FakeZaloServer) -> None:
    server.block_user(USER)
    with pytest.raises(ChannelBlocked):
        await client.send_message(USER, "hi")
    with pytest.raises(ChannelBlocked):
        await client.send_chat_action(USER)
    await client.send_message("0123456789abcdef0123", "others still work")


async def test_text_over_2000_utf16_units_is_rejected(client: ZaloClient) -> None:
    await client.send_message(USER, "😀" * 1000)  # 2000 UTF-16 units
    with pytest.raises(ChannelRejected, match="1-2000"):
        await client.send_message(USER, "😀" * 1000 + "a")


async def test_network_failures_are_unavailable(server: FakeZaloServer) -> None:
    url = server.base_url
    await server.stop()
    zalo = ZaloClient(TOKEN, url)
    with pytest.raises(ChannelUnavailable, match="connection failed"):
        await zalo.get_me()
    await zalo.close()


async def test_non_json_answers() -> None:
    async def html(request: web.Request) -> web.Response:
        status = int(request.path.rsplit("/", 1)[-1].removeprefix("m"))
        return web.Response(text="<html>proxy</html>", status=status, content_type="text/html")

    async with serve(html) as url:
        zalo = ZaloClient(TOKEN, url)
        with pytest.raises(ChannelUnavailable, match="malformed"):
            await zalo._call("m200")
        with pytest.raises(ChannelUnavailable):
            await zalo._call("m502")
        with pytest.raises(ChannelRejected):
            await zalo._call("m404")
        await zalo.close()


# ---- the token never leaks ----------------------------------------------------------------


def assert_no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert TOKEN.split(":")[1] not in text


def exception_texts(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


async def test_token_never_appears_in_errors_reprs_or_logs(
    server: FakeZaloServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("aiohttp", "aiohttp.access", "aiohttp.client", "aiohttp.server", "asyncio", "bot"):
        caplog.set_level(logging.DEBUG, logger=name)
    zalo = ZaloClient(TOKEN, server.base_url)
    assert_no_token(repr(zalo), str(zalo))
    await zalo.get_me()
    await zalo.send_message(USER, "ok")
    errors: list[ChannelError] = []
    # The server echoing the path back must not leak it either.
    server.fail_next(status=400, description=f"Bad Request: /bot{TOKEN}/sendMessage")
    server.fail_next(status=500)
    for _ in range(2):
        try:
            await zalo.send_message(USER, "x")
        except ChannelError as exc:
            errors.append(exc)
    broken = [ZaloClient(TOKEN, "not a url"), ZaloClient(TOKEN, "http://127.0.0.1:1")]
    for other in broken:
        try:
            await other.get_me()
        except ChannelError as exc:
            errors.append(exc)
        await other.close()
    await zalo.close()
    assert len(errors) == 4
    assert "<token>" in str(errors[0])
    assert caplog.records, "the aiohttp access log should have recorded the calls"
    for error in errors:
        assert_no_token(*exception_texts(error))
        assert error.__cause__ is None and error.__context__ is None
    assert_no_token(caplog.text, *(str(record.args) for record in caplog.records))


# ---- poller ------------------------------------------------------------------------------


class Recorder:
    """Collect updates handed to on_update, optionally failing the first calls."""

    def __init__(self, fail_first: int = 0) -> None:
        self.updates: list[Any] = []
        self.attempts = 0
        self.fail_first = fail_first

    async def __call__(self, update: Any) -> None:
        self.attempts += 1
        if self.attempts <= self.fail_first:
            raise RuntimeError("database is down")
        self.updates.append(update)


@asynccontextmanager
async def polling(poller: ZaloPoller) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(poller.run())
    try:
        yield task
    finally:
        poller.stop()
        await asyncio.wait_for(task, 2)


async def test_poller_deletes_webhook_once_then_polls(client: ZaloClient, server: FakeZaloServer) -> None:
    await client.set_webhook("https://example.com/zalo", SECRET)
    recorder = Recorder()
    poller = ZaloPoller(client, recorder, poll_timeout=0.1, min_interval=0.01)
    async with polling(poller):
        await server.wait_for(lambda: len(server.calls_to("getUpdates")) >= 3)
        update = await server.send_text(USER, "báo cáo")
        await server.wait_for(lambda: recorder.updates)
    assert recorder.updates == [update]
    methods = [call.method for call in server.calls if call.method != "setWebhook"]
    assert methods[0] == "deleteWebhook" and methods.count("deleteWebhook") == 1
    assert 408 in statuses(server, "getUpdates") and 400 not in statuses(server, "getUpdates")


async def test_poller_dedupes_replayed_updates(client: ZaloClient, server: FakeZaloServer) -> None:
    server.replay_last = True
    recorder = Recorder()
    poller = ZaloPoller(client, recorder, poll_timeout=1, min_interval=0.02)
    first = await server.send_text(USER, "một lần thôi")
    async with polling(poller):
        await server.wait_for(lambda: len(server.calls_to("getUpdates")) >= 5)
        second = await server.send_text(USER, "tin mới")
        await server.wait_for(lambda: len(recorder.updates) >= 2)
        await server.wait_for(lambda: len(server.calls_to("getUpdates")) >= 12)
    assert recorder.updates == [first, second]


async def test_poller_retries_an_update_whose_handler_failed(
    client: ZaloClient, server: FakeZaloServer
) -> None:
    server.replay_last = True
    recorder = Recorder(fail_first=1)
    poller = ZaloPoller(client, recorder, poll_timeout=1, min_interval=0.02)
    update = await server.send_text(USER, "lưu giúp tôi")
    async with polling(poller):
        await server.wait_for(lambda: len(server.calls_to("getUpdates")) >= 6)
    assert recorder.attempts == 2
    assert recorder.updates == [update]


async def test_poller_keeps_min_interval_between_polls(client: ZaloClient, server: FakeZaloServer) -> None:
    server.replay_last = True  # the server answers at once, as in S8's spinning loop
    await server.send_text(USER, "spin")
    poller = ZaloPoller(client, Recorder(), poll_timeout=1, min_interval=0.2)
    async with polling(poller):
        await server.wait_for(lambda: len(server.calls_to("getUpdates")) >= 4)
    intervals = gaps(server, "getUpdates")
    assert len(intervals) >= 3
    assert min(intervals) >= 0.18, intervals


async def test_poller_backs_off_on_server_errors_then_recovers(
    client: ZaloClient, server: FakeZaloServer
) -> None:
    server.fail_next(3, status=500, method="getUpdates")
    recorder = Recorder()
    poller = ZaloPoller(
        client, recorder, poll_timeout=1, min_interval=0.01, initial_backoff=0.1, max_backoff=1
    )
    update = await server.send_text(USER, "sau sự cố")
    async with polling(poller):
        await server.wait_for(lambda: recorder.updates, timeout=5)
    assert statuses(server, "getUpdates")[:4] == [500, 500, 500, 200]
    first, second, third = gaps(server, "getUpdates")[:3]
    # Equal jitter: the n-th wait lies in [step/2, step] with step = 0.1 * 2**(n-1).
    assert first >= 0.05 and second >= 0.1 and third >= 0.2
    assert third > first
    assert recorder.updates == [update]


async def test_poller_honours_rate_limits_up_to_max_backoff(
    client: ZaloClient, server: FakeZaloServer
) -> None:
    server.fail_next(status=429, description="Quota exceeded", method="getUpdates")
    poller = ZaloPoller(
        client, Recorder(), poll_timeout=0.1, min_interval=0.01, initial_backoff=0.01, max_backoff=0.4
    )
    async with polling(poller):
        await server.wait_for(lambda: len(server.calls_to("getUpdates")) >= 2)
    assert statuses(server, "getUpdates")[0] == 429
    assert gaps(server, "getUpdates")[0] >= 0.38  # retry_after (60 s) capped at max_backoff


async def test_poller_passes_unknown_and_malformed_updates_on(
    client: ZaloClient, server: FakeZaloServer
) -> None:
    recorder = Recorder()
    odd = [
        {"event_name": "message.reaction.received", "message": {"message_id": "0123456789abcdef0123"}},
        {"event_name": "message.text.received"},
        "not even an object",
        {"message": "no id"},
    ]
    for raw in odd:
        await server.inject_update(raw)
    poller = ZaloPoller(client, recorder, poll_timeout=0.2, min_interval=0.01)
    async with polling(poller) as task:
        await server.wait_for(lambda: len(recorder.updates) == len(odd))
        assert not task.done()
    assert recorder.updates == odd


async def test_poller_stops_promptly_during_a_long_poll(client: ZaloClient, server: FakeZaloServer) -> None:
    poller = ZaloPoller(client, Recorder(), poll_timeout=30)
    task = asyncio.create_task(poller.run())
    await server.wait_for(lambda: server.calls_to("getUpdates"))
    poller.stop()
    await asyncio.wait_for(task, 1)


async def test_poller_ends_on_a_rejected_token(server: FakeZaloServer) -> None:
    zalo = ZaloClient("1:not-the-token", server.base_url)
    poller = ZaloPoller(zalo, Recorder(), poll_timeout=0.1, min_interval=0.01)
    with pytest.raises(ChannelRejected):
        await asyncio.wait_for(poller.run(), 2)
    await zalo.close()


# ---- split_text --------------------------------------------------------------------------

REPORT_LINE = (
    "Thôn Đông Hòa báo cáo: mưa lớn kéo dài, nước ngập sâu khoảng 0,5 mét ở đường liên xã. "
    "Có cần hỗ trợ di dời không? Người dân đã chủ động kê cao đồ đạc! 🌧️🏠👨‍👩‍👧 "
    "Tổ trưởng đã kiểm tra từng hộ, chưa ghi nhận thiệt hại về người."
)


def assert_faithful(text: str, chunks: list[str], limit: int) -> None:
    assert all(0 < utf16_len(chunk) <= limit for chunk in chunks)
    for chunk in chunks:
        chunk.encode("utf-16-le")  # a lone surrogate would raise here
    assert "".join("".join(chunks).split()) == "".join(text.split())
    position = 0
    for chunk in chunks:  # every chunk is a verbatim slice, in order
        position = text.index(chunk, position) + len(chunk)


def test_split_text_keeps_short_text_whole() -> None:
    assert split_text("Xin chào") == ["Xin chào"]
    assert split_text("") == []
    assert split_text("  \n ") == []


def test_split_text_prefers_line_boundaries() -> None:
    text = "\n".join(f"{i}. {REPORT_LINE}" for i in range(60))
    chunks = split_text(text)
    assert len(chunks) > 1
    assert_faithful(text, chunks, 2000)
    lines = set(text.split("\n"))
    for chunk in chunks:
        assert all(line in lines for line in chunk.split("\n")), "a line was cut in the middle"


def test_split_text_falls_back_to_sentences_then_spaces() -> None:
    paragraph = " ".join([REPORT_LINE] * 40)  # no newlines at all
    chunks = split_text(paragraph)
    assert_faithful(paragraph, chunks, 2000)
    assert all(chunk[-1] in ".?!" for chunk in chunks[:-1])
    words = " ".join(["nước"] * 1200)  # no sentence ends either
    chunks = split_text(words)
    assert_faithful(words, chunks, 2000)
    assert all(set(chunk.split()) == {"nước"} for chunk in chunks)


def test_split_text_counts_utf16_and_never_splits_surrogate_pairs() -> None:
    emoji = "😀" * 1500  # 3000 UTF-16 units, 1500 code points, no spaces
    chunks = split_text(emoji)
    assert [utf16_len(chunk) for chunk in chunks] == [2000, 1000]
    assert_faithful(emoji, chunks, 2000)
    assert split_text("a" * 9 + "😀", limit=10) == ["a" * 9, "😀"]


def test_split_text_hard_cut_keeps_accents_and_joined_emoji_together() -> None:
    decomposed = "e\u0301" * 10  # "é" written as e + combining acute accent
    assert all(chunk.startswith("e") for chunk in split_text(decomposed, limit=5))
    family = "👨‍👩‍👧"  # man ZWJ woman ZWJ girl
    assert split_text("ab" + family, limit=8) == ["ab", family]


def test_split_text_long_vietnamese_report_with_lines_sentences_and_emoji() -> None:
    text = "\n\n".join("\n".join([REPORT_LINE] * 3) + " " + " ".join([REPORT_LINE] * 12) for _ in range(6))
    chunks = split_text(text)
    assert len(chunks) >= 10
    assert_faithful(text, chunks, 2000)


# ---- webhook helpers ---------------------------------------------------------------------

UPDATE = {
    "event_name": "message.text.received",
    "message": {
        "message_id": "2d758cb5e222177a4e35",
        "date": 1750316131602,
        "from": {"id": USER, "display_name": "Ted", "is_bot": False},
        "chat": {"id": USER, "chat_type": "PRIVATE"},
        "text": "/start xin chào",
    },
}


def test_verify_secret() -> None:
    assert verify_secret({"X-Bot-Api-Secret-Token": SECRET}, SECRET)
    assert verify_secret({"x-bot-api-secret-token": SECRET}, SECRET)
    assert not verify_secret({"X-Bot-Api-Secret-Token": SECRET + "x"}, SECRET)
    assert not verify_secret({}, SECRET)
    assert not verify_secret({"X-Bot-Api-Secret-Token": ""}, "")
    assert not verify_secret({"X-Bot-Api-Secret-Token": "bí mật"}, SECRET)


def test_unwrap_update_accepts_wrapped_and_flat_bodies() -> None:
    assert unwrap_update({"ok": True, "result": UPDATE}) == UPDATE
    assert unwrap_update(UPDATE) == UPDATE
    assert unwrap_update(None) is None
    assert unwrap_update({}) is None
    assert unwrap_update({"ok": True, "result": None}) is None
    with pytest.raises(ValueError):
        unwrap_update([UPDATE])


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[TestClient, Recorder]]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_post("/zalo", make_webhook_handler(SECRET, recorder))
    http = TestClient(TestServer(app))
    await http.start_server()
    yield http, recorder
    await http.close()


async def test_webhook_rejects_missing_or_wrong_secret(webhook: tuple[TestClient, Recorder]) -> None:
    http, recorder = webhook
    missing = await http.post("/zalo", json=UPDATE)
    wrong = await http.post("/zalo", json=UPDATE, headers={"X-Bot-Api-Secret-Token": "guess-guess"})
    assert (missing.status, wrong.status) == (401, 403)
    assert recorder.attempts == 0


async def test_webhook_answers_400_to_malformed_json(webhook: tuple[TestClient, Recorder]) -> None:
    http, recorder = webhook
    headers = {"X-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    bad = await http.post("/zalo", data=b'{"event_name": ', headers=headers)
    not_object = await http.post("/zalo", data=b"[1, 2]", headers=headers)
    assert (bad.status, not_object.status) == (400, 400)
    assert recorder.attempts == 0


async def test_webhook_unwraps_both_envelopes(webhook: tuple[TestClient, Recorder]) -> None:
    http, recorder = webhook
    headers = {"X-Bot-Api-Secret-Token": SECRET}
    wrapped = await http.post("/zalo", json={"ok": True, "result": UPDATE}, headers=headers)
    flat = await http.post("/zalo", json=UPDATE, headers=headers)
    assert (wrapped.status, flat.status) == (200, 200)
    assert recorder.updates == [UPDATE, UPDATE]


async def test_webhook_answers_200_to_an_empty_probe(webhook: tuple[TestClient, Recorder]) -> None:
    http, recorder = webhook
    no_body = await http.post("/zalo")
    with_secret = await http.post("/zalo", data=b"", headers={"X-Bot-Api-Secret-Token": SECRET})
    assert (no_body.status, with_secret.status) == (200, 200)
    assert recorder.attempts == 0


async def test_webhook_answers_500_when_storing_fails() -> None:
    async def broken(update: dict[str, Any]) -> None:
        raise RuntimeError("disk full")

    app = web.Application()
    app.router.add_post("/zalo", make_webhook_handler(SECRET, broken))
    async with TestClient(TestServer(app)) as http:
        response = await http.post("/zalo", json=UPDATE, headers={"X-Bot-Api-Secret-Token": SECRET})
        assert response.status == 500
