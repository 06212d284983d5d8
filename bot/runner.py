"""Start the service in the mode the settings ask for: sandbox, Telegram polling or webhook."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

from bot.app import App
from bot.settings import Settings
from storage.db import is_sqlite, upgrade

log = logging.getLogger(__name__)


def freeze_startup_objects() -> None:
    """Exempt what start-up built (modules, the lexicon's tries, aiogram's and SQLAlchemy's
    tables) from the garbage collector's full passes: it lives as long as the process, and
    walking its 300,000 objects again and again cost about a quarter of the CPU of a report
    in a burst (bench/ingest.py).

    Young objects are collected after 20,000 allocations rather than 700: a batch of updates keeps
    a few thousand objects alive for a moment (rows, ORM objects, replies), and at 700 each of
    them was scanned and promoted again and again. In a burst of 4,000 reports the collector's
    time fell from 0.15–0.24 s to 0.03 s (gc callbacks, bench/ingest.py's setup).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


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
