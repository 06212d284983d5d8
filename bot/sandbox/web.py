"""The sandbox web chat page: try the bot in a browser as one of a few demo users, with no token."""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

from aiohttp import web

from bot.sandbox.fake_telegram import ChatEntry, FakeTelegramServer

STATIC_DIR = Path(__file__).parent / "static"
MEDIA_KINDS = ("sticker", "photo", "voice")
SAFE_URL_SCHEMES = ("http://", "https://", "tg://", "mailto:")
MAX_TEXT = 8192  # generous: the page should let people hit the bot's own limits, not ours
# Telegram-HTML tag → the tag (and class) the page renders it with.
RENDERED_TAGS = {
    "b": ("b", None), "strong": ("b", None), "i": ("i", None), "em": ("i", None),
    "u": ("u", None), "ins": ("u", None), "s": ("s", None), "strike": ("s", None), "del": ("s", None),
    "code": ("code", None), "pre": ("pre", None), "blockquote": ("blockquote", None),
    "tg-spoiler": ("span", "spoiler"), "span": ("span", "spoiler"), "tg-emoji": ("span", None), "a": ("a", None),
}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class DemoUser:
    """A person the page offers to chat as (seeded in the database by the caller)."""

    user_id: int
    name: str
    role_label: str


@dataclass(frozen=True)
class ChatButton:
    """A button under a bot message: ``callback`` presses, ``url`` opens, ``text`` sends its label."""

    label: str
    kind: str = "callback"
    data: str | None = None
    url: str | None = None


@dataclass
class ChatItem:
    """One entry of a conversation as the page shows it, whatever the channel."""

    id: str
    version: int  # the page asks for items changed after the highest version it has seen
    from_bot: bool
    kind: str  # text, photo, document, sticker, voice, location, notice
    text: str = ""
    is_html: bool = False  # text is Telegram HTML (bot messages sent with parse_mode=HTML); else plain text
    buttons: list[list[ChatButton]] = field(default_factory=list)
    file_id: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # emoji, duration, latitude/longitude...
    edited: bool = False
    deleted: bool = False
    date: int = 0


@dataclass(frozen=True)
class FileBlob:
    """A file the page can show or download."""

    content: bytes
    filename: str
    mime_type: str


@runtime_checkable
class ChatBackend(Protocol):
    """One messaging channel the page can talk to; a Zalo backend degrades buttons to numbered text."""

    channel: str  # "telegram", "zalo"
    label: str  # shown on the channel switch

    async def send_text(self, user_id: int, text: str, name: str | None = None) -> None:
        """Deliver a text from the person to the bot."""

    async def press(self, user_id: int, message_id: str, data: str) -> None:
        """Press a button the bot showed; raise ValueError when the button is gone."""

    async def send_media(self, user_id: int, kind: str, caption: str | None = None, name: str | None = None) -> None:
        """Deliver a sticker, photo or voice message from the person to the bot."""

    async def history(self, user_id: int, after: int = 0) -> list[ChatItem]:
        """Return the person's conversation items changed after version ``after``, in display order."""

    async def file(self, file_id: str) -> FileBlob | None:
        """Return a file shown in a conversation, or None."""


class TelegramBackend:
    """The Telegram channel of the page, on top of the fake Telegram Bot API server."""

    channel = "telegram"
    label = "Telegram"

    def __init__(self, server: FakeTelegramServer) -> None:
        self.server = server

    async def send_text(self, user_id: int, text: str, name: str | None = None) -> None:
        """Queue a message update from the person."""
        self.server.send_text(user_id, text, first_name=name)

    async def press(self, user_id: int, message_id: str, data: str) -> None:
        """Queue a callback_query update for a button of a bot message."""
        self.server.press_button(user_id, int(message_id), data)

    async def send_media(self, user_id: int, kind: str, caption: str | None = None, name: str | None = None) -> None:
        """Queue a sticker, photo or voice message from the person."""
        if name:
            self.server.add_user(user_id, name)
        if kind == "sticker":
            self.server.send_sticker(user_id)
        elif kind == "photo":
            self.server.send_photo(user_id, caption or None)
        elif kind == "voice":
            self.server.send_voice(user_id, caption=caption or None)
        else:
            raise ValueError(f"unknown media kind {kind!r}")

    async def history(self, user_id: int, after: int = 0) -> list[ChatItem]:
        """Return the chat's messages and button-answer notices changed after ``after``."""
        # Messages in the order they were sent; a button answer right after the last message before it.
        placed = [(float(entry.message_id), _telegram_item(entry)) for entry in self.server.history(user_id, after)]
        placed += [
            (a["after_message_id"] + 0.5,
             ChatItem(id=f"notice-{a['callback_query_id']}", version=a["version"], from_bot=True, kind="notice",
                      text=str(a["text"]), extra={"alert": bool(a.get("show_alert"))}))
            for a in self.server.callback_notices(user_id, after)
        ]
        return [item for _, item in sorted(placed, key=lambda pair: pair[0])]

    async def file(self, file_id: str) -> FileBlob | None:
        """Return a stored file with its bytes."""
        stored = self.server.files.get(file_id)
        if stored is None or not stored.content:
            return None
        return FileBlob(stored.content, stored.filename, stored.mime_type or "application/octet-stream")


