"""Broadcast notices: audience and scope, queuing one outbox row per recipient, progress, results, reminders.

A notice is queued in the transaction that confirms it: one outbox row per recipient person
(``notice:{id}:{person_id}``, priority 5, kind "notice", a "Đã nhận" button ``nack:{id}``) on the
person's delivery identity, so a person with two linked accounts gets it once. The sender delivers
the rows; ``NoticeProgress`` (a sender listener) edits the author's progress message at most every
two seconds and sends the summary at the end; ``send_due_reminders`` runs from the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot import texts
from bot.clock import Clock
from bot.roles import ADMIN, OFFICER
from handlers.types import BUTTONLESS
from storage.models import Notice, Person, Unit
from storage.repos.notices import Candidate, NoticeRepo, RecipientRow
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

NOTICE_PRIORITY = 5
MAX_TEXT = 3500  # leaves room for the heading within Telegram's 4096 characters
AUDIENCE_KINDS = ("all", "unit", "role", "channel")


class OutOfScope(Exception):
    """The author may not send to this audience."""


@dataclass(frozen=True)
class Audience:
    """Who a notice goes to: everyone, a unit's subtree, a role or the users of one channel."""

    kind: str = "all"
    unit_id: int | None = None
    role: str | None = None
    channel: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "unit_id": self.unit_id, "role": self.role, "channel": self.channel}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        return cls(data.get("kind", "all"), data.get("unit_id"), data.get("role"), data.get("channel"))


@dataclass(frozen=True)
class Scope:
    """What an author may reach: everything (admins) or the subtree of ``root`` (officers)."""

    root: Unit | None

    @property
    def everything(self) -> bool:
        return self.root is None


def repo(uow: UnitOfWork) -> NoticeRepo:
    return NoticeRepo(uow.session)


def notice_id_of(dedupe_key: str) -> int | None:
    """Return the notice id of a recipient row key ``notice:{id}:{person_id}``."""
    parts = dedupe_key.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[0] == "notice" and parts[1].isdigit() else None


# --- Audience ---------------------------------------------------------------------------------


async def scope_of(uow: UnitOfWork, author: Person) -> Scope | None:
    """Return what the author may broadcast to; None when they may not broadcast."""
    if author.role == ADMIN:
        return Scope(None)
    if author.role == OFFICER and author.unit_id is not None:
        unit = await uow.units.get(author.unit_id)
        return Scope(unit) if unit is not None else None
    return None


async def check_audience(uow: UnitOfWork, scope: Scope, audience: Audience) -> Unit | None:
    """Return the audience's unit (for unit audiences); raise OutOfScope when it lies outside the scope."""
    if audience.kind not in AUDIENCE_KINDS:
        raise OutOfScope(audience.kind)
    if audience.kind != "unit":
        return None
    unit = await uow.units.get(audience.unit_id) if audience.unit_id else None
    if unit is None or (scope.root is not None and not uow.units.contains(scope.root, unit)):
        raise OutOfScope(str(audience.unit_id))
    return unit


def pick_recipients(candidates: list[Candidate], *, channel: str | None, exclude: int | None) -> list[Candidate]:
    """Keep one identity per person (the preferred channel, else the oldest active one), then filter."""
    by_person: dict[int, list[Candidate]] = defaultdict(list)
    for cand in candidates:
        by_person[cand.person_id].append(cand)
    chosen = []
    for person_id, idents in by_person.items():
        best = next((c for c in idents if c.channel == c.preferred_channel), idents[0])
        if person_id != exclude and (channel is None or best.channel == channel):
            chosen.append(best)
    return sorted(chosen, key=lambda c: c.person_id)


async def resolve(uow: UnitOfWork, author: Person, audience: Audience) -> list[Candidate]:
    """Return the recipients of an audience, one per active person, within the author's scope."""
    scope = await scope_of(uow, author)
    if scope is None:
        raise OutOfScope("no scope")
    unit = await check_audience(uow, scope, audience)
    paths = [unit.path] if unit is not None else (None if scope.root is None else [scope.root.path])
    role = audience.role if audience.kind == "role" else None
    candidates = await repo(uow).candidates(paths, role)
    channel = audience.channel if audience.kind == "channel" else None
    return pick_recipients(candidates, channel=channel, exclude=author.id)


