"""Async client for the Zalo Bot Platform API that raises the project's neutral channel errors."""

from __future__ import annotations

import json
import logging
from collections import deque
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.errors import (
    ChannelBlocked,
    ChannelError,
    ChannelRateLimited,
    ChannelRejected,
    ChannelUnavailable,
)

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
# The server holds a long poll for `timeout` seconds, so the read must outlast it (S7/S8 in the reference).
POLL_TIMEOUT_MARGIN = 10.0
# Zalo sends no retry hint with 429 ("Quota exceeded"); a minute keeps a retrying sender from hammering it.
DEFAULT_RETRY_AFTER = 60.0
# Zalo documents no error for a blocked user; these are the phrasings we treat as "stop sending here".
_BLOCKED_MARKERS = ("blocked", "not allowed to send", "not allow to send", "deactivated", "has left")
_REDACTED = "<token>"


class ZaloClient:
    """Call the Zalo Bot API over HTTP, keeping the token out of every log, error and repr."""

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        session: aiohttp.ClientSession | None = None,
        request_timeout: float = 30,
    ) -> None:
        if not token:
            raise ValueError("a Zalo bot token is required")
        self._token = token
        self._base_url = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None
        self._request_timeout = request_timeout
        # Insurance for a server that answers a list: keep the extras instead of dropping them.
        self._pending: deque[dict[str, Any]] = deque()

    def __repr__(self) -> str:
        return f"ZaloClient(base_url={self._base_url!r}, token={_REDACTED})"

    async def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def get_me(self) -> dict[str, Any]:
        """Return the bot's own account description."""
        return await self._call("getMe")

    # `timeout` is the server's long-poll hold, part of the API; the read deadline is derived from it.
    async def get_updates(self, timeout: float = 30) -> dict[str, Any] | None:  # noqa: ASYNC109
        """Long-poll for one update; return None when the poll ends idle (HTTP 408)."""
        if self._pending:
            return self._pending.popleft()
        result = await self._call(
            "getUpdates", {"timeout": timeout}, deadline=timeout + POLL_TIMEOUT_MARGIN, quiet=(408,)
        )
        if result is _QUIET:
            return None
        if isinstance(result, list):
            self._pending.extend(result)
            return self._pending.popleft() if self._pending else None
        # A malformed non-dict result is handed on as is: classifying it is the adapter's job.
        return result or None

    async def set_webhook(self, url: str, secret_token: str) -> dict[str, Any]:
        """Point the platform at our webhook URL with the given secret header value."""
        return await self._call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> dict[str, Any]:
        """Remove the webhook so that getUpdates works."""
        return await self._call("deleteWebhook")

    async def get_webhook_info(self) -> dict[str, Any]:
        """Return the webhook settings, with an empty url when none is set."""
        # A bot without a webhook gets 404 "Not Found" (S8 measured it); that is not a failure.
        result = await self._call("getWebhookInfo", quiet=(404,))
        return {"url": ""} if result is _QUIET else result

    async def send_message(self, chat_id: str, text: str) -> str:
        """Send plain text (1-2000 characters) and return the new message id."""
        result = await self._call("sendMessage", {"chat_id": chat_id, "text": text})
        return _message_id(result)

    async def send_photo(self, chat_id: str, photo_url: str, caption: str | None = None) -> str:
        """Send an image by URL with an optional caption and return the new message id."""
        params: dict[str, Any] = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            params["caption"] = caption
        result = await self._call("sendPhoto", params)
        return _message_id(result)

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        """Show a chat action such as "typing" to the user."""
        await self._call("sendChatAction", {"chat_id": chat_id, "action": action})

    async def _call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        deadline: float | None = None,
        quiet: tuple[int, ...] = (),
    ) -> Any:
        """POST one method and return its result (or _QUIET for a `quiet` error code), else raise."""
        logger.debug("zalo call %s", method)
        status, raw, failure = await self._post(method, params or {}, deadline or self._request_timeout)
        # Raised here, outside any except block, so no aiohttp exception (which embeds the URL) is chained.
        if failure is not None:
            raise failure
        return self._unwrap(method, status, raw, quiet)

    async def _post(
        self, method: str, params: dict[str, Any], deadline: float
    ) -> tuple[int, bytes, ChannelError | None]:
        """Send the request and return (status, body, transport failure to raise)."""
        session = self._ensure_session()
        try:
            async with session.post(
                self._url(method), json=params, timeout=aiohttp.ClientTimeout(total=deadline)
            ) as resp:
                return resp.status, await resp.read(), None
        except TimeoutError:
            return 0, b"", ChannelUnavailable(f"{method}: no answer within {deadline:g} s")
        except aiohttp.InvalidURL:
            return 0, b"", ChannelRejected(f"{method}: the base URL is invalid")
        except aiohttp.ClientError as exc:
            # The exception's own text may hold the URL (and so the token): keep only its type.
            return 0, b"", ChannelUnavailable(f"{method}: connection failed ({type(exc).__name__})")

    def _unwrap(self, method: str, status: int, raw: bytes, quiet: tuple[int, ...]) -> Any:
        """Return `result` from the envelope or raise the matching neutral error."""
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok") is True:
            return body.get("result")
        if not isinstance(body, dict) or "ok" not in body:
            if 200 <= status < 300:
                raise ChannelUnavailable(f"{method}: malformed response (HTTP {status})")
            body = body if isinstance(body, dict) else {}
        code = body.get("error_code")
        code = code if isinstance(code, int) else status
        if code in quiet:
            return _QUIET
        description = self._redact(str(body.get("description") or f"HTTP {status}"))
        raise _error_for(method, code, description, body.get("parameters"))

    def _ensure_session(self) -> aiohttp.ClientSession:
        """Return the shared session, creating one lazily inside the running loop."""
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise ChannelUnavailable("the HTTP session given to ZaloClient is closed")
            self._session = aiohttp.ClientSession()
        return self._session

    def _url(self, method: str) -> str:
        """Build the method URL; it contains the token, so it must never be logged."""
        return f"{self._base_url}/bot{self._token}/{method}"

    def _redact(self, text: str) -> str:
        """Remove the token (raw or percent-encoded) from text the server sent back."""
        for form in {self._token, quote(self._token, safe=""), quote(self._token)}:
            text = text.replace(form, _REDACTED)
        return text


