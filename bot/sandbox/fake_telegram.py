"""A local fake Telegram Bot API server for the sandbox and the end-to-end tests.

The real aiogram ``Bot`` talks to it over HTTP. It validates every call against the Bot API spec,
keeps the chats as a user would see them, simulates users (messages, button presses, media), long
polling and webhook delivery, rate limits and injected failures.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import itertools
import json
import logging
import math
import mimetypes
import re
import struct
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot import jsoncodec
from bot.sandbox.spec import BotApiSpec, load_spec, parse_telegram_html

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_TOKEN = "123456:TEST"
# Telegram leaves these out unless allowed_updates lists them explicitly.
NOT_DEFAULT_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}
CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
BLOCKED = "Forbidden: bot was blocked by the user"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
UPLOAD_LIMITS = {"photo": 10 * 1024 * 1024, "document": 50 * 1024 * 1024}
ATTACH_RE = re.compile(r"attach://([^\"'\s,}\]]+)")


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional retry_after."""

    def __init__(self, status: int, description: str, retry_after: int | None = None, invalid: bool = False):
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.invalid = invalid  # the call broke the spec, as opposed to a simulated failure

    def body(self) -> dict[str, Any]:
        """Return the JSON body Telegram answers with."""
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class StoredFile:
    """A file the server knows: uploaded by the bot, sent by a simulated user or referenced by URL."""

    file_id: str
    file_unique_id: str
    file_path: str
    filename: str
    content: bytes = field(default=b"", repr=False)
    mime_type: str | None = None
    url: str | None = None

    def as_object(self) -> dict[str, Any]:
        """Return the Telegram File object for getFile."""
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                "file_size": len(self.content), "file_path": self.file_path}


@dataclass
class Call:
    """One request the bot made, with the outcome the server answered."""

    method: str
    params: dict[str, Any]
    at: float
    ok: bool = True
    error: str | None = None
    status: int = 200
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # accepted, but worth fixing (deprecated parameters)
    invalid: bool = False
    files: dict[str, StoredFile] = field(default_factory=dict)
    result: Any = None
    content_type: str = ""  # how the parameters came: application/json, multipart/form-data... ("" for none)


@dataclass
class ChatEntry:
    """One message in a chat as people see it; ``text``/``caption`` are what the sender wrote (HTML kept)."""

    message_id: int
    chat_id: int
    from_bot: bool
    kind: str  # text, photo, document, sticker, voice, location
    date: int
    user_id: int | None = None
    text: str | None = None
    caption: str | None = None
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    file: StoredFile | None = None
    edited: bool = False
    deleted: bool = False
    version: int = 0  # bumped on every change so a poller can ask for what changed after N
    message: dict[str, Any] = field(default_factory=dict, repr=False)  # the Telegram Message object

    @property
    def body(self) -> str:
        """Return the text or the caption, whichever the message has."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def plain_text(self) -> str:
        """Return the text or caption as Telegram stores it (HTML tags removed)."""
        return self.message.get("text") or self.message.get("caption") or ""

    @property
    def buttons(self) -> list[list[dict[str, Any]]]:
        """Return the inline keyboard rows (empty when there is none)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [list(row) for row in rows]

    @property
    def callback_data(self) -> list[str]:
        """Return the callback_data of every inline button, in reading order."""
        return [b["callback_data"] for row in self.buttons for b in row if "callback_data" in b]

    @property
    def content(self) -> bytes | None:
        """Return the bytes of the attached document or photo."""
        return self.file.content if self.file else None


@dataclass
class WebhookDelivery:
    """One attempt to POST an update to the webhook."""

    update_id: int
    status: int | None
    error: str | None
    at: float


@dataclass
class _Pending:
    update_id: int
    kind: str
    body: str
    once: bool = False  # unparsable raw updates are delivered once, or they would block polling forever
    attempts: int = 0


class _PendingUpdates:
    """The updates not yet confirmed, in arrival order.

    Every getUpdates call confirms those before its offset and takes the first of the kinds the bot
    asked for. With thousands waiting (a burst), going through all of them on every call cost more
    than the call itself, so while ids only grow the confirmed ones are found by bisection, and the
    ones already checked against the current kinds are not checked again.
    """

    def __init__(self) -> None:
        self.items: list[_Pending] = []
        self._checked = 0  # leading items known to be of an allowed kind
        self._ordered = True  # ids grow along the list (an injected update may break that)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[_Pending]:
        return iter(self.items)

    def append(self, pending: _Pending) -> None:
        if self.items and pending.update_id < self.items[-1].update_id:
            self._ordered = False
        self.items.append(pending)

    def clear(self) -> None:
        self._replace([])

    def remove(self, pending: _Pending) -> None:
        """Forget one update (delivered to the webhook, or given up on); the rest stay as checked."""
        for index, item in enumerate(self.items):
            if item is pending:
                del self.items[index]
                if index < self._checked:
                    self._checked -= 1
                return

    def drop_once(self, taken: list[_Pending]) -> None:
        """Forget the updates of ``taken`` that are delivered only once."""
        once = {id(p) for p in taken if p.once}
        if once:
            self._replace([p for p in self.items if id(p) not in once])

    def allowed_changed(self) -> None:
        self._checked = 0

    def confirm(self, offset: int) -> None:
        """Drop the updates before ``offset``; a negative offset keeps only the last ``-offset``."""
        if offset < 0:
            self._replace(self.items[offset:])
        elif self._ordered:
            cut = bisect.bisect_left(self.items, offset, key=_update_id)
            del self.items[:cut]
            self._checked = max(0, self._checked - cut)
        else:
            self._replace([p for p in self.items if p.update_id >= offset])

    def allowed(self, is_allowed: Callable[[str], bool]) -> list[_Pending]:
        """Drop the updates of kinds not asked for and return the rest (the list itself)."""
        if self._checked < len(self.items):
            tail = self.items[self._checked:]
            kept = [p for p in tail if is_allowed(p.kind)]
            if len(kept) != len(tail):
                self.items[self._checked:] = kept
            self._checked = len(self.items)
        return self.items

    def _replace(self, items: list[_Pending]) -> None:
        self.items = items
        self._checked = 0
        self._ordered = all(a.update_id <= b.update_id for a, b in itertools.pairwise(items))


