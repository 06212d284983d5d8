"""Webhook-mode helpers: secret check, envelope unwrapping and an aiohttp request handler."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def verify_secret(headers: Mapping[str, str], expected: str) -> bool:
    """Tell in constant time whether the request carries the expected secret header."""
    received = _header(headers, SECRET_HEADER)
    if not received or not expected:
        return False
    return hmac.compare_digest(received.encode(), expected.encode())


def unwrap_update(body: Any) -> dict[str, Any] | None:
    """Return the update from a wrapped {ok, result} or flat body; None for an empty probe."""
    if body is None or body == "" or body == {}:
        return None
    if not isinstance(body, dict):
        raise ValueError("a webhook body must be a JSON object")
    # The docs show the wrapped envelope; real captures and OpenClaw saw flat bodies. Accept both.
    if body.get("ok") is True and "result" in body:
        result = body["result"]
        if result is None or result == {}:
            return None
        if not isinstance(result, dict):
            raise ValueError("a webhook result must be a JSON object")
        return result
    return body


def make_webhook_handler(secret: str, on_update: Callable[[dict[str, Any]], Awaitable[None]]) -> Handler:
    """Build an aiohttp handler that checks the secret, unwraps the update and awaits on_update."""
    if not secret:
        raise ValueError("a webhook secret is required")

    async def handle(request: web.Request) -> web.StreamResponse:
        # An empty probe carries nothing to protect and may come without the header (seen once, S6).
        if not request.body_exists:
            return _answer(200)
        if not verify_secret(request.headers, secret):
            return _answer(401 if SECRET_HEADER not in request.headers else 403)
        raw = await request.read()
        if not raw.strip():
            return _answer(200)
        try:
            update = unwrap_update(json.loads(raw))
        except ValueError:
            return _answer(400)
        if update is None:
            return _answer(200)
        try:
            await on_update(update)
        except Exception:
            logger.exception("storing a zalo webhook update failed")
            # A non-2xx answer gives the platform a chance to deliver it again.
            return _answer(500)
        return _answer(200)

    return handle


def _answer(status: int) -> web.Response:
    """Return a small JSON acknowledgement with the given status."""
    return web.json_response({"ok": 200 <= status < 300}, status=status)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Read a header case-insensitively from any mapping."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)
