"""Run the Telegram side: aiogram polling or an aiohttp webhook, both through the inbox."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any, ClassVar, cast

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import GetUpdates
from aiogram.utils.backoff import Backoff, BackoffConfig
from aiohttp import web

from bot.inbound import Inbound
from bot.pipeline import Handled, Pipeline
from bot.telegram.channel import TelegramChannel
from bot.telegram.convert import ALLOWED_UPDATES, is_update
from bot.telegram.session import JsonAiohttpSession

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/webhook/telegram"
POLL_BACKOFF = BackoffConfig(min_delay=1.0, max_delay=30.0, factor=1.5, jitter=0.1)


class RawGetUpdates(GetUpdates):
    """getUpdates answered with the updates as JSON objects: they are stored as they come, and
    turning each into aiogram types and back would cost more than the rest of storing it."""

    __returning__: ClassVar[Any] = list[dict[str, Any]]


def make_bot(token: str, api_base: str | None = None) -> Bot:
    """Create the aiogram Bot, pointed at a custom Bot API server when one is configured."""
    # JSON bodies instead of aiogram's per-call form: a third of the client CPU of a sendMessage.
    session = JsonAiohttpSession(api=TelegramAPIServer.from_base(api_base)) if api_base else JsonAiohttpSession()
    return Bot(token=token, session=session, default=DefaultBotProperties())


class TelegramRuntime:
    """Feed updates to the pipeline in arrival order per chat, and do the after-commit actions."""

    channel_name = "telegram"

    def __init__(self, bot: Bot, pipeline: Pipeline, *, workers: int = 1, poll_timeout: int = 30) -> None:
        self.bot = bot
        self.pipeline = pipeline
        self.channel = TelegramChannel(bot)
        self.inbound = Inbound(self.channel_name, pipeline, self.after, workers=workers)
        self.poll_timeout = poll_timeout
        self._polling: asyncio.Task[None] | None = None

    async def accept(self, payload: dict[str, Any]) -> bool:
        """Store a raw update and handle it in the background; False means it was a duplicate."""
        return await self.inbound.accept(str(payload["update_id"]), _chat_key(payload), payload)

    async def after(self, handled: Handled) -> None:
        """Answer the pressed button and refresh the chat menu once the update is committed."""
        msg = handled.incoming
        if msg is None:
            return
        if msg.callback_id:
            await self.channel.answer_callback(msg.callback_id, handled.result.toast)
        if handled.result.menu_role:
            await self.channel.set_chat_menu(msg.chat_id, handled.result.menu_role)

    async def drain_tasks(self) -> None:
        """Handle the updates accepted so far and stop handling (used at shutdown)."""
        await self.inbound.close()

    async def start_polling(self) -> None:
        """Long-poll getUpdates until stopped; each answer is stored before the next call confirms it."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._polling = asyncio.current_task()
        backoff = Backoff(POLL_BACKOFF)
        offset: int | None = None
        # The request may take as long as the long poll, plus the session's own allowance.
        request_timeout = int((self.bot.session.timeout or 0) + self.poll_timeout)
        while True:
            call = RawGetUpdates(offset=offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES)
            try:
                updates = cast(list[dict[str, Any]], await self.bot(call, request_timeout=request_timeout))
                payloads = [u for u in updates if isinstance(u.get("update_id"), int)]
                await self.inbound.accept_many([(str(u["update_id"]), _chat_key(u), u) for u in payloads])
            except asyncio.CancelledError:
                raise
            except TelegramRetryAfter as exc:
                log.warning("getUpdates: asked to wait %s s", exc.retry_after)
                await asyncio.sleep(exc.retry_after)
                continue
            except Exception as exc:  # noqa: BLE001 - the network or the database may come back
                log.warning("getUpdates or storing the updates failed (%s); retrying in %.1f s",
                            type(exc).__name__, backoff.next_delay)
                await backoff.asleep()
                continue
            backoff.reset()
            if updates:
                offset = max(u["update_id"] for u in payloads) + 1 if payloads else offset

    async def stop_polling(self) -> None:
        """Stop long polling; updates already stored are still handled (see ``drain_tasks``)."""
        task, self._polling = self._polling, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def webhook_routes(self, secret: str) -> list[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, self._make_webhook_handler(secret))]

    def _make_webhook_handler(self, secret: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                return web.json_response({"ok": False, "description": "wrong secret"}, status=401)
            try:
                payload = json.loads(await request.read())
            except ValueError:
                payload = None
            if not is_update(payload):
                return web.json_response({"ok": False, "description": "malformed update"}, status=400)
            await self.accept(payload)
            return web.json_response({"ok": True})

        return handle

    async def set_webhook(self, base_url: str, secret: str) -> None:
        await self.bot.set_webhook(
            url=base_url.rstrip("/") + WEBHOOK_PATH, secret_token=secret, allowed_updates=ALLOWED_UPDATES
        )


def _chat_key(payload: dict[str, Any]) -> str:
    for field in ("message", "edited_message"):
        if isinstance(payload.get(field), dict):
            return str(payload[field].get("chat", {}).get("id"))
    query = payload.get("callback_query")
    if isinstance(query, dict):
        return str((query.get("message") or {}).get("chat", {}).get("id") or query.get("from", {}).get("id"))
    return "-"