def _update_id(pending: _Pending) -> int:
    return pending.update_id


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


class _RawJson(str):
    """A result that is already JSON text (getUpdates may carry injected raw updates)."""

    update_ids: list[int]  # the updates it carries, for the call's record


@dataclass
class _Chat:
    obj: dict[str, Any]
    messages: dict[int, ChatEntry] = field(default_factory=dict)
    next_message_id: int = 1

    @property
    def id(self) -> int:
        return int(self.obj["id"])

    def new_message_id(self) -> int:
        self.next_message_id += 1
        return self.next_message_id - 1


class _Window:
    """A sliding window of send times: how long until one more send is allowed."""

    def __init__(self, limit: float, period: float) -> None:
        self.limit, self.period, self.times = limit, period, deque[float]()

    def retry_after(self, now: float) -> int | None:
        while self.times and self.times[0] <= now - self.period:
            self.times.popleft()
        if len(self.times) < self.limit:
            return None
        return max(1, math.ceil(self.times[0] + self.period - now))

    def add(self, now: float) -> None:
        self.times.append(now)


class FakeTelegramServer:
    """An in-memory Telegram Bot API for one bot token, served by aiohttp on loopback."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "danvan_sandbox_bot",
        bot_name: str = "Dân vận (sandbox)",
        global_rate: float | None = None,
        per_chat_rate: float | None = None,
        group_rate_per_minute: float | None = None,
        strict_chats: bool = False,
        validate: bool = True,
        allow_deprecated: bool = True,
        spec: BotApiSpec | None = None,
        webhook_attempts: int = 3,
        webhook_retry_delay: float = 0.2,
        max_poll_timeout: float = 50.0,
    ) -> None:
        self.token = token
        self.me: dict[str, Any] = {"id": int(token.split(":", 1)[0]), "is_bot": True, "first_name": bot_name,
                   "username": bot_username, "can_join_groups": True,
                   "can_read_all_group_messages": False, "supports_inline_queries": False}
        self._global_window: _Window | None = None
        self._chat_windows: dict[int, _Window] = {}
        self._group_windows: dict[int, _Window] = {}
        self.global_rate, self.per_chat_rate = global_rate, per_chat_rate
        self.group_rate_per_minute = group_rate_per_minute
        self.strict_chats, self.validate, self.allow_deprecated = strict_chats, validate, allow_deprecated
        self.spec = spec or load_spec()
        self.webhook_attempts, self.webhook_retry_delay = webhook_attempts, webhook_retry_delay
        self.max_poll_timeout = max_poll_timeout

        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []  # every update ever queued, parsable ones only
        self.files: dict[str, StoredFile] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.blocked: set[int] = set()
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.webhook: _Webhook | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.not_implemented: list[str] = []

        self._chats: dict[int, _Chat] = {}
        self._pending = _PendingUpdates()
        self._allowed_updates: list[str] | None = None
        self._open_callbacks: dict[str, int] = {}  # callback query id -> the user who pressed
        self._failures: dict[str, deque[ApiError]] = {}
        self._update_ids = itertools.count(1)
        self._ids = itertools.count(1)
        self._version = 0
        self._poll_generation = 0
        self._fetched_up_to = 0  # highest update_id a getUpdates answer has carried
        self._waiting_polls = 0
        self._inflight = 0
        self._last_activity = 0.0
        self._event = asyncio.Event()  # any change: calls, messages, updates
        self._updates_event = asyncio.Event()  # what long polls and webhook delivery wait for
        self._closing = False
        self._client: aiohttp.ClientSession | None = None
        self._delivery_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    # ----------------------------------------------------------------- rate limits (settable at any time)

    @property
    def global_rate(self) -> float | None:
        """Return the messages per second allowed across all chats (None: unlimited)."""
        return self._global_rate

    @global_rate.setter
    def global_rate(self, value: float | None) -> None:
        self._global_rate = value
        self._global_window = _Window(value, 1.0) if value else None

    @property
    def per_chat_rate(self) -> float | None:
        """Return the messages per second allowed into one chat (None: unlimited)."""
        return self._per_chat_rate

    @per_chat_rate.setter
    def per_chat_rate(self, value: float | None) -> None:
        self._per_chat_rate = value
        self._chat_windows.clear()

    @property
    def group_rate_per_minute(self) -> float | None:
        """Return the messages per minute allowed into one group (None: unlimited)."""
        return self._group_rate_per_minute

    @group_rate_per_minute.setter
    def group_rate_per_minute(self, value: float | None) -> None:
        self._group_rate_per_minute = value
        self._group_windows.clear()

    # ----------------------------------------------------------------- lifecycle

    def make_app(self) -> web.Application:
        """Build the aiohttp application (usable with aiohttp's TestServer or an AppRunner)."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port) and return the base URL."""
        self._runner = web.AppRunner(self.make_app(), shutdown_timeout=2.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sock_host, sock_port = self._runner.addresses[0][:2]
        self._base_url = f"http://{sock_host}:{sock_port}"
        return self._base_url

    async def stop(self) -> None:
        """Wake the long polls, stop webhook delivery and close the server."""
        self._closing = True
        self._bump(updates=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """Return ``http://host:port`` of the running server (for TelegramAPIServer.from_base)."""
        if self._base_url is None:
            raise RuntimeError("the fake Telegram server is not started")
        return self._base_url

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _on_startup(self, app: web.Application) -> None:
        self._closing = False
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._delivery_task = asyncio.create_task(self._deliver_webhooks())

    async def _on_shutdown(self, app: web.Application) -> None:
        self._closing = True
        self._bump(updates=True)

    async def _on_cleanup(self, app: web.Application) -> None:
        if self._delivery_task is not None:
            self._delivery_task.cancel()
            await asyncio.gather(self._delivery_task, return_exceptions=True)
        if self._client is not None:
            await self._client.close()

    # ----------------------------------------------------------------- HTTP layer

    async def _handle_method(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        call = Call(method=self.spec.method_name(name) or name, params={}, at=time.time())
        polling = name.lower() == "getupdates"
        if not polling:
            self._inflight += 1
        try:
            return await self._answer(request, call)
        finally:
            if not polling:
                self._inflight -= 1
                self._last_activity = asyncio.get_running_loop().time()
            self.calls.append(call)
            self._bump()

    async def _answer(self, request: web.Request, call: Call) -> web.Response:
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if request.body_exists:
                call.content_type = request.content_type
            call.params, uploads = await _read_params(request)
            result = await self._execute(call, uploads)
        except ApiError as error:
            call.ok, call.error, call.status, call.invalid = False, error.description, error.status, error.invalid
            if error.invalid and not call.problems:  # rejected before validation (an unreadable body)
                call.problems = [error.description.removeprefix("Bad Request: ")]
            return web.json_response(error.body(), status=error.status)
        except Exception as exc:  # a bug in the fake must show up as a failed call, not as a silent success
            log.exception("the fake Telegram server failed on %s", call.method)
            call.ok, call.error, call.status = False, f"Internal Server Error: {exc!r}", 500
            return web.json_response(ApiError(500, call.error).body(), status=500)
        if isinstance(result, _RawJson):
            call.result = result.update_ids
            return web.Response(text=f'{{"ok":true,"result":{result}}}', content_type="application/json")
        call.result = result
        return web.Response(body=jsoncodec.dumps_bytes({"ok": True, "result": result}),
                            content_type="application/json", charset="utf-8")

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        path = request.match_info["path"]
        stored = next((f for f in self.files.values() if f.file_path == path and f.content), None)
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(body=stored.content, content_type=stored.mime_type or "application/octet-stream")

    # ----------------------------------------------------------------- call pipeline

    async def _execute(self, call: Call, uploads: dict[str, tuple[str, bytes, str]]) -> Any:
        canonical = self.spec.method_name(call.method)
        if canonical is None:
            call.problems = [f"unknown method {call.method!r}"]
            raise ApiError(404, "Not Found", invalid=True)
        values = self.spec.decode(canonical, call.params)
        if self.validate:
            call.problems = self.spec.validate_decoded(canonical, values, allow_deprecated=self.allow_deprecated)
            call.warnings = [f"deprecated parameter {name!r}, use {new!r}"
                             for name, new in self.spec.deprecated(canonical, values).items()]
        call.params = values
        if call.problems:
            raise ApiError(400, f"Bad Request: {call.problems[0]}", invalid=True)
        key = canonical.lower()
        self._raise_injected(key)
        if _is_message_method(key):
            self._check_blocked(call.params)
        if _is_rated(key):
            self._check_rate(call.params)
        handler = getattr(self, f"_api_{key}", None)
        if handler is None:
            self.not_implemented.append(canonical)
            raise ApiError(400, f"Bad Request: the fake Telegram server does not implement {canonical}")
        call.files = {name: self._store_upload(*upload) for name, upload in uploads.items()}
        return await handler(call.params, call.files)

    def _raise_injected(self, key: str) -> None:
        for queue_key in (key, "*"):
            queue = self._failures.get(queue_key)
            if queue:
                raise queue.popleft()

    def _check_blocked(self, params: dict[str, Any]) -> None:
        if params.get("chat_id") in self.blocked:
            raise ApiError(403, BLOCKED)

    def _check_rate(self, params: dict[str, Any]) -> None:
        now = asyncio.get_running_loop().time()
        chat_id = params.get("chat_id")
        windows = [self._global_window]
        if self._per_chat_rate and isinstance(chat_id, int):
            windows.append(self._chat_windows.setdefault(chat_id, _Window(self._per_chat_rate, 1.0)))
        if self._group_rate_per_minute and isinstance(chat_id, int) and chat_id < 0:
            windows.append(self._group_windows.setdefault(chat_id, _Window(self._group_rate_per_minute, 60.0)))
        waits = [w.retry_after(now) for w in windows if w is not None]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        for window in windows:
            if window is not None:
                window.add(now)

    # ----------------------------------------------------------------- failure injection

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int = 1,
        description: str | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` ("*" for any) with an error instead."""
        if description is None:
            description = f"Too Many Requests: retry after {retry_after}" if status == 429 else (
                DEFAULT_DESCRIPTIONS.get(status, f"Error {status}"))
        queue = self._failures.setdefault(method.lower(), deque())
        for _ in range(count):
            queue.append(ApiError(status, description, retry_after if status == 429 else None))

    def block_user(self, user_id: int) -> None:
        """Make every message to this chat fail with 403, as when the person blocked the bot."""
        self.blocked.add(user_id)

    def unblock_user(self, user_id: int) -> None:
        """Let messages reach this chat again."""
        self.blocked.discard(user_id)

    # ----------------------------------------------------------------- inspection

    @property
    def invalid_calls(self) -> list[Call]:
        """Return the calls that broke the Bot API spec (unknown method, bad or missing parameters)."""
        return [c for c in self.calls if c.invalid]

    @property
    def rate_limited_calls(self) -> list[Call]:
        """Return the calls answered with 429 (enforced limits and injected failures)."""
        return [c for c in self.calls if c.status == 429]

    def calls_to(self, method: str) -> list[Call]:
        """Return the calls of one method, matched case-insensitively."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def sent_to(self, chat_id: int) -> list[ChatEntry]:
        """Return the bot messages currently shown in a chat (after edits and deletions), oldest first."""
        chat = self._chats.get(chat_id)
        return [e for e in chat.messages.values() if e.from_bot and not e.deleted] if chat else []

    def history(self, chat_id: int, after: int = 0) -> list[ChatEntry]:
        """Return the chat's messages from both sides changed after version ``after`` (deleted ones too)."""
        chat = self._chats.get(chat_id)
        entries = chat.messages.values() if chat else []
        return sorted((e for e in entries if e.version > after), key=lambda e: e.message_id)

    def callback_notices(self, user_id: int, after: int = 0) -> list[dict[str, Any]]:
        """Return the answered button presses of a person that carried a text, changed after ``after``."""
        return [a for a in self.callback_answers.values()
                if a["user_id"] == user_id and a.get("text") and a["version"] > after]

    @property
    def version(self) -> int:
        """Return the latest change number of any chat message."""
        return self._version

    @property
    def polling(self) -> bool:
        """Return whether a getUpdates request is waiting for updates right now."""
        return self._waiting_polls > 0

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Return the updates not yet confirmed by the bot (or not yet delivered to the webhook)."""
        return [_loads_dict(p.body) or {"update_id": p.update_id, "raw": p.body} for p in self._pending]

    def commands_for(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """Return the commands set for a scope (default scope when None) and language."""
        return self.commands.get((_scope_key(scope), language_code), [])

    def user_name(self, user_id: int) -> str:
        """Return the first name of a simulated user, or an empty string."""
        return str(self.users.get(user_id, {}).get("first_name", ""))

    # ----------------------------------------------------------------- waiting

    def mark(self) -> int:
        """Return the number of calls so far, to pass as ``after`` to wait_for."""
        return len(self.calls)

    # A plain ``timeout`` argument reads better in tests than wrapping every wait in asyncio.timeout().
    async def wait_for(
        self,
        predicate: Callable[[Call], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        after: int = 0,
    ) -> Call:
        """Return the first call (from index ``after``) matching ``predicate``, waiting up to ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = next((c for c in self.calls[after:] if predicate(c)), None)
            if found is not None:
                return found
            if loop.time() >= deadline:
                recent = ", ".join(f"{c.method}({c.status})" for c in self.calls[-10:])
                raise TimeoutError(f"no matching call within {timeout}s; last calls: {recent}")
            await self._wait_change(deadline - loop.time())

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until ``condition()`` holds, re-checking whenever the server's state changes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            await self._wait_change(min(deadline - loop.time(), 0.1))

    async def wait_idle(self, quiet: float = 0.2, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until every update was taken and the bot made no call for ``quiet`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            idle_for = loop.time() - self._last_activity
            if not self._undelivered() and self._inflight == 0 and idle_for >= quiet:
                return
            if loop.time() >= deadline:
                raise TimeoutError(f"the bot was still busy after {timeout}s")
            await self._wait_change(min(max(quiet - idle_for, 0.01), deadline - loop.time()))

    def _undelivered(self) -> bool:
        # In polling mode an update stays pending until the next getUpdates confirms it, but a
        # poll that has already fetched it counts as taken.
        return any(p.update_id > self._fetched_up_to for p in self._pending) or (
            self.webhook is not None and bool(self._pending))

    def _bump(self, *, updates: bool = False) -> None:
        """Wake the waiters for any change; ``updates`` also wakes long polls and webhook delivery."""
        self._event.set()
        self._event = asyncio.Event()
        if updates:
            # Only on changes to what getUpdates answers (updates, pollers, webhook, closing): waking
            # every waiting poll on every sendMessage cost more than the sendMessage itself.
            self._updates_event.set()
            self._updates_event = asyncio.Event()

    async def _wait_change(self, seconds: float, *, updates: bool = False) -> None:
        event = self._updates_event if updates else self._event
        try:
            await asyncio.wait_for(event.wait(), timeout=max(seconds, 0))
        except TimeoutError:
            pass

    # ----------------------------------------------------------------- updates

    def _queue_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update: dict[str, Any] = {"update_id": next(self._update_ids), kind: payload}
        self._pending.append(_Pending(update["update_id"], kind, jsoncodec.dumps(update)))
        self.updates.append(update)
        self._bump(updates=True)
        return update

    def inject_update(self, raw: dict[str, Any] | str) -> dict[str, Any]:
        """Queue an arbitrary update; a dict without update_id gets the next one, text is sent verbatim."""
        data = raw if isinstance(raw, dict) else _loads_dict(raw)
        if data is None:
            update_id = next(self._update_ids)
            self._pending.append(_Pending(update_id, "raw", str(raw), once=True))
            self._bump(updates=True)
            return {"update_id": update_id, "raw": raw}
        update = dict(data)
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        else:  # keep later ids increasing past an explicit one
            self._update_ids = itertools.count(max(int(update["update_id"]) + 1, next(self._update_ids)))
        kind = next((k for k in update if k != "update_id"), "unknown")
        self._pending.append(_Pending(int(update["update_id"]), kind, jsoncodec.dumps(update)))
        self.updates.append(update)
        self._bump(updates=True)
        return update

    def _allowed(self, kind: str) -> bool:
        if kind in ("raw", "unknown"):
            return True
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in NOT_DEFAULT_UPDATES

    def _set_allowed(self, kinds: list[str]) -> None:
        allowed = list(kinds) or None
        if allowed != self._allowed_updates:
            self._allowed_updates = allowed
            self._pending.allowed_changed()

    def _deliverable(self) -> list[_Pending]:
        # Telegram does not even create updates of types the bot did not ask for.
        return self._pending.allowed(self._allowed)

    def _confirm(self, offset: int | None) -> None:
        if offset is not None:
            self._pending.confirm(offset)

    async def _api_getupdates(self, p: dict[str, Any], files: dict[str, StoredFile]) -> _RawJson:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        if "allowed_updates" in p:
            self._set_allowed(p["allowed_updates"])
        self._confirm(p.get("offset"))
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        self._poll_generation += 1
        generation = self._poll_generation
        self._bump(updates=True)  # an older poll still waiting must now end with 409 Conflict
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(int(p.get("timeout") or 0), 0), self.max_poll_timeout)
        self._waiting_polls += 1
        try:
            while True:
                if generation != self._poll_generation:
                    raise ApiError(409, DEFAULT_DESCRIPTIONS[409])
                batch = self._deliverable()[:limit]
                if batch or self._closing or loop.time() >= deadline:
                    return self._take_batch(batch)
                await self._wait_change(deadline - loop.time(), updates=True)
        finally:
            self._waiting_polls -= 1

    def _take_batch(self, batch: list[_Pending]) -> _RawJson:
        if batch:
            self._fetched_up_to = max(self._fetched_up_to, batch[-1].update_id)
        self._pending.drop_once(batch)
        answer = _RawJson("[" + ",".join(p.body for p in batch) + "]")
        answer.update_ids = [p.update_id for p in batch]
        return answer

    # ----------------------------------------------------------------- webhook

    async def _api_setwebhook(self, p: dict[str, Any], files: dict[str, StoredFile]) -> bool:
        if not p.get("url"):
            return await self._api_deletewebhook(p, files)
        if not str(p["url"]).startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = _Webhook(p["url"], p.get("secret_token"), int(p.get("max_connections") or 40))
        if "allowed_updates" in p:
            self._set_allowed(p["allowed_updates"])
        if p.get("drop_pending_updates"):
            self._pending.clear()
        self._poll_generation += 1  # a waiting getUpdates ends with a conflict
        self._bump(updates=True)
        return True

    async def _api_deletewebhook(self, p: dict[str, Any], files: dict[str, StoredFile]) -> bool:
        self.webhook = None
        if p.get("drop_pending_updates"):
            self._pending.clear()
        self._bump(updates=True)
        return True

    async def _api_getwebhookinfo(self, p: dict[str, Any], files: dict[str, StoredFile]) -> dict[str, Any]:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False,
                                "pending_update_count": len(self._pending)}
        hook = self.webhook
        if hook is not None:
            info.update(url=hook.url, max_connections=hook.max_connections)
            if hook.last_error_date:
                info.update(last_error_date=hook.last_error_date, last_error_message=hook.last_error_message)
            if self._allowed_updates:
                info["allowed_updates"] = self._allowed_updates
        return info

    async def _deliver_webhooks(self) -> None:
        while not self._closing:
            hook = self.webhook
            batch = self._deliverable() if hook is not None else []
            if hook is None or not batch:
                await self._wait_change(1.0, updates=True)
                continue
            pending = batch[0]
            delivered = await self._post_update(hook, pending)
            pending.attempts += 1
            if delivered or pending.attempts >= self.webhook_attempts:
                # Telegram gives up on an update after a few failed attempts.
                self._pending.remove(pending)
                self._bump()
            else:
                await asyncio.sleep(self.webhook_retry_delay)

    async def _post_update(self, hook: _Webhook, pending: _Pending) -> bool:
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers[SECRET_HEADER] = hook.secret_token
        status, error = None, None
        assert self._client is not None
        try:
            async with self._client.post(hook.url, data=pending.body.encode(), headers=headers) as response:
                status = response.status
                if 200 <= status < 300:
                    await self._run_webhook_reply(response)
                else:
                    error = f"Wrong response from the webhook: {status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"Connection failed: {exc.__class__.__name__} {exc}".strip()
        self.webhook_deliveries.append(WebhookDelivery(pending.update_id, status, error, time.time()))
        if error:
            hook.last_error_date, hook.last_error_message = int(time.time()), error
        return error is None

    async def _run_webhook_reply(self, response: aiohttp.ClientResponse) -> None:
        """Execute a method the bot returned in the webhook answer, as Telegram does."""
        params: dict[str, Any] = {}
        uploads: dict[str, tuple[str, bytes, str]] = {}
        if response.content_type == "application/json":
            body = await response.json(content_type=None)
            params = body if isinstance(body, dict) else {}
        elif response.content_type.startswith("multipart/"):
            reader = aiohttp.MultipartReader(response.headers, response.content)
            async for part in reader:
                if isinstance(part, aiohttp.BodyPartReader) and part.name:
                    if part.filename:
                        uploads[part.name] = (part.filename, bytes(await part.read()), "application/octet-stream")
                    else:
                        params[part.name] = await part.text()
        method = params.pop("method", None)
        if not method:
            return
        call = Call(method=str(method), params=params, at=time.time())
        try:
            call.result = await self._execute(call, uploads)
        except ApiError as error:
            call.ok, call.error, call.status, call.invalid = False, error.description, error.status, error.invalid
        self.calls.append(call)

    # ----------------------------------------------------------------- chats and users

    def add_user(self, user_id: int, first_name: str | None = None, *, username: str | None = None,
                 last_name: str | None = None, language_code: str = "vi") -> dict[str, Any]:
        """Register (or rename) a simulated person and return their Telegram User object."""
        user = self.users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": f"User {user_id}",
                                          "language_code": language_code}
        if first_name:
            user["first_name"] = first_name
        for key, value in (("username", username), ("last_name", last_name)):
            if value:
                user[key] = value
        self.users[user_id] = user
        chat = self._chats.get(user_id)
        if chat is not None:
            chat.obj.update({k: user[k] for k in ("first_name", "username", "last_name") if k in user})
        return user

    def _chat(self, chat_id: int, chat_type: str = "private", title: str | None = None) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            obj: dict[str, Any]
            if chat_type == "private":
                user = self.users.get(chat_id) or self.add_user(chat_id)
                obj = {"id": chat_id, "type": "private",
                       **{k: user[k] for k in ("first_name", "username", "last_name") if k in user}}
            else:
                obj = {"id": chat_id, "type": chat_type, "title": title or f"Nhóm {abs(chat_id)}"}
            chat = self._chats[chat_id] = _Chat(obj)
        return chat

    def _target_chat(self, chat_id: Any) -> _Chat:
        if isinstance(chat_id, str):
            name = chat_id.removeprefix("@").lower()
            found = next((c for c in self._chats.values() if str(c.obj.get("username", "")).lower() == name), None)
            if found is None:
                raise ApiError(400, "Bad Request: chat not found")
            return found
        if chat_id not in self._chats and (self.strict_chats or not chat_id):
            raise ApiError(400, "Bad Request: chat not found")
        return self._chat(chat_id, "private" if chat_id > 0 else "group")

    def _user_chat(self, user_id: int, chat_id: int | None, chat_type: str, **names: Any) -> tuple[dict, _Chat]:
        user = self.add_user(user_id, names.get("first_name"), username=names.get("username"))
        target = chat_id if chat_id is not None else (user_id if chat_type == "private" else -user_id)
        return user, self._chat(target, chat_type, names.get("title"))

    def _user_message(self, user_id: int, kind: str, extra: dict[str, Any], *, chat_id: int | None = None,
                      chat_type: str = "private", file: StoredFile | None = None, **names: Any) -> dict[str, Any]:
        user, chat = self._user_chat(user_id, chat_id, chat_type, **names)
        entry = ChatEntry(chat.new_message_id(), chat.id, False, kind, int(time.time()), user_id=user_id,
                          text=extra.get("text"), caption=extra.get("caption"), file=file)
        entry.message = {"message_id": entry.message_id, "from": user, "chat": chat.obj, "date": entry.date,
                         **extra}
        self._store_entry(chat, entry)
        return self._queue_update("message", entry.message)

    def send_text(self, user_id: int, text: str, *, first_name: str | None = None, username: str | None = None,
                  chat_type: str = "private", chat_id: int | None = None, title: str | None = None) -> dict[str, Any]:
        """Simulate a person sending a text (or a /command) to the bot; return the queued update."""
        extra: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}]
        return self._user_message(user_id, "text", extra, chat_id=chat_id, chat_type=chat_type,
                                  first_name=first_name, username=username, title=title)

    def send_photo(self, user_id: int, caption: str | None = None, *, content: bytes | None = None,
                   filename: str = "photo.png", chat_id: int | None = None) -> dict[str, Any]:
        """Simulate a person sending a photo (a small generated PNG unless ``content`` is given)."""
        stored = self._store_upload(filename, content or demo_png(), "image/png", folder="photos")
        extra: dict[str, Any] = {"photo": _photo_sizes(stored)}
        if caption:
            extra["caption"] = caption
        return self._user_message(user_id, "photo", extra, chat_id=chat_id, file=stored)

    def send_document(self, user_id: int, filename: str, content: bytes, *, caption: str | None = None,
                      mime_type: str | None = None, chat_id: int | None = None) -> dict[str, Any]:
        """Simulate a person sending a file."""
        stored = self._store_upload(filename, content, mime_type or "")
        extra: dict[str, Any] = {"document": _document(stored)}
        if caption:
            extra["caption"] = caption
        return self._user_message(user_id, "document", extra, chat_id=chat_id, file=stored)

    def send_sticker(self, user_id: int, *, emoji: str = "👍", chat_id: int | None = None) -> dict[str, Any]:
        """Simulate a person sending a sticker."""
        stored = self._store_upload("sticker.webp", b"RIFF\x1a\x00\x00\x00WEBPVP8 ", "image/webp", folder="stickers")
        sticker = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "type": "regular",
                   "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": emoji,
                   "file_size": len(stored.content)}
        return self._user_message(user_id, "sticker", {"sticker": sticker}, chat_id=chat_id, file=stored)

    def send_voice(self, user_id: int, caption: str | None = None, *, duration: int = 3,
                   chat_id: int | None = None) -> dict[str, Any]:
        """Simulate a person sending a voice message."""
        stored = self._store_upload("voice.ogg", b"OggS\x00\x02" + bytes(58), "audio/ogg", folder="voice")
        extra: dict[str, Any] = {"voice": {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                                           "duration": duration, "mime_type": "audio/ogg",
                                           "file_size": len(stored.content)}}
        if caption:
            extra["caption"] = caption
        return self._user_message(user_id, "voice", extra, chat_id=chat_id, file=stored)

    def send_location(self, user_id: int, latitude: float, longitude: float, *,
                      chat_id: int | None = None) -> dict[str, Any]:
        """Simulate a person sharing a location."""
        extra = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._user_message(user_id, "location", extra, chat_id=chat_id)

    def edit_text(self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None) -> dict[str, Any]:
        """Simulate a person editing one of their own messages; return the edited_message update."""
        chat = self._chats[chat_id if chat_id is not None else user_id]
        entry = chat.messages[message_id]
        if entry.from_bot or entry.user_id != user_id or entry.deleted:
            raise ValueError(f"user {user_id} cannot edit message {message_id}")
        entry.text, entry.edited = text, True
        entry.message = {**entry.message, "text": text, "edit_date": int(time.time())}
        self._store_entry(chat, entry)
        return self._queue_update("edited_message", entry.message)

    def press_button(self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None,
                     strict: bool = True) -> dict[str, Any]:
        """Simulate a person pressing an inline button; ``strict`` checks that the button is shown."""
        chat = self._chats.get(chat_id if chat_id is not None else user_id)
        entry = chat.messages.get(message_id) if chat else None
        if strict and (entry is None or entry.deleted or data not in entry.callback_data):
            raise ValueError(f"message {message_id} shows no button with callback_data {data!r}")
        user = self.add_user(user_id)
        query_id = str(4_000_000_000_000 + next(self._ids))
        self._open_callbacks[query_id] = user_id
        query: dict[str, Any] = {"id": query_id, "from": user, "chat_instance": str(chat.id if chat else user_id),
                                 "data": data}
        if entry is not None and not entry.deleted:
            query["message"] = entry.message
        return self._queue_update("callback_query", query)

    # ----------------------------------------------------------------- files

    def _store_upload(self, filename: str, content: bytes, mime_type: str, folder: str = "documents") -> StoredFile:
        number = next(self._ids)
        mime = mime_type if mime_type and mime_type != "application/octet-stream" else (
            mimetypes.guess_type(filename)[0] or "application/octet-stream")
        suffix = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
        stored = StoredFile(file_id=f"BQACAgIAAxkBAAI{number:06d}", file_unique_id=f"AgAD{number:06d}",
                            file_path=f"{folder}/file_{number}.{suffix}", filename=filename,
                            content=content, mime_type=mime)
        self.files[stored.file_id] = stored
        return stored

    def _input_file(self, value: Any, files: dict[str, StoredFile], kind: str) -> StoredFile:
        text = str(value)
        if text.startswith("attach://"):
            stored = files.get(text.removeprefix("attach://"))
            if stored is None or not stored.content:
                raise ApiError(400, "Bad Request: file must be non-empty")
            if len(stored.content) > UPLOAD_LIMITS[kind]:
                raise ApiError(413, "Request Entity Too Large")
            if kind == "photo":
                stored.file_path = stored.file_path.replace("documents/", "photos/", 1)
            return stored
        if text.startswith(("http://", "https://")):
            stored = self._store_upload(text.rsplit("/", 1)[-1] or kind, b"", "", folder=f"{kind}s")
            stored.url = text
            return stored
        if text in self.files:
            return self.files[text]
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    async def _api_getfile(self, p: dict[str, Any], files: dict[str, StoredFile]) -> dict[str, Any]:
        stored = self.files.get(str(p["file_id"]))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return stored.as_object()

    def file_url(self, file_id: str) -> str:
        """Return the download URL of a stored file (for getFile paths)."""
        return f"{self.base_url}/file/bot{self.token}/{self.files[file_id].file_path}"

    # ----------------------------------------------------------------- bot messages

    def _store_entry(self, chat: _Chat, entry: ChatEntry) -> None:
        self._version += 1
        entry.version = self._version
        chat.messages[entry.message_id] = entry
        self._bump()

    def _render(self, entry: ChatEntry, chat: _Chat, media: dict[str, Any] | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"message_id": entry.message_id, "from": self.me, "chat": chat.obj,
                                   "date": entry.date, **(media or {})}
        for key, value in (("text", entry.text), ("caption", entry.caption)):
            if value is not None:
                message.update(_formatted(key, value, entry.parse_mode))
        if entry.reply_markup and "inline_keyboard" in entry.reply_markup:
            message["reply_markup"] = entry.reply_markup
        if entry.edited:
            message["edit_date"] = int(time.time())
        return message

    def _post(self, p: dict[str, Any], kind: str, file: StoredFile | None = None,
              media: dict[str, Any] | None = None) -> dict[str, Any]:
        chat = self._target_chat(p["chat_id"])
        entry = ChatEntry(chat.new_message_id(), chat.id, True, kind, int(time.time()), text=p.get("text"),
                          caption=p.get("caption"), parse_mode=p.get("parse_mode"),
                          reply_markup=p.get("reply_markup"), file=file)
        entry.message = self._render(entry, chat, media)
        self._store_entry(chat, entry)
        return entry.message

    async def _api_sendmessage(self, p: dict[str, Any], files: dict[str, StoredFile]) -> dict[str, Any]:
        return self._post(p, "text")

    async def _api_senddocument(self, p: dict[str, Any], files: dict[str, StoredFile]) -> dict[str, Any]:
        stored = self._input_file(p["document"], files, "document")
        return self._post(p, "document", stored, {"document": _document(stored)})

    async def _api_sendphoto(self, p: dict[str, Any], files: dict[str, StoredFile]) -> dict[str, Any]:
        stored = self._input_file(p["photo"], files, "photo")
        return self._post(p, "photo", stored, {"photo": _photo_sizes(stored)})

    async def _api_sendchataction(self, p: dict[str, Any], files: dict[str, StoredFile]) -> bool:
        if p["action"] not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        chat = self._target_chat(p["chat_id"])
        self.chat_actions.append((chat.id, p["action"]))
        return True

    def _editable(self, p: dict[str, Any]) -> tuple[_Chat, ChatEntry]:
        if p.get("inline_message_id"):
            raise ApiError(400, "Bad Request: the fake Telegram server has no inline messages")
        if p.get("chat_id") is None or p.get("message_id") is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        chat = self._target_chat(p["chat_id"])
        entry = chat.messages.get(int(p["message_id"]))
        if entry is None or entry.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not entry.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return chat, entry

    def _apply_edit(self, chat: _Chat, entry: ChatEntry, changes: dict[str, Any]) -> dict[str, Any]:
        media = {k: v for k, v in entry.message.items() if k in ("document", "photo")}
        edited = dataclasses.replace(entry, **changes, edited=True)
        message = self._render(edited, chat, media)
        # Telegram compares what people would see: the parsed text, its entities and the keyboard.
        if _without_edit_date(message) == _without_edit_date(entry.message):
            raise ApiError(400, NOT_MODIFIED)
        edited.message = message
        self._store_entry(chat, edited)
        return message

    async def _api_editmessagetext(self, p: dict[str, Any], files: dict[str, StoredFile]) -> dict[str, Any]:
        chat, entry = self._editable(p)
        if entry.text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if not p.get("text"):
            raise ApiError(400, "Bad Request: message text is empty")
        # Editing the text without reply_markup removes the inline keyboard, as on Telegram.
        changes = {"text": p["text"], "parse_mode": p.get("parse_mode"), "reply_markup": p.get("reply_markup")}
        return self._apply_edit(chat, entry, changes)

    async def _api_editmessagecaption(self, p: dict[str, Any], files: dict[str, StoredFile]) -> dict[str, Any]:
        chat, entry = self._editable(p)
        if entry.text is not None:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        changes = {"caption": p.get("caption"), "parse_mode": p.get("parse_mode"),
                   "reply_markup": p.get("reply_markup")}
        return self._apply_edit(chat, entry, changes)

    async def _api_editmessagereplymarkup(self, p: dict[str, Any], files: dict[str, StoredFile]) -> dict[str, Any]:
        chat, entry = self._editable(p)
        return self._apply_edit(chat, entry, {"reply_markup": p.get("reply_markup")})

    async def _api_deletemessage(self, p: dict[str, Any], files: dict[str, StoredFile]) -> bool:
        chat = self._target_chat(p["chat_id"])
        entry = chat.messages.get(int(p["message_id"]))
        if entry is None or entry.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        entry.deleted = True
        self._store_entry(chat, entry)
        return True

    async def _api_answercallbackquery(self, p: dict[str, Any], files: dict[str, StoredFile]) -> bool:
        query_id = str(p["callback_query_id"])
        if query_id not in self._open_callbacks:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        user_id = self._open_callbacks.pop(query_id)
        chat = self._chats.get(user_id)
        self._version += 1
        # after_message_id places the answer in the conversation, for pages that show it.
        self.callback_answers[query_id] = {**p, "user_id": user_id, "version": self._version,
                                           "after_message_id": max(chat.messages, default=0) if chat else 0}
        self._bump()
        return True

    # ----------------------------------------------------------------- bot profile

    async def _api_getme(self, p: dict[str, Any], files: dict[str, StoredFile]) -> dict[str, Any]:
        return self.me

    async def _api_logout(self, p: dict[str, Any], files: dict[str, StoredFile]) -> bool:
        return True

    async def _api_close(self, p: dict[str, Any], files: dict[str, StoredFile]) -> bool:
        return True

    async def _api_getchat(self, p: dict[str, Any], files: dict[str, StoredFile]) -> dict[str, Any]:
        if p["chat_id"] not in self._chats and not isinstance(p["chat_id"], str):
            raise ApiError(400, "Bad Request: chat not found")
        chat = self._target_chat(p["chat_id"])
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
                               "gifts_from_channels"), False)
        return {**chat.obj, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    async def _api_setmycommands(self, p: dict[str, Any], files: dict[str, StoredFile]) -> bool:
        self.commands[(_scope_key(p.get("scope")), p.get("language_code") or "")] = list(p["commands"])
        return True

    async def _api_getmycommands(self, p: dict[str, Any], files: dict[str, StoredFile]) -> list[dict[str, Any]]:
        return self.commands_for(p.get("scope"), p.get("language_code") or "")

    async def _api_deletemycommands(self, p: dict[str, Any], files: dict[str, StoredFile]) -> bool:
        self.commands.pop((_scope_key(p.get("scope")), p.get("language_code") or ""), None)
        return True

    def _set_text(self, kind: str, p: dict[str, Any]) -> bool:
        self.descriptions[(kind, p.get("language_code") or "")] = p.get(kind) or ""
        return True

    def _get_text(self, kind: str, p: dict[str, Any], default: str = "") -> dict[str, str]:
        language = p.get("language_code") or ""
        value = self.descriptions.get((kind, language), self.descriptions.get((kind, ""), default))
        return {kind: value}

    async def _api_setmydescription(self, p: dict[str, Any], files: dict[str, StoredFile]) -> bool:
        return self._set_text("description", p)

    async def _api_getmydescription(self, p: dict[str, Any], files: dict[str, StoredFile]) -> dict[str, str]:
        return self._get_text("description", p)

    async def _api_setmyshortdescription(self, p: dict[str, Any], files: dict[str, StoredFile]) -> bool:
        return self._set_text("short_description", p)

    async def _api_getmyshortdescription(self, p: dict[str, Any], files: dict[str, StoredFile]) -> dict[str, str]:
        return self._get_text("short_description", p)

    async def _api_setmyname(self, p: dict[str, Any], files: dict[str, StoredFile]) -> bool:
        return self._set_text("name", p)

    async def _api_getmyname(self, p: dict[str, Any], files: dict[str, StoredFile]) -> dict[str, str]:
        return self._get_text("name", p, default=self.me["first_name"])


# --------------------------------------------------------------------- helpers


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes, str]]]:
    """Merge query string, JSON, urlencoded and multipart parameters; collect uploaded file parts."""
    params: dict[str, Any] = dict(request.query) if request.query_string else {}
    uploads: dict[str, tuple[str, bytes, str]] = {}
    if request.method == "POST" and request.body_exists:
        if request.content_type == "application/json":
            # The real Bot API logs an unparsable JSON body and carries on with the parameters it read
            # before the error, so such a call usually fails for a missing parameter. A client that
            # sends one is broken; say so, and count the call as invalid.
            try:
                body = jsoncodec.loads(await request.read())
            except ValueError as exc:
                raise ApiError(400, f"Bad Request: can't parse JSON encoded request: {exc}", invalid=True) from exc
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: JSON object expected", invalid=True)
            params.update(body)
        else:
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    uploads[name] = (value.filename, value.file.read(), value.content_type)
                else:
                    params[name] = value
    if uploads:
        # A file part sent under the parameter's own name (not via attach://, which may also appear
        # inside a JSON parameter such as sendMediaGroup's media) is an upload for that parameter.
        referenced = {name for v in params.values() if isinstance(v, str) for name in ATTACH_RE.findall(v)}
        for name in uploads:
            if name not in referenced:
                params.setdefault(name, f"attach://{name}")
    return params, uploads


