"""Deliver neutral replies on Zalo: buttons become numbered choices, long text is split, files become links."""

from __future__ import annotations

import html
import re
from typing import Any

from bot import texts
from bot.zalo.client import ZaloClient
from bot.zalo.text import split_text

TAG_RE = re.compile(r"<[^>]+>")


def to_plain(html_text: str) -> str:
    """Turn catalogue HTML into the plain text Zalo shows (user content is never sent as markup)."""
    return html.unescape(TAG_RE.sub("", html_text))


def render_choices(buttons: list[list[dict[str, str]]]) -> str:
    """Number the buttons in reading order: the person answers with the number."""
    flat = [b["label"] for row in buttons for b in row]
    lines = [f"{i}. {label}" for i, label in enumerate(flat, start=1)]
    return "\n".join(lines) + "\n" + texts.numbered_hint(len(flat))


def render(payload: dict[str, Any], file_url: str | None = None) -> str:
    """Return the full plain text of a queued reply as Zalo will show it."""
    body = to_plain(payload.get("text") or "")
    if payload.get("file"):
        f = payload["file"]
        body = "\n".join(p for p in (to_plain(f.get("caption") or ""), body) if p)
        body += "\n" + (texts.zalo_file_link(f["filename"], file_url) if file_url else texts.zalo_file_elsewhere(f["filename"]))
    if payload.get("buttons"):
        body = f"{body}\n\n{render_choices(payload['buttons'])}"
    return body.strip() or "…"


class ZaloChannel:
    """The Zalo side of the sender."""

    name = "zalo"

    def __init__(self, client: ZaloClient, file_links: Any = None) -> None:
        self.client = client
        self.file_links = file_links  # callable(path, filename) -> public URL, or None

    async def deliver(self, chat_id: str, payload: dict[str, Any]) -> str | None:
        url = None
        if payload.get("file") and self.file_links is not None:
            url = self.file_links(payload["file"]["path"], payload["file"]["filename"])
        message_id = None
        for chunk in split_text(render(payload, url)):
            message_id = await self.client.send_message(chat_id, chunk)
        return message_id