# Returned by _call for an expected "nothing here" answer, such as the idle long poll's 408.
_QUIET = object()


def _error_for(method: str, code: int, description: str, parameters: Any) -> ChannelError:
    """Map a Zalo error code and description to a neutral channel error."""
    text = f"{method}: {description} (error_code {code})"
    if any(marker in description.lower() for marker in _BLOCKED_MARKERS):
        return ChannelBlocked(text)
    if code == 429:
        return ChannelRateLimited(_retry_after(parameters), text)
    if code == 401:
        return ChannelRejected(f"{method}: invalid or revoked bot token (error_code 401)")
    # Zalo documents 403 as "Internal server error", so it is treated as transient, like 408 and 5xx.
    if code in (403, 408) or code >= 500 or code == 0:
        return ChannelUnavailable(text)
    return ChannelRejected(text)


def _retry_after(parameters: Any) -> float:
    """Read a Telegram-style retry hint if the server ever sends one."""
    if isinstance(parameters, dict):
        value = parameters.get("retry_after")
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return DEFAULT_RETRY_AFTER


def _message_id(result: Any) -> str:
    """Extract the message id from a send result."""
    if isinstance(result, dict) and result.get("message_id"):
        return str(result["message_id"])
    # The send succeeded; raising would make the sender resend, so report an unknown id instead.
    logger.warning("zalo send succeeded without a message_id")
    return ""
