"""The delivery worker: platform calls made by a second process, over real HTTP to the fake servers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App
from bot.delivery import DeliveryWorker, decode_error, encode_error
from bot.errors import ChannelBlocked, ChannelRateLimited, ChannelRejected, ChannelUnavailable
from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.sandbox.fake_zalo import FakeZaloServer
from storage.models import Identity, OutboxItem
from tests.e2e import make_settings, running_app, seed
from tests.test_zalo_e2e import ZUSER, register_on_zalo, wait_zalo

REPORTER, OFFICER = 501, 502
PEOPLE = [(REPORTER, "Lò Văn Sáu", "reporter", "X1-T1"), (OFFICER, "Trần Thị Ban", "officer", "P")]


@pytest.fixture
async def server():
    async with FakeTelegramServer() as srv:
        yield srv


def receipts(server: FakeTelegramServer, chat_id: int) -> list[str]:
    return [e.plain_text for e in server.sent_to(chat_id) if "Đã nhận báo cáo" in e.plain_text]


async def outbox_rows(app: App, chat_id: int) -> list[OutboxItem]:
    async with app.session_factory() as session:
        rows = await session.execute(select(OutboxItem).where(OutboxItem.chat_id == str(chat_id)).order_by(OutboxItem.id))
        return list(rows.scalars())


async def wait_rows(app: App, chat_id: int, statuses: list[str], timeout: float = 15.0) -> list[OutboxItem]:
    """Wait until the chat's outbox rows have these statuses (outcomes are committed after the call)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await outbox_rows(app, chat_id)
        if [r.status for r in rows] == statuses or asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.05)


def worker_pid(app: App) -> int:
    assert app.delivery is not None and app.delivery.pid is not None
    return app.delivery.pid


async def test_replies_and_alerts_go_out_through_the_worker_process(server: FakeTelegramServer, db_url: str) -> None:
    settings = make_settings(db_url, server, delivery_worker=True)
    async with running_app(settings) as app:
        await seed(app, PEOPLE)
        await app.start(webhook=False, scheduler=False)
        pid = worker_pid(app)
        assert pid != os.getpid()
        server.send_text(REPORTER, "Khoảng 40 hộ kéo đến UBND xã đòi đền bù, có xô xát")
        await server.wait_for(lambda c: c.method == "sendMessage" and "TIN KHẨN" in str(c.params.get("text")))
        await server.wait_for(lambda c: c.method == "sendMessage" and str(c.params.get("chat_id")) == str(REPORTER))
        rows = await wait_rows(app, REPORTER, ["sent"])
        # The outcome the worker reported is recorded here: sent, with the platform's message id.
        assert [(r.status, r.message_id) for r in rows] == [("sent", str(server.sent_to(REPORTER)[-1].message_id))]
        assert receipts(server, REPORTER), "the reporter got the receipt"
    assert app.delivery is not None and app.delivery._proc is not None
    assert app.delivery._proc.returncode == 0, "the worker ends with the service"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert server.invalid_calls == []


async def test_platform_errors_come_back_as_the_same_outcomes(server: FakeTelegramServer, db_url: str) -> None:
    settings = make_settings(db_url, server, delivery_worker=True)
    async with running_app(settings) as app:
        await seed(app, PEOPLE)
        await app.start(webhook=False, scheduler=False)
        # 429: the channel waits and the message goes out afterwards; the attempt is not counted.
        server.fail_next("sendMessage", 429, retry_after=1)
        server.send_text(REPORTER, "Bà con phản ánh giá phân bón tăng")
        await server.wait_until(lambda: len(receipts(server, REPORTER)) == 1, timeout=10)
        assert [c.status for c in server.calls_to("sendMessage")][:1] == [429]
        # 400: rejected, not retried, the reason kept.
        server.fail_next("sendMessage", 400, description="Bad Request: chat not found")
        server.send_text(REPORTER, "Giáo xứ tổ chức lễ, trật tự tốt")
        await server.wait_idle()
        # 403: the person blocked the bot; the identity is marked so nothing more is queued for it.
        server.block_user(REPORTER)
        server.send_text(REPORTER, "Nguoi dan lo lang vi tin don")
        rows = await wait_rows(app, REPORTER, ["sent", "failed", "failed"])
        async with app.session_factory() as session:
            identity = (await session.execute(select(Identity).where(Identity.external_user_id == str(REPORTER)))).scalar_one()
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1), ("failed", 1), ("failed", 1)]
    assert rows[1].error is not None and "chat not found" in rows[1].error
    assert rows[2].error is not None and "blocked" in rows[2].error.lower()
    assert identity.active is False


