"""User-facing texts: calendar (part of the catalogue in bot.texts)."""

from __future__ import annotations

from bot.texts import COMMANDS, e  # noqa: F401
