"""Notices as admins and officers write them (/thongbao), as staff acknowledge them, and /thongbao_ketqua."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot import notices, texts
from bot.notices import Audience, OutOfScope
from bot.roles import ROLES
from handlers import reports
from handlers.alerts import local_time, snippet
from handlers.context import Ctx
from handlers.registry import STAFF, button, command, flow
from handlers.types import BUTTONLESS, CHANNELS, Button, Reply, Result
from storage.models import Notice

FLOW = "notice"
FLOW_TTL = timedelta(hours=2)
REMIND_HOURS = 24
MAX_UNIT_BUTTONS = 12
CANCEL_ROW = [Button(texts.BUTTON_NOTICE_CANCEL, "nt:x")]


def _audience_buttons() -> list[list[Button]]:
    return [
        [Button(texts.BUTTON_AUDIENCE_ALL, "nt:a:all"), Button(texts.BUTTON_AUDIENCE_UNIT, "nt:a:unit")],
        [Button(texts.BUTTON_AUDIENCE_ROLE, "nt:a:role"), Button(texts.BUTTON_AUDIENCE_CHANNEL, "nt:a:chan")],
        CANCEL_ROW,
    ]


async def _scope_name(ctx: Ctx) -> str | None:
    assert ctx.person is not None
    scope = await notices.scope_of(ctx.uow, ctx.person)
    return scope.root.name if scope is not None and scope.root is not None else None


@command("thongbao", roles=STAFF)
async def handle_start(ctx: Ctx) -> Result:
    """Start writing a notice; the text may follow the command directly."""
    assert ctx.person is not None
    if await notices.scope_of(ctx.uow, ctx.person) is None:
        return Result([Reply(texts.NOTICE_NO_SCOPE)])
    await ctx.uow.states.set(ctx.person.id, FLOW, "text", {}, ctx.now)
    if ctx.msg.args:
        return await _take_text(ctx, ctx.msg.args, None)
    return Result([Reply(texts.NOTICE_ASK_TEXT, buttons=[CANCEL_ROW])])


@flow(FLOW)
async def handle_input(ctx: Ctx) -> Result:
    """Take the notice text (with an optional photo or file), or a typed unit code."""
    assert ctx.person is not None
    state = await ctx.uow.states.get(ctx.person.id)
    if state is None or ctx.now - state.updated_at > FLOW_TTL:
        # A notice left half-written long ago: the message is an ordinary report now.
        await ctx.uow.states.clear(ctx.person.id)
        return await reports.handle_message(ctx)
    step = state.step
    if step == "text":
        attachment = _attachment(ctx)
        if attachment == "bad":
            return Result([Reply(texts.NOTICE_BAD_ATTACHMENT)])
        return await _take_text(ctx, (ctx.msg.text or "").strip(), attachment)  # type: ignore[arg-type]
    if step == "unit":
        return await _take_unit_code(ctx, (ctx.msg.text or "").strip())
    return Result([Reply(texts.NOTICE_USE_BUTTONS)])


def _attachment(ctx: Ctx) -> dict[str, Any] | str | None:
    files = [a for a in ctx.msg.attachments if a.kind in ("photo", "document")]
    if len(ctx.msg.attachments) > 1 or (ctx.msg.attachments and not files):
        return "bad"
    if not files:
        return None
    a = files[0]
    return {"kind": a.kind, "file_id": a.file_id, "url": a.url, "name": a.name}


async def _take_text(ctx: Ctx, text: str, attachment: dict[str, Any] | None) -> Result:
    assert ctx.person is not None
    if not text:
        return Result([Reply(texts.NOTICE_EMPTY)])
    if len(text) > notices.MAX_TEXT:
        return Result([Reply(texts.notice_text_too_long(notices.MAX_TEXT))])
    data = {"text": text, "attachment": attachment}
    await ctx.uow.states.set(ctx.person.id, FLOW, "audience", data, ctx.now)
    return Result([Reply(texts.notice_ask_audience(await _scope_name(ctx)), buttons=_audience_buttons())])


async def _take_unit_code(ctx: Ctx, raw: str) -> Result:
    assert ctx.person is not None
    scope = await notices.scope_of(ctx.uow, ctx.person)
    unit = await ctx.uow.units.by_code(raw.split()[0].upper()) if raw else None
    if unit is None and raw:
        unit = await ctx.uow.units.by_code(raw.split()[0])
    if unit is None or scope is None or (scope.root is not None and not ctx.uow.units.contains(scope.root, unit)):
        return Result([Reply(texts.notice_unknown_unit(raw))])
    return await _preview(ctx, Audience("unit", unit_id=unit.id))


@button("nt")
async def handle_button(ctx: Ctx) -> Result:
    """Choose the audience, confirm, or cancel a notice being written."""
    assert ctx.person is not None
    parts = (ctx.msg.payload or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    if ctx.role not in STAFF:
        return Result(toast=texts.EXPIRED_BUTTON)
    if action == "x":
        return await _cancel(ctx, parts)
    if action == "ok" and len(parts) == 4 and parts[2].isdigit() and parts[3].isdigit():
        return await _confirm(ctx, int(parts[2]), int(parts[3]))
    state = await ctx.uow.states.get(ctx.person.id)
    if state is None or state.flow != FLOW or not state.data.get("text"):
        return Result(toast=texts.EXPIRED_BUTTON)
    arg = parts[2] if len(parts) > 2 else ""
    if action == "a":
        return await _choose_kind(ctx, arg, state.data)
    if action == "u" and arg.isdigit():
        return await _preview(ctx, Audience("unit", unit_id=int(arg)))
    if action == "r" and arg in ROLES:
        return await _preview(ctx, Audience("role", role=arg))
    if action == "c" and arg in CHANNELS:
        return await _preview(ctx, Audience("channel", channel=arg))
    return Result(toast=texts.EXPIRED_BUTTON)


async def _choose_kind(ctx: Ctx, kind: str, data: dict[str, Any]) -> Result:
    assert ctx.person is not None
    if kind == "all":
        return await _preview(ctx, Audience("all"))
    if kind == "role":
        rows = [[Button(texts.role_label(r), f"nt:r:{r}")] for r in ROLES]
        return Result([Reply(texts.NOTICE_ASK_ROLE, buttons=[*rows, CANCEL_ROW], edit=True)])
    if kind == "chan":
        rows = [[Button(texts.CHANNEL_LABELS[c], f"nt:c:{c}") for c in CHANNELS]]
        return Result([Reply(texts.NOTICE_ASK_CHANNEL, buttons=[*rows, CANCEL_ROW], edit=True)])
    if kind == "unit":
        await ctx.uow.states.set(ctx.person.id, FLOW, "unit", data, ctx.now)
        scope = await notices.scope_of(ctx.uow, ctx.person)
        root = scope.root if scope is not None else None
        children = list(await ctx.uow.units.children(root))[:MAX_UNIT_BUTTONS]
        rows = [[Button(u.name, f"nt:u:{u.id}")] for u in ([root] if root else []) + children]
        example = children[0].code if children else (root.code if root else None)
        return Result([Reply(texts.notice_ask_unit(example), buttons=[*rows, CANCEL_ROW], edit=True)])
    return Result(toast=texts.EXPIRED_BUTTON)


async def _preview(ctx: Ctx, audience: Audience) -> Result:
    """Create the draft, show it with the number of recipients and the send buttons."""
    assert ctx.person is not None
    state = await ctx.uow.states.get(ctx.person.id)
    if state is None or state.flow != FLOW:
        return Result(toast=texts.EXPIRED_BUTTON)
    data = dict(state.data)
    try:
        notice, count = await notices.create_draft(ctx.uow, ctx.person, data["text"], data.get("attachment"),
                                                   audience, ctx.now)
    except OutOfScope:
        return Result([Reply(texts.NOTICE_OUT_OF_SCOPE)])
    label = await notices.describe(ctx.uow, ctx.person, audience)
    edit = ctx.msg.payload is not None
    if count == 0:
        await ctx.uow.states.set(ctx.person.id, FLOW, "audience", data, ctx.now)
        return Result([Reply(texts.notice_no_recipients(label), buttons=_audience_buttons(), edit=edit)])
    await ctx.uow.states.set(ctx.person.id, FLOW, "preview", {**data, "notice_id": notice.id}, ctx.now)
    attachment = notices.attachment_name(notice.attachment) if notice.attachment else None
    buttons = [
        [Button(texts.BUTTON_SEND, f"nt:ok:{notice.id}:0")],
        [Button(texts.button_send_remind(REMIND_HOURS), f"nt:ok:{notice.id}:{REMIND_HOURS}")],
        [Button(texts.BUTTON_NOTICE_CANCEL, f"nt:x:{notice.id}")],
    ]
    text = texts.notice_preview(notice.text, attachment, label, count, REMIND_HOURS)
    return Result([Reply(text, buttons=buttons, edit=edit)])


async def _confirm(ctx: Ctx, notice_id: int, remind_hours: int) -> Result:
    """Queue the notice for every recipient and turn the preview into the progress message."""
    assert ctx.person is not None
    notice = await notices.repo(ctx.uow).get(notice_id)
    if notice is None or notice.author_id != ctx.person.id:
        return Result(toast=texts.NOTICE_NOT_FOUND)
    msg = ctx.msg
    progress = (msg.channel, msg.chat_id, msg.message_id if msg.channel not in BUTTONLESS else None)
    try:
        total = await notices.start_sending(
            ctx.uow, notice, ctx.person, ctx.now, progress=progress,  # type: ignore[arg-type]
            remind_after_hours=remind_hours or None, actor=ctx.actor,
        )
    except OutOfScope:
        return Result([Reply(texts.NOTICE_OUT_OF_SCOPE)])
    if total is None:
        return Result(toast=texts.NOTICE_ALREADY_SENT)
    await ctx.uow.states.clear(ctx.person.id)
    if total == 0:
        await notices.update_progress(ctx.uow, notice.id, ctx.now)
        return Result([Reply(texts.notice_progress_done(0, 0, 0), edit=True)])
    return Result([Reply(texts.notice_progress(0, total, 0), edit=True)])


async def _cancel(ctx: Ctx, parts: list[str]) -> Result:
    assert ctx.person is not None
    if len(parts) > 2 and parts[2].isdigit():
        await notices.cancel(ctx.uow, int(parts[2]), ctx.person, ctx.now)
    state = await ctx.uow.states.get(ctx.person.id)
    if state is not None and state.flow == FLOW:
        await ctx.uow.states.clear(ctx.person.id)
    return Result([Reply(texts.NOTICE_CANCELLED, edit=True)])


@button("nack")
async def handle_ack(ctx: Ctx) -> Result:
    """Record that a recipient pressed "Đã nhận" (or answered its number on Zalo)."""
    assert ctx.person is not None
    raw = (ctx.msg.payload or "").split(":")[-1]
    notice = await notices.repo(ctx.uow).get(int(raw)) if raw.isdigit() else None
    if notice is None:
        return Result(toast=texts.NOTICE_NOT_FOUND)
    outcome = await notices.acknowledge(ctx.uow, notice.id, ctx.person.id, ctx.now)
    if outcome == "unknown":
        return Result(toast=texts.NOTICE_NOT_FOUND)
    if outcome == "again":
        return Result([Reply(texts.NOTICE_ACK_AGAIN)] if ctx.msg.channel in BUTTONLESS else [],
                      toast=texts.NOTICE_ACK_AGAIN)
    if ctx.msg.channel in BUTTONLESS:
        return Result([Reply(texts.NOTICE_ACK_THANKS)])
    author = await ctx.uow.people.get(notice.author_id)
    text = texts.notice_message(notice.id, author.name if author else "?", author.role if author else "", notice.text)
    text += texts.notice_acked_line(local_time(ctx, ctx.now))
    return Result([Reply(text, edit=True)], toast=texts.NOTICE_ACK_TOAST)


@command("thongbao_ketqua", roles=STAFF)
async def handle_results(ctx: Ctx) -> Result:
    """Show delivery and acknowledgements of a notice, or list recent notices."""
    assert ctx.person is not None
    arg = ctx.msg.args.split()[0].lstrip("#") if ctx.msg.args else ""
    if not arg:
        return await _recent(ctx)
    notice = await notices.repo(ctx.uow).get(int(arg)) if arg.isdigit() else None
    if notice is None or notice.status not in ("sending", "done") or not _may_see(ctx, notice):
        return Result([Reply(texts.NOTICE_NOT_FOUND if arg.isdigit() else texts.KETQUA_USAGE)])
    res = await notices.results(ctx.uow, notice)
    author = await ctx.uow.people.get(notice.author_id)
    names = [f"{u.name}" + (f" – {p.name}" if (p := await _parent(ctx, u)) else "") for u in res.silent_units]
    shown = names[:20]
    due = notices.reminder_due_at(notice)
    reminder = texts.reminder_status(
        notice.remind_after_hours, local_time(ctx, due) if due else None,
        local_time(ctx, notice.reminded_at) if notice.reminded_at else None,
    )
    p = res.progress
    text = texts.notice_results(
        notice.id, local_time(ctx, notice.sent_at or notice.created_at), author.name if author else "?",
        await notices.describe(ctx.uow, author, Audience.from_json(notice.audience)), snippet(notice.text),
        p.total, p.sent, p.waiting, p.failed, res.acked, shown, len(names) - len(shown), reminder,
    )
    return Result([Reply(text)])


def _may_see(ctx: Ctx, notice: Notice) -> bool:
    return ctx.role == "admin" or (ctx.person is not None and notice.author_id == ctx.person.id)


async def _parent(ctx: Ctx, unit: Any) -> Any:
    return await ctx.uow.units.get(unit.parent_id) if unit.parent_id else None


async def _recent(ctx: Ctx) -> Result:
    assert ctx.person is not None
    r = notices.repo(ctx.uow)
    rows = await r.recent(None if ctx.role == "admin" else ctx.person.id)
    if not rows:
        return Result([Reply(texts.NO_NOTICES)])
    lines = []
    for n in rows:
        counts = await r.status_counts(n)
        lines.append(texts.notice_list_line(
            n.id, local_time(ctx, n.sent_at or n.created_at), snippet(n.text), counts.get("sent", 0), n.total,
            await r.ack_count(n.id),
        ))
    return Result([Reply(texts.notice_list(lines))])