def _is_message_method(key: str) -> bool:
    return key.startswith(("send", "edit", "copymessage", "forwardmessage"))


def _is_rated(key: str) -> bool:
    return _is_message_method(key) and key != "sendchataction"


def _scope_key(scope: Any) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _formatted(key: str, value: str, parse_mode: str | None) -> dict[str, Any]:
    """Return the text (or caption) and its entities as Telegram would store them."""
    if not parse_mode or parse_mode.lower() != "html":
        return {key: value}
    parsed = parse_telegram_html(value)
    entities_key = "entities" if key == "text" else "caption_entities"
    return {key: parsed.text, **({entities_key: parsed.entities} if parsed.entities else {})}


def _without_edit_date(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != "edit_date"}


def _document(stored: StoredFile) -> dict[str, Any]:
    return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_name": stored.filename,
            "mime_type": stored.mime_type, "file_size": len(stored.content)}


def _photo_sizes(stored: StoredFile) -> list[dict[str, Any]]:
    width, height = image_size(stored.content)
    return [{"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "width": width,
             "height": height, "file_size": len(stored.content)}]


def image_size(content: bytes) -> tuple[int, int]:
    """Return the width and height of a PNG or GIF, or a plausible default for other images."""
    if content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return int(width), int(height)
    if content[:6] in (b"GIF87a", b"GIF89a") and len(content) >= 10:
        width, height = struct.unpack("<HH", content[6:10])
        return int(width), int(height)
    return 800, 600


def demo_png(width: int = 96, height: int = 64, rgb: tuple[int, int, int] = (46, 125, 50)) -> bytes:
    """Return a small solid-colour PNG, used as the photo a simulated person sends."""
    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _loads_dict(text: str) -> dict[str, Any] | None:
    try:
        data = jsoncodec.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
