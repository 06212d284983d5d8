"""Start the service in the mode the settings ask for: sandbox, Telegram polling or webhook."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.app import App
from bot.gctune import freeze_startup_objects
from bot.settings import Settings
from storage.db import is_sqlite, upgrade

log = logging.getLogger(__name__)


async def wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def prepare_database(settings: Settings) -> None:
    """Migrate SQLite automatically; PostgreSQL deployments run `danvan db upgrade` themselves."""
    if is_sqlite(settings.database_url):
        await upgrade(settings.database_url)


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM."""
    await prepare_database(settings)
    if settings.sandbox_mode:
        from bot.sandbox.run import serve_sandbox

        await serve_sandbox(settings)
        return
    app = App(settings)
    if settings.telegram_bot_token is not None:
        app.attach_telegram(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base)
    if settings.zalo_bot_token is not None:
        app.attach_zalo(settings.zalo_bot_token.get_secret_value(), settings.zalo_api_base)
    mode = "webhook" if settings.webhook_base_url else "long polling"
    log.info("starting the bot (%s)", mode)
    await app.start()
    freeze_startup_objects()
    try:
        await wait_for_signal()
    finally:
        log.info("stopping")
        await app.stop()