async def describe(uow: UnitOfWork, author: Person | None, audience: Audience) -> str:
    """Describe an audience in words, with the officer's scope when it narrows it."""
    scope = await scope_of(uow, author) if author is not None else None
    scope_name = scope.root.name if scope is not None and scope.root is not None else None
    unit = await uow.units.get(audience.unit_id) if audience.kind == "unit" and audience.unit_id else None
    return texts.audience_label(audience.kind, unit=unit.name if unit else "?", role=audience.role,
                                channel=audience.channel, scope=scope_name)


# --- Drafts and sending -----------------------------------------------------------------------


async def create_draft(
    uow: UnitOfWork, author: Person, text: str, attachment: dict[str, Any] | None, audience: Audience, now: datetime
) -> tuple[Notice, int]:
    """Store a draft notice and return it with its current number of recipients."""
    count = len(await resolve(uow, author, audience))
    notice = Notice(author_id=author.id, text=text, attachment=attachment, audience=audience.as_json(),
                    status="draft", total=count, created_at=now)
    await repo(uow).add(notice)
    return notice, count


def recipient_payload(notice: Notice, author: Person, channel: str, *, reminder: bool = False) -> dict[str, Any]:
    """Return the outbox payload of a notice (or its reminder) for one channel."""
    text = texts.notice_message(notice.id, author.name, author.role, notice.text, reminder=reminder)
    if notice.attachment and channel in BUTTONLESS:
        text += "\n\n" + texts.zalo_file_elsewhere(attachment_name(notice.attachment))
    return {"text": text, "buttons": [[{"label": texts.BUTTON_NOTICE_ACK, "payload": f"nack:{notice.id}"}]]}


def attachment_name(attachment: dict[str, Any]) -> str:
    return attachment.get("name") or ("anh.jpg" if attachment.get("kind") == "photo" else "tep-dinh-kem")


def _file_payload(attachment: dict[str, Any]) -> dict[str, Any]:
    return {"text": "", "file": {"file_id": attachment.get("file_id"), "kind": attachment.get("kind", "document"),
                                 "filename": attachment_name(attachment), "caption": None}}


async def start_sending(
    uow: UnitOfWork,
    notice: Notice,
    author: Person,
    now: datetime,
    *,
    progress: tuple[str, str, str | None] | None = None,
    remind_after_hours: int | None = None,
    actor: str | None = None,
) -> int | None:
    """Confirm a draft: queue one outbox row per recipient in this transaction; None if not a draft.

    ``progress`` is (channel, chat id, message id) of the author's message to update in place.
    """
    if not await repo(uow).start(notice.id, author.id):
        return None
    recipients = await resolve(uow, author, Audience.from_json(notice.audience))
    rows: list[dict[str, Any]] = []
    for r in recipients:
        base = {"channel": r.channel, "chat_id": r.chat_id, "identity_id": r.identity_id, "person_id": r.person_id,
                "priority": NOTICE_PRIORITY}
        if notice.attachment and notice.attachment.get("file_id") and r.channel not in BUTTONLESS:
            # The file goes first; the text with the button follows it (one second later, per chat).
            rows.append({**base, "dedupe_key": f"nfile:{notice.id}:{r.person_id}", "kind": "notice-file",
                         "payload": _file_payload(notice.attachment)})
        rows.append({**base, "dedupe_key": f"notice:{notice.id}:{r.person_id}", "kind": "notice",
                     "payload": recipient_payload(notice, author, r.channel)})
    ids = await uow.outbox.add_many(rows, now)
    notice.audience = {**notice.audience, "rows": [ids[0], ids[-1]] if ids else [0, -1]}
    notice.status, notice.total, notice.sent_at = "sending", len(recipients), now
    notice.remind_after_hours = remind_after_hours
    if progress is not None:
        notice.progress_channel, notice.progress_chat_id, notice.progress_message_id = progress
    await uow.audit.add(
        "notice.send", actor=actor or f"person:{author.id}", actor_id=author.id, at=now, target=f"notice:{notice.id}",
        details={"audience": Audience.from_json(notice.audience).as_json(), "recipients": len(recipients),
                 "text": notice.text[:500], "attachment": (notice.attachment or {}).get("kind"),
                 "remind_after_hours": remind_after_hours},
    )
    await uow.session.flush()
    return len(recipients)


async def cancel(uow: UnitOfWork, notice_id: int, author: Person, now: datetime) -> bool:
    """Cancel a draft of this author; False when it is not a draft any more."""
    notice = await repo(uow).get(notice_id)
    if notice is None or notice.author_id != author.id or notice.status != "draft":
        return False
    notice.status, notice.finished_at = "cancelled", now
    await uow.audit.add("notice.cancel", actor=f"person:{author.id}", actor_id=author.id, at=now,
                        target=f"notice:{notice_id}")
    return True


