"""Translate raw Telegram updates into neutral incoming messages (pure, no network)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from aiogram.types import CallbackQuery, Message, Update
from pydantic import ValidationError

from handlers.types import Attachment, Incoming, Location

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


def parse_update(payload: dict[str, Any]) -> Incoming | None:
    """Return the neutral message of an update, or None for updates the bot does not act on."""
    try:
        update = Update.model_validate(payload)
    except ValidationError:
        log.warning("dropping an update that does not match the Bot API schema")
        return None
    key = str(update.update_id)
    if update.message is not None:
        return _from_message(update.message, key, edited=False)
    if update.edited_message is not None:
        return _from_message(update.edited_message, key, edited=True)
    if update.callback_query is not None:
        return _from_callback(update.callback_query, key)
    return None


def _chat_type(kind: str) -> str | None:
    if kind == "private":
        return "private"
    if kind in ("group", "supergroup"):
        return "group"
    return None  # channels: the bot does not listen there


def _name(user: Any) -> str:
    return " ".join(p for p in (user.first_name, user.last_name) if p).strip() if user else ""


def _attachments(m: Message) -> list[Attachment]:
    found: list[Attachment] = []
    if m.photo:
        found.append(Attachment("photo", file_id=m.photo[-1].file_id))
    pairs = [
        ("voice", m.voice), ("audio", m.audio), ("video", m.video), ("video", m.video_note),
        ("document", m.document), ("sticker", m.sticker), ("animation", m.animation),
    ]
    for kind, media in pairs:
        if media is not None and not (kind == "document" and m.animation is not None):
            found.append(Attachment(kind, file_id=media.file_id, name=getattr(media, "file_name", None)))  # type: ignore[arg-type]
    return found


def _from_message(m: Message, key: str, *, edited: bool) -> Incoming | None:
    chat_type = _chat_type(m.chat.type)
    if chat_type is None or m.from_user is None or m.from_user.is_bot:
        return None
    text = m.text if m.text is not None else m.caption
    attachments = _attachments(m)
    location = Location(m.location.latitude, m.location.longitude) if m.location else None
    known = text is not None or attachments or location
    return Incoming(
        channel="telegram",
        external_user_id=str(m.from_user.id),
        chat_id=str(m.chat.id),
        update_key=key,
        received_at=_aware(m.date),
        display_name=_name(m.from_user),
        chat_type=chat_type,  # type: ignore[arg-type]
        text=text,
        message_id=str(m.message_id),
        attachments=attachments,
        location=location,
        edited=edited,
        unsupported=not known,
    )


def _from_callback(q: CallbackQuery, key: str) -> Incoming | None:
    message = q.message
    chat_id = str(message.chat.id) if message is not None else str(q.from_user.id)
    chat_type = _chat_type(message.chat.type) if message is not None else "private"
    if chat_type is None:
        return None
    return Incoming(
        channel="telegram",
        external_user_id=str(q.from_user.id),
        chat_id=chat_id,
        update_key=key,
        received_at=datetime.now(UTC),
        display_name=_name(q.from_user),
        chat_type=chat_type,  # type: ignore[arg-type]
        payload=q.data or "",
        callback_id=q.id,
        message_id=str(message.message_id) if message is not None else None,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
