"""The composition root: builds settings, database, services, pipeline, sender and channel runtimes."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from aiohttp import web

from bot.clock import Clock, SystemClock
from bot.delivery import DeliveryWorker
from bot.digest.service import DigestService
from bot.filelinks import FileLinks
from bot.notices import NoticeProgress, reminder_tick
from bot.periods import Calendar
from bot.pipeline import Pipeline
from bot.quota import QuotaTracker
from bot.sender import Sender
from bot.settings import Settings
from bot.tagging import Tagger
from bot.telegram.convert import parse_update as parse_telegram
from bot.telegram.runtime import TelegramRuntime, make_bot
from bot.zalo.client import ZaloClient
from bot.zalo.convert import parse_update as parse_zalo
from bot.zalo.runtime import ZaloRuntime
from handlers.context import Services
from schedules.jobs import JobEnv
from schedules.service import SchedulerService, Scheduling
from storage.db import create_engine, is_sqlite, make_session_factory

log = logging.getLogger(__name__)


def webhook_secret(settings: Settings, token: str) -> str:
    """Return the configured webhook secret, or one derived from the token (stable across restarts)."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    return hashlib.sha256(b"danvan-webhook:" + token.encode()).hexdigest()[:48]


class App:
    """Everything the bot needs, wired once; ``start()`` runs it, ``stop()`` shuts it down cleanly."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.engine = create_engine(settings.database_url)
        self.session_factory = make_session_factory(self.engine)
        self.services = Services(
            settings=settings,
            clock=self.clock,
            tagger=Tagger(settings.lexicon_path),
            calendar=Calendar(cutoff_day=settings.period_cutoff_day, tz=settings.timezone),
        )
        self.pipeline = Pipeline(
            self.session_factory,
            self.services,
            parsers={"telegram": parse_telegram, "zalo": parse_zalo},
            on_queued=self._wake_sender,
        )
        self.services.digests = DigestService(self.session_factory, self.services.calendar, settings)
        self.scheduling = Scheduling(
            JobEnv(self.session_factory, self.services.calendar, digests=self.services.digests),
            self.clock,
            on_queued=self._wake_sender,
        )
        self.services.scheduling = self.scheduling
        self.scheduling.extra_ticks.append(reminder_tick(self.session_factory, on_queued=self._wake_sender))
        self.quota = QuotaTracker(
            self.session_factory, self.clock, {"zalo": settings.zalo_monthly_quota}, settings.tz
        )
        self.scheduler: SchedulerService | None = None
        self.channels: dict[str, Any] = {}
        # Download links for files, where a channel cannot send them (Zalo) and a public URL exists.
        # Kept as FileLinks' arguments too: the delivery worker builds the same links from them.
        secret = settings.webhook_secret or settings.telegram_bot_token or settings.zalo_bot_token
        self._file_links_config: dict[str, Any] | None = (
            {"base_url": settings.webhook_base_url, "secret": secret.get_secret_value(),
             "data_dir": str(settings.data_dir.resolve())}
            if settings.webhook_base_url and secret is not None
            else None
        )
        self.file_links = FileLinks(**self._file_links_config) if self._file_links_config else None
        self.telegram: TelegramRuntime | None = None
        self.zalo: ZaloRuntime | None = None
        self.sender: Sender | None = None
        # What the delivery worker needs to build each channel's adapter (tokens, API hosts, file links).
        self._delivery_config: dict[str, dict[str, Any]] = {}
        self.delivery: DeliveryWorker | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._web_runner: web.AppRunner | None = None
        self._lexicon_task: asyncio.Task[None] | None = None

    def _wake_sender(self) -> None:
        if self.sender is not None:
            self.sender.wake()

    def attach_telegram(self, token: str, api_base: str | None = None) -> TelegramRuntime:
        self.telegram = TelegramRuntime(make_bot(token, api_base), self.pipeline, workers=self._handling_workers())
        self.channels["telegram"] = self.telegram.channel
        self._delivery_config["telegram"] = {"token": token, "api_base": api_base}
        return self.telegram

    def attach_zalo(self, token: str, api_base: str, *, poll_timeout: float = 30, min_interval: float = 1.0) -> ZaloRuntime:
        self._zalo_token = token
        client = ZaloClient(token, api_base)
        links = self.file_links.url if self.file_links else None
        self.zalo = ZaloRuntime(
            client, self.pipeline, poll_timeout=poll_timeout, min_interval=min_interval, file_links=links,
            workers=self._handling_workers(),
        )
        self.channels["zalo"] = self.zalo.channel
        self._delivery_config["zalo"] = {"token": token, "api_base": api_base, "file_links": self._file_links_config}
        return self.zalo

    def _handling_workers(self) -> int:
        """Batches of updates handled at once per channel: SQLite's one connection takes one at a time."""
        return 1 if is_sqlite(self.settings.database_url) else 4

    def build_sender(self) -> Sender:
        rates = {"telegram": self.settings.telegram_rate, "zalo": self.settings.zalo_rate}
        channels = self.channels
        if self.settings.delivery_worker and self.channels:
            # The platform calls go to a second process; everything else stays here (bot/delivery.py).
            self.delivery = DeliveryWorker(self._delivery_config, log_level=self.settings.log_level)
            channels = {name: self.delivery.channel(name) for name in self.channels}
        self.sender = Sender(self.session_factory, self.clock, channels, rates,
                             concurrency=self.settings.sender_concurrency)
        self.sender.listeners.append(NoticeProgress(self.session_factory, self.clock, wake=self.sender.wake))
        self.sender.listeners.append(self.quota.on_outcomes)
        self.quota.on_queued = self.sender.wake
        self.sender.bulk_allowed = self.quota.allow_bulk
        self.pipeline.handoff = self.sender
        return self.sender

    async def start(self, *, webhook: bool | None = None, scheduler: bool = True) -> None:
        """Start the sender and the scheduler, retry updates left unhandled, and start receiving updates."""
        webhook = bool(self.settings.webhook_base_url) if webhook is None else webhook
        sender = self.sender or self.build_sender()
        if self.delivery is not None:
            await self.delivery.start()
        await self.quota.load()
        await sender.requeue_stale(older_than=_zero_if_single_process(self.settings))
        self._tasks.append(asyncio.create_task(sender.run(), name="sender"))
        if scheduler:
            self.scheduler = SchedulerService(self.scheduling, self.engine, self.settings.tz)
            await self.scheduler.start()
        self._lexicon_task = asyncio.create_task(self._watch_lexicon(), name="lexicon-reload")
        if self.telegram is not None:
            await self._prepare_telegram()
        await self.pipeline.retry_unhandled()
        if webhook:
            await self._start_webhooks()
            return
        if self.telegram is not None:
            self._tasks.append(asyncio.create_task(self.telegram.start_polling(), name="telegram-polling"))
        if self.zalo is not None:
            self.zalo.start_polling()

    async def _prepare_telegram(self) -> None:
        assert self.telegram is not None
        channel = self.telegram.channel
        try:
            username = await channel.username()
            if username:
                self.services.bot_usernames["telegram"] = username
            await channel.set_default_menu()
        except Exception:  # noqa: BLE001 - the network may be down at start; polling retries later
            log.exception("could not reach the Telegram Bot API at start")

    async def _start_webhooks(self) -> None:
        base = self.settings.webhook_base_url
        assert base, "webhook mode needs WEBHOOK_BASE_URL"
        routes: list[web.RouteDef] = []
        secrets: dict[str, str] = {}
        if self.telegram is not None:
            secrets["telegram"] = webhook_secret(self.settings, self.telegram.bot.token)
            routes += self.telegram.webhook_routes(secrets["telegram"])
        if self.zalo is not None:
            secrets["zalo"] = webhook_secret(self.settings, self._zalo_token)
            routes += self.zalo.webhook_routes(secrets["zalo"])
        if self.file_links is not None:
            routes.append(self.file_links.route())
        await self._start_web(routes)
        if self.telegram is not None:
            await self.telegram.set_webhook(base, secrets["telegram"])
        if self.zalo is not None:
            await self.zalo.set_webhook(base, secrets["zalo"])

    async def _watch_lexicon(self, every: float = 5.0) -> None:
        """Pick up an edited lexicon file without a restart; a broken edit keeps the previous one."""
        while True:
            await asyncio.sleep(every)
            errors = self.services.tagger.reload_if_changed()
            for error in errors:
                log.error("lexicon not reloaded: %s", error)

    async def _start_web(self, routes: list[web.RouteDef]) -> None:
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.add_routes(routes)
        self._web_runner = web.AppRunner(app, access_log=None)
        await self._web_runner.setup()
        site = web.TCPSite(self._web_runner, self.settings.webhook_listen_host, self.settings.webhook_listen_port)
        await site.start()
        log.info("webhook server listening on port %s", self.settings.webhook_listen_port)

    async def stop(self) -> None:
        """Stop receiving, finish the updates in hand, stop the sender, close connections."""
        if self._lexicon_task is not None:
            self._lexicon_task.cancel()
        if self.telegram is not None:
            await self.telegram.stop_polling()
            await self.telegram.drain_tasks()
        if self.zalo is not None:
            await self.zalo.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.sender is not None:
            self.sender.stop()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:  # noqa: BLE001
                log.exception("task %s ended with an error", task.get_name())
        self._tasks.clear()
        if self.delivery is not None:
            await self.delivery.stop()
        if self._web_runner is not None:
            await self._web_runner.cleanup()
        if self.telegram is not None:
            await self.telegram.bot.session.close()
        await self.engine.dispose()


def _zero_if_single_process(settings: Settings) -> Any:
    from datetime import timedelta

    # SQLite means one process: anything still "sending" was left by a crash. PostgreSQL may have
    # live workers, so only rows abandoned for a while are taken back.
    return timedelta(0) if is_sqlite(settings.database_url) else timedelta(minutes=2)
