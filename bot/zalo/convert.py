"""Translate Zalo Bot Platform updates into neutral incoming messages (pure, no network)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from handlers.types import Attachment, Incoming


def update_key(update: dict[str, Any]) -> str | None:
    """Return the de-duplication key of an update (its message id)."""
    message = update.get("message")
    if isinstance(message, dict) and message.get("message_id"):
        return str(message["message_id"])
    return None


def parse_update(update: dict[str, Any]) -> Incoming | None:
    """Return the neutral message of a Zalo update; None when it carries no usable sender."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    sender = _dict(message.get("from"))
    chat = _dict(message.get("chat"))
    user_id = str(sender.get("id") or chat.get("id") or "")
    if not user_id or sender.get("is_bot"):
        return None
    event = str(update.get("event_name") or "")
    msg = Incoming(
        channel="zalo",
        external_user_id=user_id,
        chat_id=str(chat.get("id") or user_id),
        update_key=str(message.get("message_id") or ""),
        received_at=_date(message.get("date")),
        display_name=str(sender.get("display_name") or ""),
        chat_type="group" if str(chat.get("chat_type", "")).upper() == "GROUP" else "private",
        message_id=str(message.get("message_id") or "") or None,
    )
    _fill_content(msg, event, message)
    return msg


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _fill_content(msg: Incoming, event: str, message: dict[str, Any]) -> None:
    if event == "message.text.received":
        msg.text = str(message.get("text") or "")
    elif event == "message.image.received":
        url = message.get("photo_url") or message.get("photo")
        msg.attachments.append(Attachment("photo", url=str(url) if url else None))
        msg.text = str(message["caption"]) if message.get("caption") else None
    elif event == "message.sticker.received":
        msg.attachments.append(Attachment("sticker", file_id=str(message.get("sticker") or "")))
    elif event == "message.voice.received":
        msg.attachments.append(Attachment("voice", url=str(message.get("voice_url") or "") or None))
    else:
        # message.unsupported.received (content withheld by Zalo) and events we do not know yet.
        msg.unsupported = True


def _date(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC)