async def acknowledge(uow: UnitOfWork, notice_id: int, person_id: int, now: datetime) -> str:
    """Record "Đã nhận"; return "new", "again", or "unknown" when the person did not receive this notice."""
    if await uow.outbox.by_key(f"notice:{notice_id}:{person_id}") is None:
        return "unknown"
    return "new" if await repo(uow).acknowledge(notice_id, person_id, now) else "again"


# --- Progress and summary ---------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    waiting: int
    blocked: int
    left: int
    other: int

    @property
    def failed(self) -> int:
        return self.blocked + self.left + self.other


def failure_reason(error: str) -> str:
    """Sort a failed row into blocked (the person blocked the bot), left (account gone) or other."""
    low = error.lower()
    if "blocked" in low and "by the user" in low:
        return "blocked"
    if any(w in low for w in ("deactivated", "kicked", "chat not found", "user not found", "not a member", "left")):
        return "left"
    if low.startswith("blocked"):
        return "blocked"
    return "other"


async def progress_of(uow: UnitOfWork, notice: Notice) -> Progress:
    r = repo(uow)
    counts = await r.status_counts(notice)
    reasons: defaultdict[str, int] = defaultdict(int)
    for error in await r.failure_reasons(notice):
        reasons[failure_reason(error)] += 1
    return Progress(
        total=sum(counts.values()), sent=counts.get("sent", 0),
        waiting=counts.get("pending", 0) + counts.get("sending", 0),
        blocked=reasons["blocked"], left=reasons["left"], other=reasons["other"],
    )


async def update_progress(uow: UnitOfWork, notice_id: int, now: datetime) -> int:
    """Queue an in-place progress update, or finish the notice and queue its summary; return rows queued."""
    notice = await repo(uow).get(notice_id)
    if notice is None or notice.status != "sending":
        return 0
    p = await progress_of(uow, notice)
    if p.waiting:
        text = texts.notice_progress(p.sent + p.failed, p.total, p.failed)
        return await _to_progress_message(uow, notice, text, f"nprog:{notice.id}:{p.sent}:{p.failed}", now)
    if not await repo(uow).finish(notice.id, now):
        return 0
    seconds = (now - notice.sent_at).total_seconds() if notice.sent_at else 0.0
    await uow.audit.add("notice.done", actor="system", at=now, target=f"notice:{notice.id}",
                        details={"sent": p.sent, "blocked": p.blocked, "left": p.left, "other": p.other,
                                 "seconds": round(seconds)})
    queued = await _to_progress_message(uow, notice, texts.notice_progress_done(p.sent, p.total, p.failed),
                                        f"nprog:{notice.id}:done", now)
    summary = texts.notice_summary(notice.id, p.total, p.sent, p.blocked, p.left, p.other, seconds)
    return queued + await _to_author(uow, notice, {"text": summary}, f"nsum:{notice.id}", now)


async def _to_progress_message(uow: UnitOfWork, notice: Notice, text: str, key: str, now: datetime) -> int:
    """Edit the progress message in place (channels with edits only; elsewhere only the summary is sent)."""
    if not notice.progress_message_id or not notice.progress_chat_id or notice.progress_channel in BUTTONLESS:
        return 0
    row = await uow.outbox.add(
        dedupe_key=key, channel=notice.progress_channel or "telegram", chat_id=notice.progress_chat_id,
        person_id=notice.author_id, payload={"text": text, "edit_message_id": notice.progress_message_id},
        priority=0, kind="progress", at=now,
    )
    return row is not None


async def _to_author(uow: UnitOfWork, notice: Notice, payload: dict[str, Any], key: str, now: datetime) -> int:
    """Send a message to the chat the author confirmed from (or their preferred account)."""
    if notice.progress_chat_id and notice.progress_channel:
        channel, chat_id, identity_id = notice.progress_channel, notice.progress_chat_id, None
    else:
        author = await uow.people.get(notice.author_id)
        ident = await uow.people.delivery_identity(author) if author is not None else None
        if ident is None:
            return 0
        channel, chat_id, identity_id = ident.channel, ident.chat_id, ident.id
    row = await uow.outbox.add(dedupe_key=key, channel=channel, chat_id=chat_id, identity_id=identity_id,
                               person_id=notice.author_id, payload=payload, priority=1, kind="notify", at=now)
    return row is not None