async def test_a_killed_worker_is_started_again_and_nothing_is_lost(server: FakeTelegramServer, db_url: str) -> None:
    settings = make_settings(db_url, server, delivery_worker=True)
    async with running_app(settings) as app:
        await seed(app, PEOPLE)
        await app.start(webhook=False, scheduler=False)
        assert app.delivery is not None
        os.kill(worker_pid(app), signal.SIGKILL)
        server.send_text(REPORTER, "Bà con phản ánh đường liên thôn sạt lở")
        await server.wait_until(lambda: len(receipts(server, REPORTER)) == 1, timeout=15)
        assert app.delivery.restarts == 1
        server.send_text(REPORTER, "Giáo xứ tổ chức lễ, trật tự tốt")
        await server.wait_until(lambda: len(receipts(server, REPORTER)) == 2, timeout=10)
        rows = await wait_rows(app, REPORTER, ["sent", "sent"])
    assert [r.status for r in rows] == ["sent", "sent"]


async def test_zalo_messages_go_through_the_worker_too(server: FakeTelegramServer, db_url: str) -> None:
    async with FakeZaloServer() as zalo:
        settings = make_settings(db_url, server, delivery_worker=True)
        app = App(settings)
        app.attach_telegram(server.token, server.base_url)
        app.attach_zalo(zalo.token, zalo.base_url, poll_timeout=1, min_interval=0.05)
        try:
            code = await seed(app, PEOPLE)
            await app.start(webhook=False, scheduler=False)
            await register_on_zalo(zalo, code)
            await zalo.send_text(ZUSER, "Đồng bào Khmer tổ chức lễ Chôl Chnăm Thmây tại chùa, an toàn")
            receipt = await wait_zalo(zalo, ZUSER, "Đã nhận báo cáo số")
            assert "Trả lời 1" in receipt  # the numbered choices of a buttonless channel
            assert app.delivery is not None and set(app.delivery.config) == {"telegram", "zalo"}
        finally:
            await app.stop()


async def test_zalo_file_links_made_by_the_worker_are_served_by_the_main_process(
        server: FakeTelegramServer, db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "digests").mkdir(parents=True)
    doc = data / "digests" / "BaoCao.docx"
    doc.write_bytes(b"PK\x03\x04 docx")
    async with FakeZaloServer() as zalo:
        settings = make_settings(db_url, server, delivery_worker=True, data_dir=data,
                                 webhook_base_url="https://bot.example.vn", webhook_secret="s3cret-value")
        app = App(settings)
        app.attach_zalo(zalo.token, zalo.base_url)
        worker = DeliveryWorker(app._delivery_config)
        await worker.start()
        try:
            file = {"path": str(doc), "filename": "BaoCao_2026-Q1.docx", "kind": "document"}
            await worker.call("zalo", ZUSER, {"text": "Báo cáo quý I", "file": file})
        finally:
            await worker.stop()
            await app.stop()
    text = zalo.sent_to(ZUSER)[-1].text or ""
    url = next(word for word in text.split() if word.startswith("https://bot.example.vn/files/"))
    assert app.file_links is not None
    assert app.file_links.resolve(url.rsplit("/", 1)[1]) == (doc.resolve(), "BaoCao_2026-Q1.docx")