def _telegram_item(entry: ChatEntry) -> ChatItem:
    message = entry.message
    extra: dict[str, Any] = {}
    if "sticker" in message:
        extra["emoji"] = message["sticker"].get("emoji", "")
    if "voice" in message:
        extra["duration"] = message["voice"].get("duration", 0)
    if "location" in message:
        extra.update(message["location"])
    file = entry.file
    return ChatItem(
        id=str(entry.message_id), version=entry.version, from_bot=entry.from_bot, kind=entry.kind,
        text=entry.body, is_html=entry.from_bot and (entry.parse_mode or "").lower() == "html",
        buttons=_telegram_buttons(entry.reply_markup), file_id=file.file_id if file else None,
        file_name=file.filename if file else None, mime_type=file.mime_type if file else None, extra=extra,
        edited=entry.edited, deleted=entry.deleted, date=entry.date,
    )


def _telegram_buttons(markup: dict[str, Any] | None) -> list[list[ChatButton]]:
    if not markup:
        return []
    if "inline_keyboard" in markup:
        return [[_inline_button(b) for b in row] for row in markup["inline_keyboard"]]
    # A reply keyboard sends the label as a text message when pressed.
    return [[ChatButton(str(b.get("text", b) if isinstance(b, dict) else b), kind="text") for b in row]
            for row in markup.get("keyboard", [])]


def _inline_button(button: dict[str, Any]) -> ChatButton:
    label = str(button.get("text", ""))
    if "callback_data" in button:
        return ChatButton(label, data=str(button["callback_data"]))
    if "url" in button:
        return ChatButton(label, kind="url", url=str(button["url"]))
    return ChatButton(label, kind="other")


