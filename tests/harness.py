"""A test harness that drives the real pipeline (inbox → handlers → outbox) on a real database."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.clock import ManualClock
from bot.digest.service import DigestService
from bot.periods import Calendar
from bot.pipeline import Pipeline
from bot.settings import Settings
from bot.tagging import Tagger
from bot.units_import import import_units
from handlers.context import Services
from handlers.types import Attachment, Incoming, Location
from schedules.jobs import JobEnv
from schedules.service import Scheduling
from storage.db import create_engine, make_session_factory
from storage.models import OutboxItem
from storage.uow import UnitOfWork

TREE = """code,name,level,parent_code
P,Tỉnh A,Tỉnh,
X1,Xã Một,Xã,P
X1-T1,Thôn 1,Thôn,X1
X1-T2,Thôn 2,Thôn,X1
X2,Xã Hai,Xã,P
X2-A1,Ấp 1,Ấp,X2
"""


def _parse(payload: dict[str, Any]) -> Incoming:
    data = dict(payload)
    data["received_at"] = datetime.fromisoformat(data["received_at"])
    data["attachments"] = [Attachment(**a) for a in data.get("attachments", [])]
    data["location"] = Location(**data["location"]) if data.get("location") else None
    return Incoming(**data)


class Harness:
    """Send neutral messages as people and read back what the bot queued for them."""

    def __init__(self, db_url: str, now: datetime | None = None) -> None:
        self.settings = Settings(  # type: ignore[call-arg]
            database_url=db_url, _env_file=None, data_dir=Path(tempfile.mkdtemp(prefix="danvan-test-"))
        )
        self.clock = ManualClock(now or datetime(2026, 3, 2, 3, 0, tzinfo=UTC))
        self.engine = create_engine(db_url)
        self.sf = make_session_factory(self.engine)
        self.services = Services(
            settings=self.settings, clock=self.clock, tagger=Tagger(), calendar=Calendar(cutoff_day=14)
        )
        self.services.digests = DigestService(self.sf, self.services.calendar, self.settings)
        self.scheduling = Scheduling(JobEnv(self.sf, self.services.calendar, digests=self.services.digests), self.clock)
        self.services.scheduling = self.scheduling
        self.pipeline = Pipeline(self.sf, self.services, parsers={"telegram": _parse, "zalo": _parse})
        self._ids = itertools.count(1)
        self._seen_outbox = 0

    async def setup(self) -> None:
        async with self.uow() as uow:
            report = await import_units(uow, TREE, actor="test", now=self.clock.now())
            assert not report.errors, report.errors
            await uow.commit()

    async def close(self) -> None:
        await self.engine.dispose()
        shutil.rmtree(self.settings.data_dir, ignore_errors=True)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sf)

    async def add_person(self, user_id: int | str, name: str, role: str, unit_code: str | None, channel: str = "telegram") -> int:
        async with self.uow() as uow:
            unit = await uow.units.by_code(unit_code) if unit_code else None
            person = await uow.people.add(name, role, unit.id if unit else None, preferred_channel=channel)
            await uow.people.add_identity(person, channel, str(user_id), str(user_id), name)
            await uow.commit()
            return person.id

    async def send(self, user_id: int | str, text: str | None = None, *, channel: str = "telegram", **fields: Any) -> list[dict[str, Any]]:
        """Deliver one message from a user and return the replies queued for anyone."""
        msg, payload = self.message(user_id, text, channel, fields)
        await self.pipeline.receive(channel, msg.update_key, payload)
        return await self.new_replies()

    async def send_batch(self, messages: list[tuple[int | str, str | None]], channel: str = "telegram") -> list[dict[str, Any]]:
        """Store several messages at once and handle them as one batch, their content kept in memory as
        ``Inbound`` does (one at a time, ``send``, reads it back); return the replies queued."""
        built = [self.message(user_id, text, channel, {}) for user_id, text in messages]
        ids = await self.pipeline.ingest_many(channel, [(msg.update_key, payload) for msg, payload in built])
        await self.pipeline.process_batch([ids[msg.update_key] for msg, _ in built],
                                          {ids[msg.update_key]: payload for msg, payload in built})
        return await self.new_replies()

    def message(self, user_id: int | str, text: str | None, channel: str, fields: dict[str, Any]) -> tuple[Incoming, dict[str, Any]]:
        msg = Incoming(
            channel=channel,  # type: ignore[arg-type]
            external_user_id=str(user_id),
            chat_id=str(fields.pop("chat_id", user_id)),
            update_key=str(fields.pop("update_key", next(self._ids))),
            received_at=self.clock.now(),
            display_name=fields.pop("display_name", ""),
            text=text,
            **fields,
        )
        payload = asdict(msg)
        payload["received_at"] = msg.received_at.isoformat()
        return msg, payload

    async def press(self, user_id: int | str, payload: str, message_id: str = "1", **fields: Any) -> list[dict[str, Any]]:
        return await self.send(user_id, None, payload=payload, callback_id="cb", message_id=message_id, **fields)

    async def new_replies(self) -> list[dict[str, Any]]:
        """Return outbox rows added since the last call, as dicts with chat_id and payload."""
        async with self.uow() as uow:
            rows = (
                await uow.session.execute(select(OutboxItem).where(OutboxItem.id > self._seen_outbox).order_by(OutboxItem.id))
            ).scalars().all()
        if rows:
            self._seen_outbox = rows[-1].id
        return [{"chat_id": r.chat_id, "channel": r.channel, "person_id": r.person_id, **r.payload} for r in rows]


def texts_of(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies)
