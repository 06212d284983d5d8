"""A local fake of the Zalo Bot API over real HTTP, for tests and the offline sandbox.

It follows the checklist in §1.9 of shared/reference/zalo-bot-api.md. Behaviour Zalo does not
document is marked ASSUMED below.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TOKEN = "1234567890:sandbox-token-not-a-secret"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_LIMIT = 2000
WEBHOOK_SET = "You cannot use this API while a webhook is set. Please remove the webhook first"
# ASSUMED: Zalo documents no error for a blocked user. We answer like Telegram does, and the
# client treats the wording (not the status, which Zalo lists as "Internal server error") as blocked.
BLOCKED_STATUS = 403
BLOCKED_DESCRIPTION = "Forbidden: the user has blocked the bot, not allowed to send"
DEFAULT_PHOTO_URL = "https://photo-stal-1.zdn.vn/sandbox/photo.jpg"
DEFAULT_VOICE_URL = "https://f2-voice-aac-dl.zdn.vn/sandbox/voice.aac"
DEFAULT_STICKER = "0e078a2fb66a5f34067b"
_SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendSticker", "sendVoice"})
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_TOKEN_IN_PATH = re.compile(r"^/bot[^/]*")


def new_id() -> str:
    """Return a 20-hex-character id like Zalo's message and user ids."""
    return secrets.token_hex(10)


def now_ms() -> int:
    """Return the current time in epoch milliseconds, Zalo's unit."""
    return int(time.time() * 1000)


@dataclass
class Call:
    """One API request the fake received (`at` is time.monotonic() on arrival)."""

    method: str
    params: dict[str, Any]
    http_method: str
    at: float
    status: int | None = None


@dataclass
class SentMessage:
    """A message the bot sent through a send method."""

    chat_id: str
    method: str
    message_id: str
    date: int
    text: str | None = None
    photo: str | None = None
    caption: str | None = None
    sticker: str | None = None
    voice_url: str | None = None
    parse_mode: str | None = None


@dataclass
class ChatEntry:
    """One line of a chat as a web page would show it, from the user or from the bot."""

    chat_id: str
    sender: str  # "user" or "bot"
    kind: str  # text, image, sticker, voice, unsupported
    message_id: str
    date: int
    text: str | None = None
    photo_url: str | None = None
    display_name: str | None = None


@dataclass
class Webhook:
    """The bot's webhook slot."""

    url: str
    secret_token: str
    updated_at: int


@dataclass
class WebhookDelivery:
    """One push to the webhook: what was sent and how the receiver answered."""

    url: str
    body: bytes
    headers: dict[str, str]
    status: int | None = None
    error: str | None = None


@dataclass
class _Fault:
    """A scripted failure for the next matching call."""

    error_code: int
    description: str
    method: str | None
    http_status: int | None


