"""The local sandbox: the real bot against local fake Bot API servers, with a web chat page."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import SecretStr

from bot.app import App
from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.sandbox.fake_zalo import FakeZaloServer
from bot.sandbox.seed import DEMO_PEOPLE, NEWCOMER_USER_ID, seed_demo
from bot.sandbox.web import DemoUser, SandboxWebApp, TelegramBackend
from bot.sandbox.zalo_backend import ZaloBackend, zalo_user_id
from bot.settings import Settings
from bot.texts import ROLE_LABELS
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class Sandbox:
    """Everything the sandbox runs, so tests can start and stop it like `make run` does."""

    app: App
    telegram: FakeTelegramServer
    zalo: FakeZaloServer
    web: SandboxWebApp
    invite_codes: list[str]
    url: str

    async def stop(self) -> None:
        await self.web.stop()
        await self.app.stop()
        await self.telegram.stop()
        await self.zalo.stop()


async def start_sandbox(settings: Settings, *, web_port: int | None = None) -> Sandbox:
    """Start the fake servers, seed the demo province, run the bot and serve the chat page."""
    telegram, zalo = FakeTelegramServer(), FakeZaloServer()
    await telegram.start()
    await zalo.start()
    settings = settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(telegram.token), "telegram_api_base": telegram.base_url,
            "zalo_bot_token": SecretStr(zalo.token), "zalo_api_base": zalo.base_url,
            "delivery_worker": False,  # one person trying the bot: no burst to spread over two cores
        }
    )
    app = App(settings)
    app.attach_telegram(telegram.token, telegram.base_url)
    app.attach_zalo(zalo.token, zalo.base_url, poll_timeout=5, min_interval=0.2)
    async with UnitOfWork(app.session_factory) as uow:
        codes = await seed_demo(uow, app.clock.now(), zalo_id=zalo_user_id)
        await uow.commit()
    for demo in DEMO_PEOPLE:
        telegram.add_user(demo.user_id, demo.name)
    await app.start(webhook=False)
    users = [DemoUser(d.user_id, d.name, ROLE_LABELS[d.role]) for d in DEMO_PEOPLE]
    users.append(DemoUser(NEWCOMER_USER_ID, "Người mới", f"chưa đăng ký – thử mã mời {codes[0]}"))
    web = SandboxWebApp([TelegramBackend(telegram), ZaloBackend(zalo)], users)
    port = settings.sandbox_port if web_port is None else web_port
    url = await web.start(settings.sandbox_host, port)
    return Sandbox(app, telegram, zalo, web, codes, url)


async def serve_sandbox(settings: Settings) -> None:
    """Run the sandbox until interrupted (what `make run` does with no token)."""
    from bot.runner import wait_for_signal

    sandbox = await start_sandbox(settings)
    print(  # noqa: T201 - the banner is the point of `make run`
        f"\nSandbox đang chạy: mở {sandbox.url} trong trình duyệt.\n"
        f"Mã mời thử cho người mới: {', '.join(sandbox.invite_codes)}\n"
        "Dữ liệu lưu trong tệp SQLite cục bộ; không có gì rời khỏi máy này. Nhấn Ctrl+C để dừng.\n",
        flush=True,
    )
    try:
        await wait_for_signal()
    finally:
        await sandbox.stop()
