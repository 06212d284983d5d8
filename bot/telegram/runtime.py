"""Run the Telegram side: aiogram polling or an aiohttp webhook, both through the inbox."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import TelegramObject, Update
from aiohttp import web
from pydantic import ValidationError

from bot.inbound import Inbound
from bot.pipeline import Handled, Pipeline
from bot.telegram.channel import TelegramChannel
from bot.telegram.convert import ALLOWED_UPDATES

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/webhook/telegram"


def make_bot(token: str, api_base: str | None = None) -> Bot:
    """Create the aiogram Bot, pointed at a custom Bot API server when one is configured."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base)) if api_base else AiohttpSession()
    return Bot(token=token, session=session, default=DefaultBotProperties())


class TelegramRuntime:
    """Feed updates to the pipeline in arrival order per chat, and do the after-commit actions."""

    channel_name = "telegram"

    def __init__(self, bot: Bot, pipeline: Pipeline) -> None:
        self.bot = bot
        self.pipeline = pipeline
        self.channel = TelegramChannel(bot)
        self.dispatcher = Dispatcher()
        self.dispatcher.update.outer_middleware(self._middleware)
        self.inbound = Inbound(self.channel_name, pipeline, self.after)

    async def _middleware(self, _handler: Any, event: TelegramObject, _data: dict[str, Any]) -> None:
        # Store first: aiogram confirms the update to Telegram only after this returns.
        await self.accept(event.model_dump(mode="json", exclude_none=True, by_alias=True))

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
        """Wait for the updates being handled (used at shutdown and by tests)."""
        await self.inbound.drain()

    async def start_polling(self) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.dispatcher.start_polling(
            self.bot, handle_signals=False, handle_as_tasks=False, allowed_updates=ALLOWED_UPDATES,
            close_bot_session=False,
        )

    async def stop_polling(self) -> None:
        try:
            await self.dispatcher.stop_polling()
        except RuntimeError:
            pass  # polling had not started

    def webhook_routes(self, secret: str) -> list[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, self._make_webhook_handler(secret))]

    def _make_webhook_handler(self, secret: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                return web.json_response({"ok": False, "description": "wrong secret"}, status=401)
            try:
                payload = json.loads(await request.read())
                Update.model_validate(payload)
            except (ValueError, ValidationError):
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
