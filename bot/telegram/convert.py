"""Translate raw Telegram updates into neutral incoming messages (pure, no network).

Updates are validated against a narrow schema of the fields the bot reads, not aiogram's full
``Update`` model: the full model checks every field of every kind of message and costs about
ten times as much per update, which shows in a burst. A field the bot reads that has the wrong
type makes the update malformed, and it is dropped with a warning, as before.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handlers.types import Attachment, Incoming, Location

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
MEDIA = ("voice", "audio", "video", "video_note", "document", "sticker", "animation")
KIND = {"video_note": "video"}


class _Part(BaseModel):
    """Base of the narrow models: unknown fields are ignored, as Telegram adds new ones."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _User(_Part):
    id: int
    is_bot: bool = False
    first_name: str = ""
    last_name: str | None = None


class _Chat(_Part):
    id: int
    type: str


class _File(_Part):
    file_id: str
    file_name: str | None = None


class _Location(_Part):
    latitude: float
    longitude: float


class _Message(_Part):
    message_id: int
    date: datetime
    chat: _Chat
    from_user: _User | None = Field(default=None, alias="from")
    text: str | None = None
    caption: str | None = None
    photo: list[_File] | None = None
    voice: _File | None = None
    audio: _File | None = None
    video: _File | None = None
    video_note: _File | None = None
    document: _File | None = None
    sticker: _File | None = None
    animation: _File | None = None
    location: _Location | None = None


class _ButtonMessage(_Part):
    """The message that carried a pressed button; it may be inaccessible (then only these fields)."""

    message_id: int
    chat: _Chat


class _Callback(_Part):
    id: str
    from_user: _User = Field(alias="from")
    message: _ButtonMessage | None = None
    data: str | None = None


class _Update(_Part):
    update_id: int
    message: _Message | None = None
    edited_message: _Message | None = None
    callback_query: _Callback | None = None


def is_update(payload: Any) -> bool:
    """Return True when a payload matches the schema of the fields the bot reads (webhook check)."""
    try:
        _Update.model_validate(payload)
    except ValidationError:
        return False
    return True


def parse_update(payload: dict[str, Any]) -> Incoming | None:
    """Return the neutral message of an update, or None for updates the bot does not act on."""
    try:
        update = _Update.model_validate(payload)
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


def _name(user: _User) -> str:
    return " ".join(p for p in (user.first_name, user.last_name) if p).strip()


def _attachments(m: _Message) -> list[Attachment]:
    found: list[Attachment] = []
    if m.photo:
        found.append(Attachment("photo", file_id=m.photo[-1].file_id))
    for field in MEDIA:
        media = getattr(m, field)
        # An animation comes with a document describing the same file.
        if media is not None and not (field == "document" and m.animation is not None):
            found.append(Attachment(KIND.get(field, field), file_id=media.file_id, name=media.file_name))  # type: ignore[arg-type]
    return found


def _from_message(m: _Message, key: str, *, edited: bool) -> Incoming | None:
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


def _from_callback(q: _Callback, key: str) -> Incoming | None:
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
