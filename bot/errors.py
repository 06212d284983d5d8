"""Neutral delivery errors raised by every channel adapter, so the sender treats channels alike."""

from __future__ import annotations


class ChannelError(Exception):
    """Base class for a failed call to a messaging platform."""

    def __init__(self, description: str = "") -> None:
        super().__init__(description)
        self.description = description


class ChannelBlocked(ChannelError):
    """The recipient blocked the bot, left or was deactivated: do not retry."""


class ChannelRateLimited(ChannelError):
    """The platform asked us to slow down; wait ``retry_after`` seconds before the next call."""

    def __init__(self, retry_after: float, description: str = "") -> None:
        super().__init__(description)
        self.retry_after = retry_after


class ChannelUnavailable(ChannelError):
    """A timeout, network failure or 5xx: retry later with backoff."""


class ChannelRejected(ChannelError):
    """The platform refused the call as invalid (bad request, chat not found): do not retry."""