class ApiError(Exception):
    """An error answer; the HTTP status equals error_code (as S8 observed) unless told otherwise."""

    def __init__(self, error_code: int, description: str, *, http_status: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.http_status = http_status or error_code


class _RedactingAccessLogger(AbstractAccessLogger):
    """Log requests without the token that sits in every API path."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = _TOKEN_IN_PATH.sub("/bot<token>", request.path)
        self.logger.debug("%s %s -> %s (%.3f s)", request.method, path, response.status, time)


@dataclass
class _State:
    """Everything the fake remembers, kept apart so reset() is one line."""

    webhook: Webhook | None = None
    inbound: deque[Any] = field(default_factory=deque)
    last_consumed: Any = None
    calls: list[Call] = field(default_factory=list)
    outbox: list[SentMessage] = field(default_factory=list)
    history: list[ChatEntry] = field(default_factory=list)
    deliveries: list[WebhookDelivery] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)
    sends_this_month: int = 0


class FakeZaloServer:
    """Serve `/bot{token}/{method}` like Zalo and simulate the users who talk to the bot."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        allow_http_webhook: bool = False,
        replay_last: bool = False,
        duplicate_webhook: bool = False,
        flat_webhook: bool = False,
        use_photo_field: bool = False,
        monthly_quota: int | None = None,
        webhook_info_404: bool = True,
        webhook_timeout: float = 10.0,
    ) -> None:
        self.token = token
        self.allow_http_webhook = allow_http_webhook
        self.replay_last = replay_last
        self.duplicate_webhook = duplicate_webhook
        self.flat_webhook = flat_webhook
        self.use_photo_field = use_photo_field
        self.monthly_quota = monthly_quota
        self.webhook_info_404 = webhook_info_404
        self.webhook_timeout = webhook_timeout
        self.bot_id = token.split(":", 1)[0]
        self.app = web.Application()  # public so the sandbox can add its chat page before start()
        self.app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        self._state = _State()
        self._changed_event = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.base_url = ""
        self._methods: dict[str, Callable[[dict[str, Any], web.Request], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendSticker": self._send_sticker,
            "sendVoice": self._send_voice,
            "sendChatAction": self._send_chat_action,
        }

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving and return the base URL (port 0 picks a free one)."""
        self._closing = False
        self._session = aiohttp.ClientSession()
        # A short shutdown timeout: pending long polls are woken by stop() anyway.
        self._runner = web.AppRunner(self.app, access_log_class=_RedactingAccessLogger, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        """Wake pending long polls and shut the server down."""
        self._closing = True
        self._changed()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeZaloServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---- records and switches --------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every API request received, in order."""
        return self._state.calls

    @property
    def outbox(self) -> list[SentMessage]:
        """Every message the bot sent, in order."""
        return self._state.outbox

    @property
    def webhook(self) -> Webhook | None:
        """The webhook currently set, if any."""
        return self._state.webhook

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every push made to the webhook, probes included."""
        return self._state.deliveries

    @property
    def pending_updates(self) -> int:
        """How many updates wait in the getUpdates queue."""
        return len(self._state.inbound)

    def calls_to(self, method: str) -> list[Call]:
        """Return the requests made to one method."""
        return [call for call in self._state.calls if call.method == method]

    def sent_to(self, chat_id: str) -> list[SentMessage]:
        """Return the messages the bot sent to one chat."""
        return [message for message in self._state.outbox if message.chat_id == chat_id]

    def history(self, chat_id: str) -> list[ChatEntry]:
        """Return one chat's messages from both sides, oldest first."""
        return [entry for entry in self._state.history if entry.chat_id == chat_id]

    def chats(self) -> list[str]:
        """Return the ids of chats that have any history, in order of first message."""
        return list(dict.fromkeys(entry.chat_id for entry in self._state.history))

    def block_user(self, user_id: str) -> None:
        """Make sends to this chat fail as if the user had blocked the bot."""
        self._state.blocked.add(user_id)

    def unblock_user(self, user_id: str) -> None:
        """Let sends to this chat succeed again."""
        self._state.blocked.discard(user_id)

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        description: str = "Internal Server Error",
        method: str | None = None,
        http_status: int | None = None,
    ) -> None:
        """Make the next `count` calls (to `method`, or any) fail with error_code `status`.

        `http_status` sends the error inside a different HTTP status, e.g. 200, as S8 saw for 408.
        """
        fault = _Fault(status, description, method, http_status)
        self._state.faults.extend(fault for _ in range(count))

    def reset_quota(self) -> None:
        """Start a new month for the send quota."""
        self._state.sends_this_month = 0

    def reset(self) -> None:
        """Forget all state and records, keeping the switches."""
        self._state = _State()
        self._changed()

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5) -> T:  # noqa: ASYNC109
        """Wait until predicate() is truthy and return its value; raise TimeoutError after `timeout`."""
        async with asyncio.timeout(timeout):
            while not (value := predicate()):
                await self._changed_event.wait()
        return value

    # ---- simulated users -------------------------------------------------------------------

    async def send_text(
        self, user_id: str, text: str, *, display_name: str | None = None, group_id: str | None = None
    ) -> dict[str, Any]:
        """Simulate a user sending text to the bot; return the update."""
        return await self._from_user(user_id, "text", {"text": text}, display_name, group_id)

    async def send_image(
        self,
        user_id: str,
        caption: str | None = None,
        *,
        photo_url: str = DEFAULT_PHOTO_URL,
        display_name: str | None = None,
        group_id: str | None = None,
    ) -> dict[str, Any]:
        """Simulate a user sending a photo (with `photo_url`, or `photo` when switched)."""
        fields: dict[str, Any] = {"message_type": "CHAT_PHOTO", self._photo_key(): photo_url}
        if caption is not None:
            fields["caption"] = caption
        return await self._from_user(user_id, "image", fields, display_name, group_id)

    async def send_sticker(
        self,
        user_id: str,
        sticker: str = DEFAULT_STICKER,
        *,
        display_name: str | None = None,
        group_id: str | None = None,
    ) -> dict[str, Any]:
        """Simulate a user sending a sticker (ASSUMED shape: the sticker id and its image url)."""
        fields = {
            "sticker": sticker,
            "url": f"https://zalo-api.zadn.vn/api/emoticon/sticker/webpc?eid={sticker}",
        }
        return await self._from_user(user_id, "sticker", fields, display_name, group_id)

    async def send_voice(
        self,
        user_id: str,
        voice_url: str = DEFAULT_VOICE_URL,
        *,
        display_name: str | None = None,
        group_id: str | None = None,
    ) -> dict[str, Any]:
        """Simulate a user sending a voice note."""
        fields = {"message_type": "CHAT_VOICE", "voice_url": voice_url}
        return await self._from_user(user_id, "voice", fields, display_name, group_id)

    async def send_unsupported(
        self, user_id: str, *, display_name: str | None = None, group_id: str | None = None
    ) -> dict[str, Any]:
        """Simulate a message Zalo withholds (for example from a protected user)."""
        return await self._from_user(user_id, "unsupported", {}, display_name, group_id)

    async def inject_update(self, raw: Any) -> None:
        """Deliver any raw update, however malformed, as the platform would."""
        await self._deliver(raw)

    async def probe_webhook(self, *, with_secret: bool = True) -> WebhookDelivery:
        """POST an empty body to the webhook, like the probe seen in real captures (S6)."""
        webhook = self._require_webhook()
        return await self._post_webhook(webhook, b"", with_secret=with_secret)

    async def _from_user(
        self, user_id: str, kind: str, fields: dict[str, Any], display_name: str | None, group_id: str | None
    ) -> dict[str, Any]:
        """Build a user's update, log it in the chat history and deliver it."""
        name = display_name or self._state.names.get(user_id) or "Zalo User"
        self._state.names[user_id] = name
        chat = {"id": group_id, "chat_type": "GROUP"} if group_id else {"id": user_id, "chat_type": "PRIVATE"}
        message = {
            "message_id": new_id(),
            "date": now_ms(),
            "from": {"id": user_id, "display_name": name, "is_bot": False},
            "chat": chat,
            **fields,
        }
        update = {"event_name": f"message.{kind}.received", "message": message}
        self._state.history.append(
            ChatEntry(
                chat_id=chat["id"],
                sender="user",
                kind=kind,
                message_id=message["message_id"],
                date=message["date"],
                text=fields.get("text") or fields.get("caption"),
                photo_url=fields.get(self._photo_key()),
                display_name=name,
            )
        )
        await self._deliver(update)
        return update

    def _photo_key(self) -> str:
        """Return the image field name in use (the docs say `photo`, real captures `photo_url`)."""
        return "photo" if self.use_photo_field else "photo_url"

    async def _deliver(self, update: Any) -> None:
        """Push the update to the webhook if one is set, else queue it for getUpdates."""
        webhook = self._state.webhook
        if webhook is None:
            self._state.inbound.append(update)
            self._changed()
            return
        body = update if self.flat_webhook else {"ok": True, "result": update}
        data = json.dumps(body, ensure_ascii=False).encode()
        for _ in range(2 if self.duplicate_webhook else 1):
            await self._post_webhook(webhook, data)

    async def _post_webhook(
        self, webhook: Webhook, data: bytes, *, with_secret: bool = True
    ) -> WebhookDelivery:
        """POST one body to the webhook and record the outcome; failures are recorded, not raised."""
        headers = {SECRET_HEADER: webhook.secret_token} if with_secret else {}
        if data:
            headers["Content-Type"] = "application/json"
        delivery = WebhookDelivery(url=webhook.url, body=data, headers=headers)
        assert self._session is not None, "start() the fake server first"
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        try:
            async with self._session.post(
                webhook.url,
                data=data or None,
                headers=headers,
                timeout=timeout,
                skip_auto_headers=("Content-Type",),
            ) as resp:
                delivery.status = resp.status
                await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            # ASSUMED: whether Zalo retries a failed push is unknown; the fake drops it.
            delivery.error = type(exc).__name__
        self._state.deliveries.append(delivery)
        self._changed()
        return delivery

    def _require_webhook(self) -> Webhook:
        """Return the webhook or fail loudly in a test that forgot to set one."""
        if self._state.webhook is None:
            raise RuntimeError("no webhook is set on the fake Zalo server")
        return self._state.webhook

    def _changed(self) -> None:
        """Wake everyone waiting for a state change."""
        self._changed_event.set()
        self._changed_event = asyncio.Event()

    # ---- HTTP plumbing ---------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        """Route one API request, record it and answer with Zalo's envelope."""
        method = request.match_info["method"]
        call = Call(method=method, params={}, http_method=request.method, at=time.monotonic())
        self._state.calls.append(call)
        self._changed()  # a test may wait for a request that is still being held (a long poll)
        try:
            if not hmac.compare_digest(request.match_info["token"].encode(), self.token.encode()):
                raise ApiError(401, "Unauthorized")
            call.params = await _read_params(request)
            payload = await self._answer(method, call.params, request)
            status = 200
        except ApiError as exc:
            status = exc.http_status
            payload = {"ok": False, "error_code": exc.error_code, "description": exc.description}
        call.status = status
        self._changed()
        return web.json_response(payload, status=status)

    async def _answer(self, method: str, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        """Check the method and scripted faults, then run the method."""
        handler = self._methods.get(method)
        if handler is None:
            raise ApiError(404, "Not Found")
        fault = next((f for f in self._state.faults if f.method in (None, method)), None)
        if fault is not None:
            self._state.faults.remove(fault)
            raise ApiError(fault.error_code, fault.description, http_status=fault.http_status)
        result = await handler(params, request)
        # sendChatAction answers a bare {"ok": true} with no result.
        return {"ok": True} if result is None else {"ok": True, "result": result}

    # ---- API methods -----------------------------------------------------------------------

    async def _get_me(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "account_name": f"bot.sandbox{self.bot_id[-4:]}",
            "account_type": "BASIC",
            "can_join_groups": False,
        }

    async def _get_updates(self, params: dict[str, Any], request: web.Request) -> Any:
        if self._state.webhook is not None:
            raise ApiError(400, WEBHOOK_SET)
        try:
            timeout = max(0.0, float(params.get("timeout", 30)))
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: timeout must be a number") from None
        update = await self._next_update(timeout, request)
        if update is None:
            raise ApiError(408, "Request timeout")
        return update

    async def _next_update(self, hold: float, request: web.Request) -> Any:
        """Pop one queued update, waiting up to `hold` seconds; replay the last one when switched on."""
        state = self._state
        if not state.inbound and self.replay_last and state.last_consumed is not None:
            return state.last_consumed
        try:
            await self.wait_for(lambda: state.inbound or self._closing, hold)
        except TimeoutError:
            return None
        if not state.inbound or self._closing:
            return None
        update = state.inbound.popleft()
        if request.transport is None or request.transport.is_closing():
            # The poller gave up on this request; keep the update for its next poll.
            state.inbound.appendleft(update)
            return None
        state.last_consumed = update
        return update

    async def _set_webhook(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        url = _required(params, "url")
        secret = _required(params, "secret_token")
        if not 8 <= len(secret) <= 256:
            raise ApiError(400, "Bad Request: secret_token must be 8-256 characters")
        if not self._webhook_url_allowed(url):
            raise ApiError(400, "Bad Request: url must be an HTTPS URL on a public host")
        self._state.webhook = Webhook(url=url, secret_token=secret, updated_at=now_ms())
        self._changed()
        return {"url": url, "updated_at": self._state.webhook.updated_at}

    def _webhook_url_allowed(self, url: str) -> bool:
        """Accept public https URLs; loopback (http or https) only with allow_http_webhook."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if _is_local(host):
            return self.allow_http_webhook and parts.scheme in ("http", "https")
        return parts.scheme == "https" and bool(host)

    async def _delete_webhook(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        self._state.webhook = None
        self._changed()
        return {"url": "", "updated_at": now_ms()}

    async def _get_webhook_info(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        webhook = self._state.webhook
        if webhook is None:
            if self.webhook_info_404:
                raise ApiError(404, "Not Found")
            return {"url": "", "updated_at": 0}
        return {"url": webhook.url, "updated_at": webhook.updated_at}

    async def _send_message(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        chat_id = _chat_id(params)
        text = _bounded_text(params, "text", required=True)
        parse_mode = params.get("parse_mode")
        if parse_mode is not None and parse_mode not in ("markdown", "html"):
            raise ApiError(400, "Bad Request: parse_mode must be markdown or html")
        return self._record_send("sendMessage", chat_id, "text", text=text, parse_mode=parse_mode)

    async def _send_photo(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        chat_id = _chat_id(params)
        photo = _required(params, "photo")
        if urlsplit(photo).scheme not in ("http", "https"):
            raise ApiError(400, "Bad Request: photo must be an image URL")
        caption = _bounded_text(params, "caption", required=False)
        return self._record_send("sendPhoto", chat_id, "image", photo=photo, caption=caption)

    async def _send_sticker(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        chat_id = _chat_id(params)
        sticker = _required(params, "sticker")
        return self._record_send("sendSticker", chat_id, "sticker", sticker=sticker)

    async def _send_voice(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        chat_id = _chat_id(params)
        voice_url = _required(params, "voice_url")
        if not voice_url.lower().endswith(".aac"):
            raise ApiError(400, "Bad Request: voice_url must point to an .aac file")
        return self._record_send("sendVoice", chat_id, "voice", voice_url=voice_url)

    async def _send_chat_action(self, params: dict[str, Any], request: web.Request) -> None:
        chat_id = _chat_id(params)
        if params.get("action") not in ("typing", "upload_photo"):
            raise ApiError(400, "Bad Request: action must be typing or upload_photo")
        self._check_not_blocked(chat_id)
        return None

    def _record_send(self, method: str, chat_id: str, kind: str, **content: Any) -> dict[str, Any]:
        """Apply the blocked and quota rules, then log the message and return its id and date."""
        self._check_not_blocked(chat_id)
        if self.monthly_quota is not None and self._state.sends_this_month >= self.monthly_quota:
            raise ApiError(429, "Quota exceeded")
        self._state.sends_this_month += 1
        message = SentMessage(chat_id=chat_id, method=method, message_id=new_id(), date=now_ms(), **content)
        self._state.outbox.append(message)
        self._state.history.append(
            ChatEntry(
                chat_id=chat_id,
                sender="bot",
                kind=kind,
                message_id=message.message_id,
                date=message.date,
                text=message.text or message.caption,
                photo_url=message.photo,
            )
        )
        return {"message_id": message.message_id, "date": message.date}

    def _check_not_blocked(self, chat_id: str) -> None:
        if chat_id in self._state.blocked:
            raise ApiError(BLOCKED_STATUS, BLOCKED_DESCRIPTION)


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Merge query, JSON and form parameters, as the docs say every method accepts all three."""
    params: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return params
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
        return params
    raw = await request.read()
    if not raw.strip():
        return params
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "Bad Request: body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Bad Request: body must be a JSON object")
    params.update(body)
    return params


def _required(params: dict[str, Any], name: str) -> str:
    """Return a required string parameter or answer 400."""
    value = params.get(name)
    if value is None or value == "":
        raise ApiError(400, f"Bad Request: {name} is required")
    if not isinstance(value, str):
        raise ApiError(400, f"Bad Request: {name} must be a string")
    return value


def _chat_id(params: dict[str, Any]) -> str:
    """Return chat_id as a string, tolerating a number as forms and loose clients send it."""
    value = params.get("chat_id")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return _required({"chat_id": value}, "chat_id")


def _bounded_text(params: dict[str, Any], name: str, *, required: bool) -> str | None:
    """Return a 1-2000 character text field; the length is counted in UTF-16 units (ASSUMED)."""
    if not required and name not in params:
        return None
    value = params.get(name)
    if not isinstance(value, str) or not 1 <= len(value.encode("utf-16-le")) // 2 <= TEXT_LIMIT:
        raise ApiError(400, f"Bad Request: {name} must be 1-{TEXT_LIMIT} characters")
    return value


def _is_local(host: str) -> bool:
    """Tell whether a host is loopback or private, which Zalo reportedly refuses for webhooks."""
    if host in _LOOPBACK_HOSTS:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback
