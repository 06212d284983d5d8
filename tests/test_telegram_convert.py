"""Raw Telegram updates become neutral messages: every kind the bot acts on, and what it drops."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.types import Update

from bot.telegram.convert import is_update, parse_update
from handlers.types import Attachment, Location

DATE = 1_770_000_000
USER = {"id": 42, "is_bot": False, "first_name": "Điểu", "last_name": "Hùng", "language_code": "vi"}
PRIVATE = {"id": 42, "type": "private", "first_name": "Điểu"}


def message(**fields: Any) -> dict[str, Any]:
    return {"message_id": 7, "date": DATE, "chat": PRIVATE, "from": USER, **fields}


def update(kind: str = "message", **fields: Any) -> dict[str, Any]:
    return {"update_id": 1001, kind: message(**fields)}


def photo_sizes() -> list[dict[str, Any]]:
    return [{"file_id": f"p{w}", "file_unique_id": f"u{w}", "width": w, "height": w} for w in (90, 320, 1280)]


def test_a_text_message_keeps_who_where_when_and_what() -> None:
    msg = parse_update(update(text="Bà con phản ánh giá phân bón tăng"))
    assert msg is not None
    assert (msg.channel, msg.external_user_id, msg.chat_id, msg.update_key, msg.message_id) == (
        "telegram", "42", "42", "1001", "7")
    assert msg.text == "Bà con phản ánh giá phân bón tăng"
    assert msg.display_name == "Điểu Hùng" and msg.chat_type == "private"
    assert msg.received_at == datetime.fromtimestamp(DATE, UTC)
    assert msg.attachments == [] and msg.location is None and not msg.edited and not msg.unsupported


def test_media_become_attachments_with_the_caption_as_text() -> None:
    msg = parse_update(update(photo=photo_sizes(), caption="Nước ngập cầu tràn"))
    assert msg is not None and msg.text == "Nước ngập cầu tràn"
    assert msg.attachments == [Attachment("photo", file_id="p1280")]  # the largest size

    voice = {"file_id": "v1", "file_unique_id": "uv", "duration": 3}
    assert parse_update(update(voice=voice)).attachments == [Attachment("voice", file_id="v1")]  # type: ignore[union-attr]
    note = {"file_id": "n1", "file_unique_id": "un", "length": 240, "duration": 5}
    assert parse_update(update(video_note=note)).attachments == [Attachment("video", file_id="n1")]  # type: ignore[union-attr]
    doc = {"file_id": "d1", "file_unique_id": "ud", "file_name": "bien-ban.docx"}
    assert parse_update(update(document=doc)).attachments == [  # type: ignore[union-attr]
        Attachment("document", file_id="d1", name="bien-ban.docx")]
    # A GIF comes as an animation and a document of the same file: one attachment.
    gif = {"file_id": "g1", "file_unique_id": "ug", "width": 1, "height": 1, "duration": 1, "file_name": "a.mp4"}
    assert parse_update(update(animation=gif, document=gif)).attachments == [  # type: ignore[union-attr]
        Attachment("animation", file_id="g1", name="a.mp4")]
    sticker = {"file_id": "s1", "file_unique_id": "us", "type": "regular", "width": 1, "height": 1,
               "is_animated": False, "is_video": False}
    assert parse_update(update(sticker=sticker)).attachments == [Attachment("sticker", file_id="s1")]  # type: ignore[union-attr]


def test_a_location_an_edit_and_content_the_bot_cannot_read() -> None:
    where = parse_update(update(location={"latitude": 11.53, "longitude": 106.89}))
    assert where is not None and where.location == Location(11.53, 106.89) and not where.unsupported

    edited = parse_update(update("edited_message", text="Sửa lại: 40 hộ", edit_date=DATE + 60))
    assert edited is not None and edited.edited and edited.text == "Sửa lại: 40 hộ"

    poll = parse_update(update(poll={"id": "1", "question": "?", "options": [], "total_voter_count": 0,
                                     "is_closed": False, "is_anonymous": True, "type": "regular",
                                     "allows_multiple_answers": False}))
    assert poll is not None and poll.unsupported and poll.text is None


def test_groups_are_kept_and_channels_and_bots_are_not() -> None:
    for kind in ("group", "supergroup"):
        msg = parse_update(update(text="/tonghop", chat={"id": -100123, "type": kind, "title": "Ban Dân vận"}))
        assert msg is not None and msg.chat_type == "group" and msg.chat_id == "-100123" and msg.command == "tonghop"
    assert parse_update(update(text="x", chat={"id": -100999, "type": "channel", "title": "Kênh"})) is None
    assert parse_update(update(text="x", **{"from": {**USER, "is_bot": True}})) is None
    assert parse_update({"update_id": 5, "channel_post": message(text="x")}) is None
    assert parse_update({"update_id": 6, "my_chat_member": {"chat": PRIVATE}}) is None


def test_a_button_press_carries_its_data_and_the_message_it_was_on() -> None:
    press = {"update_id": 2002, "callback_query": {
        "id": "cb-1", "from": USER, "chat_instance": "ci", "data": "rp:u:15",
        "message": message(text="Đã nhận báo cáo số #15")}}
    msg = parse_update(press)
    assert msg is not None
    assert (msg.payload, msg.callback_id, msg.message_id, msg.chat_id) == ("rp:u:15", "cb-1", "7", "42")

    # A message older than 48 hours is "inaccessible": only its chat and id, with date 0.
    old = {"update_id": 2003, "callback_query": {
        "id": "cb-2", "from": USER, "chat_instance": "ci", "data": "ack:3",
        "message": {"chat": {"id": -100123, "type": "supergroup", "title": "Ban"}, "message_id": 9, "date": 0}}}
    msg = parse_update(old)
    assert msg is not None and msg.chat_type == "group" and msg.message_id == "9" and msg.payload == "ack:3"


@pytest.mark.parametrize("payload", [
    {"update_id": "x"},
    {"message": message(text="no update id")},
    {"update_id": 1, "message": {"message_id": 7, "date": DATE, "from": USER, "text": "no chat"}},
    {"update_id": 1, "message": message(text={"not": "text"})},
    {"update_id": 1, "message": message(photo="not a list")},
    {"update_id": 1, "callback_query": {"id": "c", "data": "no sender"}},
])
def test_a_malformed_update_is_dropped_with_a_warning(payload: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    assert not is_update(payload)  # the webhook answers 400
    with caplog.at_level(logging.WARNING, logger="bot.telegram.convert"):
        assert parse_update(payload) is None
    assert "does not match the Bot API schema" in caplog.text
    with pytest.raises(ValueError):  # aiogram's full model refuses these too
        Update.model_validate(payload)


def test_what_aiogram_accepts_is_read_the_same() -> None:
    payloads = [update(text="a"), update(photo=photo_sizes(), caption="b"),
                update(location={"latitude": 1.5, "longitude": 2.5, "horizontal_accuracy": 10})]
    for payload in payloads:
        full = Update.model_validate(payload).message
        msg = parse_update(payload)
        assert is_update(payload)
        assert full is not None and msg is not None
        assert msg.text == (full.text or full.caption)
        assert msg.received_at == full.date and msg.message_id == str(full.message_id)
