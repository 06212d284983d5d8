"""Run the Zalo side: long polling or a webhook route, both through the inbox."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

from aiohttp import web

from bot.inbound import Inbound
from bot.pipeline import Pipeline
from bot.zalo.channel import ZaloChannel
from bot.zalo.client import ZaloClient
from bot.zalo.convert import _dict, update_key
from bot.zalo.polling import ZaloPoller
from bot.zalo.webhook import make_webhook_handler

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/webhook/zalo"


class ZaloRuntime:
    """Feed Zalo updates to the pipeline; the platform may replay updates, the inbox makes that harmless."""

    channel_name = "zalo"

    def __init__(self, client: ZaloClient, pipeline: Pipeline, *, poll_timeout: float = 30,
                 min_interval: float = 1.0, file_links: Any = None, workers: int = 1) -> None:
        self.client = client
        self.channel = ZaloChannel(client, file_links)
        self.inbound = Inbound(self.channel_name, pipeline, workers=workers)
        self.poller = ZaloPoller(client, self.accept, poll_timeout=poll_timeout, min_interval=min_interval)
        self._poll_task: asyncio.Task[None] | None = None

    async def accept(self, update: dict[str, Any]) -> None:
        key = update_key(update) or hashlib.sha256(json.dumps(update, sort_keys=True).encode()).hexdigest()[:40]
        message = _dict(update.get("message"))
        chat = _dict(message.get("chat"))
        await self.inbound.accept(key, str(chat.get("id", "-")), update)

    def start_polling(self) -> None:
        self._poll_task = asyncio.create_task(self.poller.run(), name="zalo-polling")

    async def stop(self) -> None:
        self.poller.stop()
        if self._poll_task is not None:
            try:
                await asyncio.wait_for(self._poll_task, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                self._poll_task.cancel()
        await self.inbound.close()
        await self.client.close()

    def webhook_routes(self, secret: str) -> list[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, make_webhook_handler(secret, self.accept))]

    async def set_webhook(self, base_url: str, secret: str) -> None:
        await self.client.set_webhook(base_url.rstrip("/") + WEBHOOK_PATH, secret)
