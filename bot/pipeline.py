"""The inbound path: store each raw update in the inbox, handle it once, queue the replies in the outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from handlers.context import Ctx, Services
from handlers.router import dispatch
from handlers.types import BUTTONLESS, Incoming, Reply, Result
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

Parser = Callable[[dict[str, Any]], Incoming | None]
MAX_ATTEMPTS = 5


@dataclass
class Handled:
    """What the adapter still has to do after the commit: answer a button press, refresh a menu."""

    incoming: Incoming | None
    result: Result


def reply_payload(reply: Reply, edit_message_id: str | None) -> dict[str, Any]:
    """Serialise a neutral reply for the outbox."""
    payload: dict[str, Any] = {"text": reply.text}
    if reply.buttons:
        payload["buttons"] = [[{"label": b.label, "payload": b.payload} for b in row] for row in reply.buttons]
    if edit_message_id and (reply.edit or reply.edit_message_id):
        payload["edit_message_id"] = edit_message_id
    if reply.file is not None:
        f = reply.file
        payload["file"] = {"path": f.path, "filename": f.filename, "kind": f.kind, "caption": f.caption}
    return payload


async def queue_replies(uow: UnitOfWork, msg: Incoming, replies: list[Reply], key_prefix: str, now: Any) -> int:
    """Write the replies of one handled update to the outbox; return how many were queued."""
    queued = 0
    for n, reply in enumerate(replies):
        target = await _target(uow, msg, reply)
        if target is None:
            continue
        channel, chat_id, identity_id, person_id = target
        edit_id = reply.edit_message_id or (msg.message_id if reply.to_person_id is None else None)
        row_id = await uow.outbox.add(
            dedupe_key=reply.dedupe or f"{key_prefix}:{n}",
            channel=channel,
            chat_id=chat_id,
            identity_id=identity_id,
            person_id=person_id,
            payload=reply_payload(reply, edit_id),
            priority=reply.priority,
            kind="reply" if reply.to_person_id is None else "notify",
            at=now,
        )
        queued += row_id is not None
        if row_id is not None and channel in BUTTONLESS and reply.buttons and identity_id is not None:
            payloads = [b.payload for row in reply.buttons for b in row]
            await uow.people.set_menu(identity_id, payloads, now)
    return queued


async def _target(uow: UnitOfWork, msg: Incoming, reply: Reply) -> tuple[str, str, int | None, int | None] | None:
    if reply.to_person_id is None:
        ident = await uow.people.identity(msg.channel, msg.external_user_id)
        return msg.channel, msg.chat_id, ident.id if ident else None, ident.person_id if ident else None
    person = await uow.people.get(reply.to_person_id)
    ident = await uow.people.delivery_identity(person) if person and person.active else None
    if ident is None:
        return None
    return ident.channel, ident.chat_id, ident.id, person.id if person else None


class Pipeline:
    """Inbox → handler → outbox, each update in one transaction."""

    def __init__(
        self,
        session_factory: async_sessionmaker[Any],
        services: Services,
        parsers: dict[str, Parser],
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.services = services
        self.parsers = parsers
        self.on_queued = on_queued

    async def ingest(self, channel: str, update_key: str, payload: dict[str, Any]) -> int | None:
        """Store a raw update durably; None means it was stored before (a redelivery)."""
        async with UnitOfWork(self.session_factory) as uow:
            item_id = await uow.inbox.store(channel, update_key, payload, self.services.clock.now())
            await uow.commit()
        return item_id

    async def receive(self, channel: str, update_key: str, payload: dict[str, Any]) -> Handled | None:
        """Store then handle one update; a redelivered update does nothing."""
        item_id = await self.ingest(channel, update_key, payload)
        if item_id is None:
            return None
        return await self.process(item_id)

    async def process(self, item_id: int) -> Handled | None:
        """Handle one stored update exactly once; on failure count the attempt and keep it for retry."""
        try:
            return await self._process(item_id)
        except Exception as exc:  # noqa: BLE001 - one bad update must not stop the bot
            # Log the type only: the exception text could quote the report.
            log.exception("handling inbox item %s failed (%s)", item_id, type(exc).__name__)
            async with UnitOfWork(self.session_factory) as uow:
                await uow.inbox.mark_failed(item_id, type(exc).__name__, self.services.clock.now(), MAX_ATTEMPTS)
                await uow.commit()
            return None

    async def _process(self, item_id: int) -> Handled | None:
        async with UnitOfWork(self.session_factory) as uow:
            item = await uow.inbox.claim(item_id)
            if item is None:
                return None
            now = self.services.clock.now()
            parser = self.parsers.get(item.channel)
            msg = parser(item.payload or {}) if parser else None
            result = Result()
            if msg is not None:
                ctx = Ctx(uow=uow, services=self.services, msg=msg, now=now)
                result = await dispatch(ctx)
                await queue_replies(uow, msg, result.replies, f"r:{item.channel}:{item.update_key}", now)
            await uow.inbox.mark_done(item, now)
            await uow.commit()
        if result.replies and self.on_queued:
            self.on_queued()
        return Handled(msg, result)

    async def retry_unhandled(self) -> int:
        """Handle updates stored before a crash or restart; return how many were handled."""
        async with UnitOfWork(self.session_factory) as uow:
            ids = await uow.inbox.unhandled_ids()
        done = 0
        for item_id in ids:
            done += (await self.process(item_id)) is not None
        return done
