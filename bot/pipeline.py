"""The inbound path: store raw updates in the inbox, handle each once, queue the replies in the outbox.

Updates are stored and handled in batches: one transaction stores every update that arrived
together, and one transaction handles a batch of stored updates (at most one per chat, see
``bot/inbound.py``). A batch costs a fixed handful of statements for the look-ups its handlers
will make (accounts, conversation states, earlier reports) and for its writes (reports, outbox
rows, the inbox marks), so that a burst of reports costs little more per report than one alone.
If any update of a batch fails, the batch is rolled back and its updates are handled one by one,
so that only the failing one is held back and counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.outbox import reply_rows, write_rows
from handlers.context import Ctx, Services
from handlers.reports import MAX_TEXT, source_key
from handlers.router import dispatch
from handlers.types import Incoming, Result
from storage.models import InboxItem
from storage.repos.inbox import ClaimedItem
from storage.repos.outbox import ClaimedRow
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

Parser = Callable[[dict[str, Any]], Incoming | None]
MAX_ATTEMPTS = 5
# A batch gives the event loop a turn every so many updates. On SQLite its statements run on the
# loop's thread and never wait, so without these turns a batch of 100 held the loop for ~60 ms: the
# next getUpdates stayed unsent, and the answers to the last batch's replies unread, until it ended.
YIELD_EVERY = 10


class Handoff(Protocol):
    """The sender of this process, which can take new replies without claiming them (``Sender``)."""

    def room(self, channel: str) -> int: ...

    def take(self, channel: str, rows: list[ClaimedRow]) -> bool: ...

    async def release(self, rows: list[ClaimedRow]) -> None: ...


@dataclass
class Handled:
    """What the adapter still has to do after the commit: answer a button press, refresh a menu."""

    incoming: Incoming | None
    result: Result


class Pipeline:
    """Inbox → handler → outbox, a batch of updates per transaction."""

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
        self.handoff: Handoff | None = None  # set once the sender runs

    async def ingest(self, channel: str, update_key: str, payload: dict[str, Any]) -> int | None:
        """Store a raw update durably; None means it was stored before (a redelivery)."""
        return (await self.ingest_many(channel, [(update_key, payload)])).get(update_key)

    async def ingest_many(self, channel: str, updates: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, int]:
        """Store raw updates durably in one transaction; return the new ones' inbox ids by update key."""
        async with UnitOfWork(self.session_factory) as uow:
            ids = await uow.inbox.store_many(channel, updates, self.services.clock.now())
            await uow.commit()
        return ids

    async def receive(self, channel: str, update_key: str, payload: dict[str, Any]) -> Handled | None:
        """Store then handle one update; a redelivered update does nothing."""
        item_id = await self.ingest(channel, update_key, payload)
        if item_id is None:
            return None
        return await self.process(item_id)

    async def process(self, item_id: int) -> Handled | None:
        """Handle one stored update exactly once; on failure count the attempt and keep it for retry."""
        handled = await self.process_batch([item_id])
        return handled[0] if handled else None

    async def process_batch(self, item_ids: Sequence[int], held: dict[int, dict[str, Any]] | None = None) -> list[Handled]:
        """Handle stored updates in one transaction, in id order; return what is left to do for each.

        ``held``: the content of every update by inbox id, when the caller still has it from
        storing them; then it is not read back. Updates handled already are skipped. If one fails,
        each is handled alone, so that the others go through and only the failing one has its
        attempt counted.
        """
        try:
            return await self._process_batch(item_ids, held)
        except Exception as exc:  # noqa: BLE001 - one bad update must not stop the bot
            if len(item_ids) > 1:
                out: list[Handled] = []
                for item_id in item_ids:
                    out += await self.process_batch([item_id], held)
                return out
            # Log the type only: the exception text could quote the report.
            log.exception("handling inbox item %s failed (%s)", item_ids[0], type(exc).__name__)
            async with UnitOfWork(self.session_factory) as uow:
                await uow.inbox.mark_failed(item_ids[0], type(exc).__name__, self.services.clock.now(), MAX_ATTEMPTS)
                await uow.commit()
            return []

    async def _process_batch(self, item_ids: Sequence[int], held: dict[int, dict[str, Any]] | None) -> list[Handled]:
        handled: list[Handled] = []
        async with UnitOfWork(self.session_factory) as uow:
            now = self.services.clock.now()
            items: Sequence[ClaimedItem | InboxItem]
            parsed: list[tuple[ClaimedItem | InboxItem, Incoming | None]]
            if held is not None and all(item_id in held for item_id in item_ids):
                items = await uow.inbox.claim_held(item_ids, now)
                parsed = [(item, self._parse(item.channel, held[item.id])) for item in items]
            else:
                items = await uow.inbox.claim_many(item_ids, now)
                parsed = [(item, self._parse(item.channel, item.payload)) for item in items]
            if not items:
                return []
            await asyncio.sleep(0)
            tagged = await self._look_ahead(uow, [msg for _, msg in parsed if msg is not None], now)
            rows: list[dict[str, Any]] = []
            for n, (item, msg) in enumerate(parsed):
                if n % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
                result = Result()
                if msg is not None:
                    if msg.command or msg.payload is not None:
                        await uow.flush()  # what the batch wrote so far is visible to any query
                    ctx = Ctx(uow=uow, services=self.services, msg=msg, now=now, tagged=tagged.get(id(msg)))
                    result = await dispatch(ctx)
                    rows += await reply_rows(uow, msg, result.replies, f"r:{item.channel}:{item.update_key}",
                                             ctx.identity)
                handled.append(Handled(msg, result))
            self._claim_for_handoff(rows, now)
            new = await write_rows(uow, rows, now)
            await uow.commit()
        await self._hand_over(rows, new)
        return handled

    def _claim_for_handoff(self, rows: list[dict[str, Any]], now: datetime) -> None:
        """Mark the replies the sender has room for as claimed, so that they are written so."""
        if self.handoff is None:
            return
        room: dict[str, int] = {}
        for row in rows:
            channel = row["channel"]
            if channel not in room:
                room[channel] = self.handoff.room(channel)
            if row["priority"] == 0 and room[channel] > 0:
                row["claimed_at"] = now
                room[channel] -= 1

    async def _hand_over(self, rows: list[dict[str, Any]], new: dict[str, int]) -> None:
        """After the commit: give the claimed rows to the sender, and wake it for the others."""
        by_channel: dict[str, list[ClaimedRow]] = {}
        rest = False
        for row in rows:
            row_id = new.get(row["dedupe_key"])
            if row_id is None:
                continue  # queued before: a redelivered update
            if row.get("claimed_at") is None:
                rest = True
                continue
            by_channel.setdefault(row["channel"], []).append(ClaimedRow(
                id=row_id, dedupe_key=row["dedupe_key"], channel=row["channel"], chat_id=row["chat_id"],
                identity_id=row["identity_id"], person_id=row["person_id"], priority=row["priority"],
                kind=row["kind"], payload=row["payload"], attempts=0, not_before=None, claimed_at=row["claimed_at"]))
        for channel, claimed in by_channel.items():
            assert self.handoff is not None
            if not self.handoff.take(channel, claimed):
                await self.handoff.release(claimed)
                rest = True
        if rest and self.on_queued:
            self.on_queued()

    def _parse(self, channel: str, payload: dict[str, Any] | None) -> Incoming | None:
        parser = self.parsers.get(channel)
        return parser(payload or {}) if parser else None

    async def _look_ahead(self, uow: UnitOfWork, msgs: list[Incoming], now: datetime) -> dict[int, tuple[str, Any]]:
        """Load in a few queries what the handlers of these messages will look up one by one.

        Reports are tagged here already (returned by ``id`` of the message, for ``Ctx.tag``), so
        that the units above a reporter and their officers are loaded only for urgent reports.
        """
        tagged: dict[int, tuple[str, Any]] = {}
        for channel in {m.channel for m in msgs}:
            mine = [m for m in msgs if m.channel == channel]
            people = await uow.people.prefetch_accounts(channel, [m.external_user_id for m in mine])
            # Ordinary messages of registered people are the common case: reports.
            known = {ident.external_user_id for ident, _ in uow.people.accounts(channel)}
            plain = [m for m in mine if m.external_user_id in known and not m.command and m.payload is None
                     and not m.edited and m.chat_type == "private"]
            if not plain:
                continue
            person_ids = [p.id for p in people]
            await uow.states.prefetch(person_ids)
            urgent = set()
            for m in plain:
                text = (m.text or "").strip()
                if text and len(text) <= MAX_TEXT:
                    tags = self.services.tagger.tag(text)
                    tagged[id(m)] = (text, tags)
                    if tags.urgent:
                        urgent.add(m.external_user_id)
            # For urgent alerts: every unit above their reporters, and the officers there.
            units = {person.unit_id for ident, person in uow.people.accounts(channel)
                     if ident.external_user_id in urgent and person.unit_id is not None}
            if units:
                await uow.people.prefetch_officers(await uow.units.prefetch_chains(units))
            window = self.services.settings.report_merge_seconds
            await uow.reports.prefetch(
                channel, [source_key(m) for m in plain], person_ids,
                now - timedelta(seconds=window) if window > 0 else None,
            )
            await uow.reports.reserve_ids(len(plain))
        return tagged

    async def retry_unhandled(self) -> int:
        """Handle updates stored before a crash or restart; return how many were handled."""
        async with UnitOfWork(self.session_factory) as uow:
            ids = await uow.inbox.unhandled_ids()
        done = 0
        for item_id in ids:
            done += (await self.process(item_id)) is not None
        return done
