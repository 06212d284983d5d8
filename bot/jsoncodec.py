"""JSON on the hot paths (stored updates and replies, Bot API calls, the delivery worker's lines).

orjson does the work; what it refuses and the ``json`` module accepts still goes through, the way
it did before: a lone surrogate (``"\\ud800"``, which a broken client can put in a message),
integers past 64 bits, NaN. So no update that was readable before is now stuck unreadable.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS  # {1: ...} becomes {"1": ...}, as with the json module


def dumps_bytes(value: Any) -> bytes:
    """Encode compact UTF-8 JSON."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except orjson.JSONEncodeError:
        # ASCII escapes carry a lone surrogate through UTF-8; other refusals raise TypeError as before.
        return json.dumps(value, separators=(",", ":")).encode()


def dumps(value: Any) -> str:
    """Encode compact JSON text."""
    return dumps_bytes(value).decode()


def loads(data: str | bytes) -> Any:
    """Decode JSON text or UTF-8 bytes; raises ValueError when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