class NoticeProgress:
    """Sender listener: refresh each notice's progress at most every ``every`` seconds; finish it at the end.

    Outcomes only mark notices as changed; the database work runs in a background task, so the
    sender's writer is never slowed down. Progress messages are outbox rows of priority 0 that edit
    the author's message in place, so they go through the same engine, rate limits and retries.
    """

    def __init__(self, session_factory: async_sessionmaker[Any], clock: Clock, *, every: float = 2.0,
                 wake: Any = None) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.every = every
        self.wake = wake
        self._dirty: set[int] = set()
        self._last = -math.inf
        self._task: asyncio.Task[None] | None = None

    def __call__(self, outcomes: list[Any]) -> None:
        ids = {n for o in outcomes if (n := notice_id_of(getattr(o, "dedupe_key", ""))) is not None}
        if not ids:
            return
        self._dirty |= ids
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._dirty:
            wait = self._last + self.every - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            dirty, self._dirty = sorted(self._dirty), set()
            self._last = time.monotonic()
            queued = 0
            try:
                async with UnitOfWork(self.session_factory) as uow:
                    for notice_id in dirty:
                        queued += await update_progress(uow, notice_id, self.clock.now())
                    await uow.commit()
            except Exception:  # noqa: BLE001 - progress is a courtesy; the next outcome tries again
                log.exception("updating notice progress failed")
            if queued and self.wake is not None:
                self.wake()


# --- Results and reminders --------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    progress: Progress
    acked: int
    silent_units: list[Unit]  # units with recipients of which nobody pressed "Đã nhận"


async def results(uow: UnitOfWork, notice: Notice) -> Results:
    rows = await repo(uow).recipients(notice)
    p = await progress_of(uow, notice)
    acked_by_unit: dict[int | None, bool] = {}
    for r in rows:
        acked_by_unit[r.unit_id] = acked_by_unit.get(r.unit_id, False) or r.acked
    silent = [uid for uid, acked in acked_by_unit.items() if not acked and uid is not None]
    units = [u for u in [await uow.units.get(uid) for uid in silent] if u is not None]
    units.sort(key=lambda u: u.path)
    return Results(p, sum(1 for r in rows if r.acked), units)


def reminder_due_at(notice: Notice) -> datetime | None:
    if notice.remind_after_hours is None or notice.sent_at is None:
        return None
    return notice.sent_at + timedelta(hours=notice.remind_after_hours)


async def send_due_reminders(uow: UnitOfWork, now: datetime) -> int:
    """Queue due reminders to recipients who have not pressed "Đã nhận"; return the rows queued.

    Also finishes notices whose delivery ended while no sender listener saw it (after a crash).
    The caller commits and then wakes the sender.
    """
    r = repo(uow)
    queued = 0
    for notice in await r.sending():
        queued += await update_progress(uow, notice.id, now)
    for notice in await r.reminders_due():
        due = reminder_due_at(notice)
        if due is None or due > now or not await r.claim_reminder(notice.id, now):
            continue
        author = await uow.people.get(notice.author_id)
        if author is None:
            continue
        targets = [row for row in await r.recipients(notice) if row.status == "sent" and not row.acked]
        await uow.outbox.add_many([_reminder_row(notice, author, row) for row in targets], now)
        await uow.audit.add("notice.remind", actor="system", at=now, target=f"notice:{notice.id}",
                            details={"recipients": len(targets)})
        queued += len(targets)
        queued += await _to_author(uow, notice, {"text": texts.notice_reminder_sent(notice.id, len(targets))},
                                   f"nremsum:{notice.id}", now)
    return queued


def _reminder_row(notice: Notice, author: Person, row: RecipientRow) -> dict[str, Any]:
    return {"dedupe_key": f"nrem:{notice.id}:{row.person_id}", "channel": row.channel, "chat_id": row.chat_id,
            "identity_id": row.identity_id, "person_id": row.person_id, "priority": NOTICE_PRIORITY,
            "kind": "reminder", "payload": recipient_payload(notice, author, row.channel, reminder=True)}


def reminder_tick(session_factory: async_sessionmaker[Any], on_queued: Any = None) -> Any:
    """Return a scheduler tick ``async (now) -> int`` that runs ``send_due_reminders`` in its own transaction."""

    async def tick(now: datetime) -> int:
        async with UnitOfWork(session_factory) as uow:
            queued = await send_due_reminders(uow, now)
            await uow.commit()
        if queued and on_queued is not None:
            on_queued()
        return queued

    return tick
