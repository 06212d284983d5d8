"""The Zalo channel of the sandbox page, on top of the fake Zalo server (no buttons: numbered replies)."""

from __future__ import annotations

from bot.sandbox.fake_zalo import ChatEntry, FakeZaloServer
from bot.sandbox.web import ChatItem, FileBlob

KINDS = {"image": "photo", "text": "text", "sticker": "sticker", "voice": "voice", "unsupported": "text"}


def zalo_user_id(user_id: int) -> str:
    """Map the page's numeric demo id to a Zalo-style 20-hex user id (stable, so seeding can use it)."""
    return f"{user_id:020x}"


class ZaloBackend:
    """Chat as a demo person through the fake Zalo Bot API."""

    channel = "zalo"
    label = "Zalo"

    def __init__(self, server: FakeZaloServer) -> None:
        self.server = server

    async def send_text(self, user_id: int, text: str, name: str | None = None) -> None:
        await self.server.send_text(zalo_user_id(user_id), text, display_name=name)

    async def press(self, user_id: int, message_id: str, data: str) -> None:
        raise NotImplementedError("Zalo has no buttons: answer with the number")

    async def send_media(self, user_id: int, kind: str, caption: str | None = None, name: str | None = None) -> None:
        uid = zalo_user_id(user_id)
        if kind == "sticker":
            await self.server.send_sticker(uid, display_name=name)
        elif kind == "photo":
            await self.server.send_image(uid, caption or None, display_name=name)
        elif kind == "voice":
            await self.server.send_voice(uid, display_name=name)
        else:
            raise ValueError(f"unknown media kind {kind!r}")

    async def history(self, user_id: int, after: int = 0) -> list[ChatItem]:
        # The fake keeps an append-only log, so a message's position is its version.
        entries = self.server.history(zalo_user_id(user_id))
        return [_item(entry, n) for n, entry in enumerate(entries, start=1) if n > after]

    async def file(self, file_id: str) -> FileBlob | None:
        return None


def _item(entry: ChatEntry, version: int) -> ChatItem:
    text = entry.text or ("(nội dung không hiển thị)" if entry.kind == "unsupported" else "")
    extra = {"url": entry.photo_url} if entry.photo_url else {}
    return ChatItem(
        id=f"z{version}", version=version, from_bot=entry.sender == "bot", kind=KINDS.get(entry.kind, "text"),
        text=text, is_html=False, extra=extra, date=entry.date // 1000 if entry.date > 10**11 else entry.date,
    )
