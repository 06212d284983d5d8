"""The event loop of the processes that mostly do HTTP: uvloop where it is installed, else asyncio's.

uvloop runs the same asyncio code with its transports and scheduling in C. The delivery worker and
the benchmark's fake Bot API spend their time in HTTP calls and answers (the worker's CPU per call
was 1–11 % lower on it in three paired runs). The bot's main process stays on asyncio's loop: its time goes to the handlers and
SQLAlchemy, and on uvloop it cost more per report (bench/ingest.py, 7 interleaved rounds: median
840 against 767 µs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a new event loop, as ``asyncio.run`` does."""
    try:
        import uvloop
    except ImportError:  # not built for this platform (Windows): asyncio's own loop does the same work
        return asyncio.run(main)
    return uvloop.run(main)
