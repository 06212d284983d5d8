"""Deliver neutral replies through aiogram and map Telegram errors to the neutral ones."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, ClassVar

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    FSInputFile,
    LinkPreviewOptions,
)

from bot import texts
from bot.errors import ChannelBlocked, ChannelRateLimited, ChannelRejected, ChannelUnavailable
from handlers.registry import menu_for

log = logging.getLogger(__name__)
TAG_RE = re.compile(r"<[^>]+>")
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
NO_PREVIEW_JSON = {"is_disabled": True}


class SendText(TelegramMethod[dict[str, Any]]):
    """sendMessage for the sender's replies: the keyboard given as the Bot API's JSON object.

    The outbox already holds each reply as plain data; building aiogram's typed keyboard and the
    typed Message of the answer, only to turn them back into JSON and to read the message id,
    cost more than the HTTP call. aiogram still makes the call, raises its errors and handles
    retry-after; every call is checked against the Bot API spec by the fake server in the tests.
    """

    __returning__: ClassVar[Any] = dict[str, Any]
    __api_method__: ClassVar[str] = "sendMessage"
    __plain_json__: ClassVar[bool] = True  # fields are JSON values: the session posts them as they are

    chat_id: int | str
    text: str
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    link_preview_options: dict[str, Any] | None = None


def keyboard_json(rows: list[list[dict[str, str]]] | None) -> dict[str, Any] | None:
    """Return the inline keyboard of a reply as the Bot API's InlineKeyboardMarkup object."""
    if not rows:
        return None
    return {"inline_keyboard": [[{"text": b["label"], "callback_data": b["payload"]} for b in row] for row in rows]}


def plain(html_text: str) -> str:
    """Turn catalogue HTML into plain text (fallback when Telegram rejects the markup)."""
    import html

    return html.unescape(TAG_RE.sub("", html_text))


class TelegramChannel:
    """The Telegram side of the sender and of the runtime's after-commit actions."""

    name = "telegram"

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def deliver(self, chat_id: str, payload: dict[str, Any]) -> str | None:
        try:
            return await self._deliver(chat_id, payload)
        except TelegramRetryAfter as exc:
            raise ChannelRateLimited(float(exc.retry_after), exc.message) from None
        except (TelegramForbiddenError, TelegramUnauthorizedError) as exc:
            if isinstance(exc, TelegramUnauthorizedError):
                raise ChannelUnavailable("unauthorized: check TELEGRAM_BOT_TOKEN") from None
            raise ChannelBlocked(exc.message) from None
        except (TelegramBadRequest, TelegramNotFound) as exc:
            raise ChannelRejected(exc.message) from None
        except (TelegramNetworkError, TelegramServerError, TimeoutError) as exc:
            raise ChannelUnavailable(str(getattr(exc, "message", type(exc).__name__))) from None
        except TelegramAPIError as exc:
            raise ChannelUnavailable(exc.message) from None

    async def _deliver(self, chat_id: str, payload: dict[str, Any]) -> str | None:
        if payload.get("file"):
            return await self._send_file(chat_id, payload["file"], payload.get("text"))
        if payload.get("edit_message_id"):
            edited = await self._edit(
                chat_id, int(payload["edit_message_id"]), payload["text"], keyboard_json(payload.get("buttons"))
            )
            if edited is not None:
                return edited
        markup_json = keyboard_json(payload.get("buttons"))
        try:
            # Built without validation: every field comes from our own outbox row, in the Bot API's types.
            sent = await self.bot(SendText.model_construct(
                chat_id=chat_id, text=payload["text"], parse_mode="HTML", reply_markup=markup_json,
                link_preview_options=NO_PREVIEW_JSON,
            ))
        except TelegramBadRequest as exc:
            if "parse entities" not in exc.message:
                raise
            log.error("Telegram rejected catalogue HTML; sending plain text instead")
            sent = await self.bot(SendText(chat_id=chat_id, text=plain(payload["text"]), reply_markup=markup_json))
        return str(sent["message_id"])

    async def _edit(self, chat_id: str, message_id: int, text: str, markup: Any) -> str | None:
        """Edit in place; None means the message cannot be edited any more, so send a new one."""
        try:
            await self.bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, parse_mode="HTML",
                reply_markup=markup, link_preview_options=NO_PREVIEW,
            )
            return str(message_id)
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return str(message_id)
            if "can't be edited" in exc.message or "not found" in exc.message:
                return None
            raise

    async def _send_file(self, chat_id: str, f: dict[str, Any], text: str | None) -> str:
        # A file already on Telegram (e.g. a notice's photo) is resent by its id; our own files are uploaded.
        upload: str | FSInputFile = f["file_id"] if f.get("file_id") else FSInputFile(f["path"], filename=f["filename"])
        caption = f.get("caption") or None
        if f.get("kind") == "photo":
            msg = await self.bot.send_photo(chat_id, upload, caption=caption, parse_mode="HTML")
        else:
            msg = await self.bot.send_document(chat_id, upload, caption=caption, parse_mode="HTML")
        return str(msg.message_id)

    async def answer_callback(self, callback_id: str, text: str | None) -> None:
        """Stop the button's spinner; stale queries (after a restart) are ignored."""
        try:
            await self.bot.answer_callback_query(callback_id, text=(text or None) and text[:200])
        except TelegramAPIError:
            pass

    async def set_default_menu(self) -> None:
        await self.bot.set_my_commands(_commands(None), scope=BotCommandScopeDefault())

    async def set_chat_menu(self, chat_id: str, role: str | None) -> None:
        """Show the commands of a role in one chat's menu."""
        try:
            await self.bot.set_my_commands(_commands(role), scope=BotCommandScopeChat(chat_id=int(chat_id)))
        except (TelegramAPIError, ValueError):
            log.warning("could not set the command menu of a chat")

    async def username(self) -> str | None:
        me = await asyncio.wait_for(self.bot.get_me(), timeout=30)
        return me.username


def _commands(role: str | None) -> list[BotCommand]:
    return [BotCommand(command=name, description=texts.COMMANDS.get(name, name)) for name in menu_for(role)]
