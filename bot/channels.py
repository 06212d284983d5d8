"""The interface every channel adapter offers to the sender and the runtime."""

from __future__ import annotations

from typing import Any, Protocol


class ChannelAdapter(Protocol):
    """Deliver queued messages on one platform; raise the neutral errors of ``bot.errors``."""

    name: str

    async def deliver(self, chat_id: str, payload: dict[str, Any]) -> str | None:
        """Send (or edit) one message; return the platform's message id."""
        ...