class _SafeHtml(HTMLParser):
    """Re-emit Telegram HTML keeping only the supported tags; everything else becomes text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        rendered = RENDERED_TAGS.get(tag)
        if rendered is None:
            self.out.append(html.escape(self.get_starttag_text() or ""))
            return
        name, css_class = rendered
        attributes = f' class="{css_class}"' if css_class else ""
        href = dict(attrs).get("href") or ""
        if tag == "a" and href.lower().startswith(SAFE_URL_SCHEMES):
            attributes += f' href="{html.escape(href)}" target="_blank" rel="noopener noreferrer"'
        self.out.append(f"<{name}{attributes}>")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(html.escape(self.get_starttag_text() or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.stack:
            self.out.append(html.escape(f"</{tag}>"))
            return
        while self.stack:  # close tags left open inside, so the output stays well-formed
            open_tag = self.stack.pop()
            self.out.append(f"</{RENDERED_TAGS[open_tag][0]}>")
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data))

    def handle_comment(self, data: str) -> None:
        self.out.append(html.escape(f"<!--{data}-->"))

    def handle_decl(self, decl: str) -> None:
        self.out.append(html.escape(f"<!{decl}>"))

    def unknown_decl(self, data: str) -> None:
        self.out.append(html.escape(f"<![{data}]>"))

    def handle_pi(self, data: str) -> None:
        self.out.append(html.escape(f"<?{data}>"))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{RENDERED_TAGS[t][0]}>" for t in reversed(self.stack))


def render_telegram_html(text: str) -> str:
    """Return browser-safe HTML for a Telegram-HTML text: supported tags kept, everything else escaped."""
    parser = _SafeHtml()
    parser.feed(text)
    return parser.result()


def item_json(item: ChatItem, channel: str) -> dict[str, Any]:
    """Return the JSON the page renders for one conversation item."""
    data = asdict(item)
    data["from"] = "bot" if item.from_bot else "user"
    data["html"] = render_telegram_html(item.text) if item.is_html else html.escape(item.text)
    data["file_url"] = f"/api/file/{quote(item.file_id, safe='')}?channel={channel}" if item.file_id else None
    return data


class SandboxWebApp:
    """The web chat page and its JSON API over one or more chat backends."""

    def __init__(self, backends: Sequence[ChatBackend], users: Sequence[DemoUser], *,
                 poll_interval: float = 1.0) -> None:
        if not backends:
            raise ValueError("the sandbox page needs at least one chat backend")
        self.backends = {backend.channel: backend for backend in backends}
        self.users = list(users)
        self.poll_interval = poll_interval
        self.instance = secrets.token_hex(4)  # lets the page notice a restart and reload the conversation
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    def make_app(self) -> web.Application:
        """Build the aiohttp application serving the page and /api/*."""
        app = web.Application(middlewares=[_security_headers])
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC_DIR)
        app.router.add_get("/api/users", self._users)
        app.router.add_get("/api/history", self._history)
        app.router.add_post("/api/send", self._send)
        app.router.add_post("/api/press", self._press)
        app.router.add_post("/api/media", self._media)
        app.router.add_get("/api/file/{file_id}", self._file)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 8080) -> str:
        """Serve the page on host:port (0 picks a free port) and return its URL."""
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        sock_host, sock_port = self._runner.addresses[0][:2]
        self._base_url = f"http://{sock_host}:{sock_port}"
        return self._base_url

    async def stop(self) -> None:
        """Stop serving the page."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """Return ``http://host:port`` of the running page."""
        if self._base_url is None:
            raise RuntimeError("the sandbox web page is not started")
        return self._base_url

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    async def _users(self, request: web.Request) -> web.Response:
        return web.json_response({
            "users": [asdict(u) for u in self.users],
            "channels": [{"id": b.channel, "label": b.label} for b in self.backends.values()],
            "poll_interval_ms": int(self.poll_interval * 1000),
        })

    async def _history(self, request: web.Request) -> web.Response:
        backend = self._backend(request.query.get("channel"))
        user_id = _user_id(request.query.get("user_id"))
        after = _int(request.query.get("after", "0"), "after")
        items = await backend.history(user_id, after)
        cursor = max((item.version for item in items), default=after)
        return web.json_response({"items": [item_json(i, backend.channel) for i in items], "cursor": cursor,
                                  "instance": self.instance})

    async def _send(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        backend, user_id = self._backend(body.get("channel")), _user_id(body.get("user_id"))
        text = str(body.get("text") or "").strip()
        if not text or len(text) > MAX_TEXT:
            raise _bad_request("Tin nhắn trống hoặc quá dài.")
        await backend.send_text(user_id, text, self._name(user_id, body.get("name")))
        return web.json_response({"ok": True})

    async def _press(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        backend, user_id = self._backend(body.get("channel")), _user_id(body.get("user_id"))
        try:
            await backend.press(user_id, str(body.get("message_id")), str(body.get("data") or ""))
        except (ValueError, KeyError, NotImplementedError) as exc:
            raise _bad_request("Nút này không còn hiệu lực.") from exc
        return web.json_response({"ok": True})

    async def _media(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        backend, user_id = self._backend(body.get("channel")), _user_id(body.get("user_id"))
        kind = str(body.get("kind") or "")
        if kind not in MEDIA_KINDS:
            raise _bad_request("Loại tệp không được hỗ trợ.")
        caption = str(body.get("caption") or "").strip()[:MAX_TEXT] or None
        await backend.send_media(user_id, kind, caption, self._name(user_id, body.get("name")))
        return web.json_response({"ok": True})

    async def _file(self, request: web.Request) -> web.Response:
        backend = self._backend(request.query.get("channel"))
        blob = await backend.file(request.match_info["file_id"])
        if blob is None:
            raise web.HTTPNotFound(text="Không tìm thấy tệp.")
        disposition = "inline" if blob.mime_type.startswith("image/") else "attachment"
        headers = {"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(blob.filename)}",
                   "X-Content-Type-Options": "nosniff"}
        return web.Response(body=blob.content, content_type=blob.mime_type, headers=headers)

    def _backend(self, channel: Any) -> ChatBackend:
        backend = self.backends.get(str(channel or next(iter(self.backends))))
        if backend is None:
            raise _bad_request("Kênh không tồn tại.")
        return backend

    def _name(self, user_id: int, name: Any) -> str | None:
        if isinstance(name, str) and name.strip():
            return name.strip()[:64]
        return next((u.name for u in self.users if u.user_id == user_id), None)


@web.middleware
async def _security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    # Bot text ends up in innerHTML after sanitising; the policy is a second fence against script.
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise _bad_request("Yêu cầu không phải JSON hợp lệ.") from exc
    if not isinstance(body, dict):
        raise _bad_request("Yêu cầu không phải JSON hợp lệ.")
    return body


def _bad_request(message: str) -> web.HTTPBadRequest:
    body = json.dumps({"ok": False, "error": message}, ensure_ascii=False)
    return web.HTTPBadRequest(text=body, content_type="application/json")


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise _bad_request(f"Giá trị {name} không hợp lệ.") from exc


def _user_id(value: Any) -> int:
    user_id = _int(value, "user_id")
    if not 0 < user_id < 2**52:  # Telegram user ids are positive and fit in 52 bits
        raise _bad_request("Mã người dùng không hợp lệ.")
    return user_id


def create_app(backends: Sequence[ChatBackend], users: Sequence[DemoUser], **kwargs: Any) -> web.Application:
    """Build the sandbox page application (a shortcut for ``SandboxWebApp(...).make_app()``)."""
    return SandboxWebApp(backends, users, **kwargs).make_app()
