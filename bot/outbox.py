"""Turn neutral replies into outbox rows: the one place that decides where a message goes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers.types import BUTTONLESS, Incoming, Reply
from storage.models import Identity, Person
from storage.uow import UnitOfWork


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


async def reply_rows(
    uow: UnitOfWork, msg: Incoming, replies: list[Reply], key_prefix: str, sender: Identity | None = None
) -> list[dict[str, Any]]:
    """Return the outbox rows for the replies of one handled update (unreachable people left out)."""
    rows = []
    for n, reply in enumerate(replies):
        target = await _target(uow, msg, reply, sender)
        if target is None:
            continue
        channel, chat_id, identity_id, person_id = target
        edit_id = reply.edit_message_id or (msg.message_id if reply.to_person_id is None else None)
        menu = [b.payload for row in reply.buttons for b in row] if channel in BUTTONLESS and reply.buttons else None
        rows.append({
            "dedupe_key": reply.dedupe or f"{key_prefix}:{n}", "channel": channel, "chat_id": chat_id,
            "identity_id": identity_id, "person_id": person_id, "payload": reply_payload(reply, edit_id),
            "priority": reply.priority, "kind": "reply" if reply.to_person_id is None else "notify",
            "menu": menu,
        })
    return rows


async def write_rows(uow: UnitOfWork, rows: list[dict[str, Any]], now: Any) -> dict[str, int]:
    """Queue rows from ``reply_rows`` in one statement; return the new rows' ids by dedupe key.

    On a channel without buttons, the numbered choices of a new row become the account's menu.
    """
    if not rows:
        return {}
    new = await uow.outbox.add_many_keyed(rows, now)
    for row in rows:
        if row["menu"] is not None and row["identity_id"] is not None and row["dedupe_key"] in new:
            await uow.people.set_menu(row["identity_id"], row["menu"], now)
    return new


async def queue_to_person(
    uow: UnitOfWork, person: Person, reply: Reply, *, dedupe: str, kind: str, now: datetime
) -> bool:
    """Queue one message for a person on their preferred channel; False if unreachable or queued before."""
    ident = await uow.people.delivery_identity(person) if person.active else None
    if ident is None:
        return False
    row_id = await uow.outbox.add(
        dedupe_key=dedupe, channel=ident.channel, chat_id=ident.chat_id, identity_id=ident.id,
        person_id=person.id, payload=reply_payload(reply, reply.edit_message_id), priority=reply.priority,
        kind=kind, at=now,
    )
    if row_id is not None and ident.channel in BUTTONLESS and reply.buttons:
        await uow.people.set_menu(ident.id, [b.payload for row in reply.buttons for b in row], now)
    return row_id is not None


async def _target(
    uow: UnitOfWork, msg: Incoming, reply: Reply, sender: Identity | None
) -> tuple[str, str, int | None, int | None] | None:
    if reply.to_person_id is None:
        ident = sender or await uow.people.identity(msg.channel, msg.external_user_id)
        return msg.channel, msg.chat_id, ident.id if ident else None, ident.person_id if ident else None
    person = await uow.people.get(reply.to_person_id)
    ident = await uow.people.delivery_identity(person, reply.via) if person and person.active else None
    if ident is None:
        return None
    return ident.channel, ident.chat_id, ident.id, person.id if person else None
