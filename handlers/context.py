"""What a handler gets: the incoming message, the unit of work, the services and who is talking."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.settings import Settings
from handlers.types import Incoming
from storage.models import Identity, Person
from storage.uow import UnitOfWork


@dataclass
class Services:
    """Long-lived domain services, built once by the composition root."""

    settings: Settings
    clock: Clock
    tagger: Any = None
    calendar: Any = None
    digests: Any = None
    scheduling: Any = None
    bot_usernames: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    uow: UnitOfWork
    services: Services
    msg: Incoming
    now: datetime
    person: Person | None = None
    identity: Identity | None = None
    tagged: tuple[str, Any] | None = None  # (text, its TagResult) when tagged ahead for a batch

    def tag(self, text: str) -> Any:
        """Tag ``text`` with the current lexicon, reusing the result found ahead for the same text."""
        if self.tagged is not None and self.tagged[0] == text:
            return self.tagged[1]
        return self.services.tagger.tag(text)

    @property
    def actor(self) -> str:
        """Return how this person is named in the audit log."""
        if self.person is not None:
            return f"person:{self.person.id}"
        return f"{self.msg.channel}:{self.msg.external_user_id}"

    @property
    def role(self) -> str | None:
        return self.person.role if self.person else None
