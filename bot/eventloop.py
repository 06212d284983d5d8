"""The event loop the long-running processes use: uvloop where it is installed, asyncio's otherwise.

uvloop runs the same asyncio code with its transports and scheduling in C. On the ingest benchmark
each of the bot, its delivery worker and the fake Bot API spends most of its time in the loop and
in HTTP, so all three get cheaper per report.
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