async def test_worker_answers_each_call_and_exits_when_its_input_ends(server: FakeTelegramServer) -> None:
    worker = DeliveryWorker({"telegram": {"token": server.token, "api_base": server.base_url}})
    await worker.start()
    try:
        server.add_user(REPORTER, "Lò Văn Sáu")
        sent = await asyncio.gather(*(worker.call("telegram", str(REPORTER), {"text": f"Tin số {i}"}) for i in range(20)))
        assert sorted(int(m) for m in sent if m) == sorted(e.message_id for e in server.sent_to(REPORTER))
        with pytest.raises(ChannelRejected, match="zalo"):
            await worker.call("zalo", "1", {"text": "x"})
        proc = worker._proc
    finally:
        await worker.stop()
    assert proc is not None and proc.returncode == 0
    with pytest.raises(ChannelUnavailable):
        await worker.call("telegram", str(REPORTER), {"text": "after stop"})


async def test_worker_that_cannot_start_is_reported() -> None:
    # A configuration the worker cannot build an adapter from: it exits before saying it is ready.
    worker = DeliveryWorker({"zalo": {"token": "", "api_base": "http://127.0.0.1:9"}})
    with pytest.raises(RuntimeError, match="did not start"):
        await worker.start()


def delivery_children() -> list[int]:
    """Return the live delivery workers this test process started (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"bot.delivery" in cmdline:
            found.append(int(stat.parent.name))
    return found


async def test_worker_too_slow_to_start_is_not_left_running(monkeypatch: pytest.MonkeyPatch, server: FakeTelegramServer) -> None:
    monkeypatch.setattr("bot.delivery.START_TIMEOUT", 0.05)  # far less than importing aiogram takes
    worker = DeliveryWorker({"telegram": {"token": server.token, "api_base": server.base_url}})
    with pytest.raises(RuntimeError, match="did not start"):
        await worker.start()
    assert delivery_children() == []


async def test_orphaned_worker_exits_when_the_main_process_is_gone() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.delivery", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps({"channels": {}, "log_level": "WARNING"}).encode() + b"\n")
    assert json.loads(await proc.stdout.readline()) == {"ready": True}
    # It runs on uvloop (bot/eventloop.py imports it only to run the loop).
    assert "uvloop" in Path(f"/proc/{proc.pid}/maps").read_text()
    proc.stdin.close()  # what the kernel does when the main process is killed
    assert await asyncio.wait_for(proc.wait(), 10) == 0


async def test_the_worker_run_by_hand_reads_calls_from_a_file_and_answers_into_a_file(tmp_path: Path) -> None:
    # Files are no pipes: the event loop cannot watch them (uvloop would abort), so they are read
    # and written plainly. The call names a channel the worker was not given: a "rejected" answer.
    calls, answers = tmp_path / "calls.jsonl", tmp_path / "answers.jsonl"
    calls.write_text(json.dumps({"channels": {}, "log_level": "WARNING"}) + "\n"
                     + json.dumps({"id": 1, "channel": "telegram", "chat": "5", "payload": {"text": "Xin chào"}}) + "\n")
    with calls.open("rb") as stdin, answers.open("wb") as stdout:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.delivery", stdin=stdin, stdout=stdout)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
    ready, answer = (json.loads(line) for line in answers.read_text().splitlines())
    assert ready == {"ready": True}
    assert answer["id"] == 1 and answer["error"] == "rejected" and "telegram" in answer["description"]


@pytest.mark.parametrize("error", [
    ChannelBlocked("Forbidden: bot was blocked by the user"),
    ChannelRejected("Bad Request: chat not found"),
    ChannelUnavailable("Service Unavailable"),
])
def test_neutral_errors_cross_the_process_boundary_unchanged(error: Exception) -> None:
    back = decode_error(json.loads(json.dumps(encode_error(error))))
    assert type(back) is type(error) and str(back) == str(error)


def test_rate_limit_keeps_its_wait_and_unexpected_errors_hide_their_text() -> None:
    back = decode_error(encode_error(ChannelRateLimited(7.5, "Too Many Requests")))
    assert isinstance(back, ChannelRateLimited) and back.retry_after == 7.5
    bug = decode_error(encode_error(KeyError("Bà con phản ánh ... (report text)")))
    assert isinstance(bug, ChannelUnavailable) and "Bà con" not in str(bug) and "KeyError" in str(bug)
