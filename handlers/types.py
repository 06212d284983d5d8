"""Channel-neutral message types shared by the adapters and the handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Channel = Literal["telegram", "zalo"]
CHANNELS: tuple[Channel, ...] = ("telegram", "zalo")
# Channels with no buttons: choices are numbered and the person answers with the number.
BUTTONLESS: frozenset[str] = frozenset({"zalo"})


def valid_text(text: str | None) -> str | None:
    """Return ``text`` with any lone surrogate replaced by U+FFFD (the text itself when it has none)."""
    if text is None or text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


@dataclass(frozen=True)
class Attachment:
    """A media item that came with a message (platform file id or public URL)."""

    kind: Literal["photo", "voice", "audio", "video", "document", "sticker", "animation", "other"]
    file_id: str | None = None
    url: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass
class Incoming:
    """One thing a person did in a chat: a message, a command or a button press."""

    channel: Channel
    external_user_id: str
    chat_id: str
    update_key: str
    received_at: datetime
    display_name: str = ""
    chat_type: Literal["private", "group"] = "private"
    text: str | None = None
    payload: str | None = None  # the button payload when a button (or numbered choice) was pressed
    callback_id: str | None = None
    message_id: str | None = None  # this message, or the bot message that carried the pressed button
    attachments: list[Attachment] = field(default_factory=list)
    location: Location | None = None
    edited: bool = False
    unsupported: bool = False  # content the platform withheld or that we cannot read

    def __post_init__(self) -> None:
        # A lone surrogate (a broken client's "\ud800") is valid JSON but not text that UTF-8, and
        # so the database or the next API call, can carry: it becomes U+FFFD, and the rest is kept.
        self.text = valid_text(self.text)
        self.display_name = valid_text(self.display_name) or ""

    @property
    def command(self) -> str | None:
        """Return the lower-case command name (``start`` for ``/start@bot x``), or None."""
        if not self.text or not self.text.startswith("/"):
            return None
        head = self.text.split(maxsplit=1)[0][1:]
        return head.split("@", 1)[0].lower() or None

    @property
    def args(self) -> str:
        """Return the text after the command, stripped."""
        if not self.text:
            return ""
        parts = self.text.split(maxsplit=1)
        return parts[1].strip() if len(parts) > 1 else ""


@dataclass(frozen=True)
class Button:
    """A choice offered under a reply; ``payload`` is at most 64 bytes."""

    label: str
    payload: str


@dataclass(frozen=True)
class OutFile:
    """A file to send: a path on disk plus the name the recipient sees."""

    path: str
    filename: str
    kind: Literal["document", "photo"] = "document"
    caption: str | None = None


@dataclass
class Reply:
    """Something the bot says. ``to_person_id`` None means the chat the incoming message came from.

    ``text`` is HTML (Telegram's subset); user-supplied values must be escaped by the catalogue.
    ``edit`` asks to replace the bot message that carried the pressed button, where the channel can.
    """

    text: str
    buttons: list[list[Button]] | None = None
    to_person_id: int | None = None
    edit: bool = False
    edit_message_id: str | None = None  # edit this earlier bot message in the recipient's chat instead
    file: OutFile | None = None
    priority: int = 0  # 0 = conversational reply (first), higher numbers = bulk traffic
    via: str | None = None  # reach to_person_id on this channel if they have it (e.g. where they reported)
    dedupe: str | None = None  # a stable key: the same key is never queued twice (e.g. one alert per officer)


@dataclass
class Result:
    """What a handler returns: replies to queue and an optional short notice for a pressed button."""

    replies: list[Reply] = field(default_factory=list)
    toast: str | None = None
    menu_role: str | None = None  # set the chat's command menu for this role after the commit
