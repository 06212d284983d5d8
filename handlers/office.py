"""The office side of reports: acknowledging alerts, browsing, retagging, status and replies."""

from __future__ import annotations

from bot import texts
from bot.textnorm import fold
from handlers.alerts import local_time, snippet, topics_of
from handlers.context import Ctx
from handlers.registry import STAFF, button, command, flow
from handlers.reports import CODE_OF, TOPIC_CODES, _set_label, reasons_of
from handlers.types import Button, Reply, Result
from storage.models import Report, Unit
from storage.repos.reports import TOPIC_COLUMNS

STATUSES = ("new", "acknowledged", "in_progress", "resolved")
TOPIC_WORDS = {
    "dantoc": "dan_toc", "dt": "dan_toc", "tongiao": "ton_giao", "tg": "ton_giao",
    "nhandan": "nhan_dan", "nd": "nhan_dan", "dan": "nhan_dan",
}


async def _own_unit(ctx: Ctx) -> Unit | None:
    return await ctx.uow.units.get(ctx.person.unit_id) if ctx.person and ctx.person.unit_id else None


async def report_in_scope(ctx: Ctx, report_id: int) -> tuple[Report, Unit] | None:
    """Return the report and its unit if it lies in the officer's subtree (admins without a unit see all)."""
    report = await ctx.uow.reports.get(report_id)
    if report is None or report.state not in ("filed", "withdrawn"):
        return None
    unit = await ctx.uow.units.get(report.unit_id)
    own = await _own_unit(ctx)
    if unit is None:
        return None
    if own is None and not (ctx.person and ctx.person.role == "admin"):
        return None
    if own is not None and not ctx.uow.units.contains(own, unit):
        return None
    return report, unit


def _number(raw: str) -> int | None:
    raw = raw.strip().lstrip("#")
    return int(raw) if raw.isdigit() else None


@command("xem", roles=STAFF)
async def handle_list(ctx: Ctx) -> Result:
    """List recent reports of the officer's subtree, filterable by topic and urgency."""
    topic, urgent = None, None
    for word in ctx.msg.args.split():
        key = fold(word).replace("_", "")
        if key in ("khan", "urgent"):
            urgent = True
        elif key in TOPIC_WORDS:
            topic = TOPIC_WORDS[key]
    own = await _own_unit(ctx)
    path = own.path if own else "/"
    rows = await ctx.uow.reports.in_subtree(path, topic=topic, urgent=urgent, limit=10)
    if not rows:
        return Result([Reply(texts.NO_REPORTS)])
    lines = [
        texts.report_line(
            r.id, local_time(ctx, r.created_at), topics_of(r), r.urgent,
            texts.STATUS_LABELS.get(r.status, r.status), snippet(r.text), unit=u.name,
        )
        for r, u in rows
    ]
    return Result([Reply(texts.recent_reports(lines))])


async def detail_reply(ctx: Ctx, report: Report, unit: Unit, *, edit: bool = False) -> Reply:
    author = await ctx.uow.people.get(report.person_id)
    # The creation is the report itself; later events come from the history table.
    history = [f"{local_time(ctx, report.created_at)} {texts.HISTORY_LABELS['created']}" + (f" – {author.name}" if author else "")]
    for ev in await ctx.uow.reports.events(report.id):
        who = await ctx.uow.people.get(ev.actor_id) if ev.actor_id else None
        label = texts.HISTORY_LABELS.get(ev.action, ev.action)
        history.append(f"{local_time(ctx, ev.at)} {label}" + (f" – {who.name}" if who else ""))
    status = texts.STATE_LABELS.get(report.state) or texts.STATUS_LABELS.get(report.status, report.status)
    topics = [(t, (report.tag_meta or {}).get(t, {}).get("source", "auto")) for t in topics_of(report)]
    text = texts.report_detail(
        report.id, await ctx.uow.units.path_names(unit), author.name if author else "?",
        local_time(ctx, report.created_at), report.text, topics, report.urgent, status, reasons_of(report),
        history[-8:],
    )
    return Reply(text, buttons=_detail_buttons(report) if report.state == "filed" else None, edit=edit)


def _detail_buttons(report: Report) -> list[list[Button]]:
    topics = [Button(texts.topic_button(t, getattr(report, t)), f"of:t:{report.id}:{CODE_OF[t]}") for t in TOPIC_COLUMNS]
    urgent = Button(texts.BUTTON_URGENT_OFF if report.urgent else texts.BUTTON_URGENT_ON, f"of:u:{report.id}")
    status = [
        Button(texts.BUTTON_ACK, f"ack:{report.id}"),
        Button(texts.BUTTON_IN_PROGRESS, f"of:s:{report.id}:p"),
        Button(texts.BUTTON_RESOLVED, f"of:s:{report.id}:r"),
    ]
    return [topics, [urgent, Button(texts.BUTTON_REPLY, f"of:r:{report.id}")], status]


@command("bc", roles=STAFF)
async def handle_show(ctx: Ctx) -> Result:
    """Show one report with its tags, reasons and history."""
    number = _number(ctx.msg.args.split()[0]) if ctx.msg.args else None
    if number is None:
        return Result([Reply(texts.BC_USAGE)])
    found = await report_in_scope(ctx, number)
    if found is None:
        return Result([Reply(texts.REPORT_NOT_FOUND)])
    return Result([await detail_reply(ctx, *found)])


@button("bc")
async def handle_show_button(ctx: Ctx) -> Result:
    number = _number((ctx.msg.payload or "").split(":")[-1])
    found = await report_in_scope(ctx, number) if number else None
    if found is None or ctx.role not in STAFF:
        return Result(toast=texts.REPORT_NOT_FOUND)
    return Result([await detail_reply(ctx, *found)])


@button("ack")
async def handle_ack(ctx: Ctx) -> Result:
    """Record that an officer has taken note of a report; tell the other officers and the reporter."""
    number = _number((ctx.msg.payload or "").split(":")[-1])
    found = await report_in_scope(ctx, number) if number and ctx.role in STAFF else None
    if found is None:
        return Result(toast=texts.REPORT_NOT_FOUND)
    report, _unit = found
    assert ctx.person is not None
    if report.acknowledged_by is not None:
        who = await ctx.uow.people.get(report.acknowledged_by)
        return Result(toast=texts.already_acknowledged(who.name if who else "?"))
    report.acknowledged_by, report.acknowledged_at = ctx.person.id, ctx.now
    if report.status == "new":
        report.status = "acknowledged"
    await ctx.uow.reports.add_event(report.id, "ack", ctx.now, ctx.person.id)
    note = texts.acknowledged_note(ctx.person.name, local_time(ctx, ctx.now))
    replies = await _refresh_alerts(ctx, report, note)
    replies.append(Reply(texts.reporter_acknowledged(report.id, ctx.person.name), to_person_id=report.person_id,
                         via=report.channel, dedupe=f"ack-note:{report.id}"))
    return Result(replies, toast=texts.ACK_RECORDED)


async def _refresh_alerts(ctx: Ctx, report: Report, note: str) -> list[Reply]:
    """Edit every officer's alert of this report to show who acknowledged it."""
    replies = []
    for row in await ctx.uow.outbox.by_prefix(f"alert:{report.id}:"):
        if row.person_id is None:
            continue
        text = row.payload.get("text", "") + note
        if row.message_id and row.channel == ctx.msg.channel and row.chat_id == ctx.msg.chat_id:
            replies.append(Reply(text, edit=True))
        else:
            replies.append(Reply(text, to_person_id=row.person_id, edit_message_id=row.message_id,
                                 dedupe=f"alert-ack:{report.id}:{row.person_id}"))
    return replies


@button("of")
async def handle_office_button(ctx: Ctx) -> Result:
    """Retag, change urgency or status, or start a reply, from a report's detail view."""
    parts = (ctx.msg.payload or "").split(":")
    number = _number(parts[2]) if len(parts) >= 3 else None
    found = await report_in_scope(ctx, number) if number and ctx.role in STAFF else None
    if found is None or found[0].state != "filed":
        return Result(toast=texts.REPORT_NOT_FOUND)
    report, unit = found
    assert ctx.person is not None
    action, arg = parts[1], parts[3] if len(parts) > 3 else ""
    extra: list[Reply] = []
    if action == "t" and arg in TOPIC_CODES:
        _set_label(report, TOPIC_CODES[arg], not getattr(report, TOPIC_CODES[arg]), "officer")
        await _audit(ctx, report, "retag", {"topic": TOPIC_CODES[arg], "value": getattr(report, TOPIC_CODES[arg])})
    elif action == "u":
        _set_label(report, "urgent", not report.urgent, "officer")
        await _audit(ctx, report, "urgent", {"value": report.urgent})
    elif action == "s" and arg in ("p", "r"):
        report.status = "in_progress" if arg == "p" else "resolved"
        await ctx.uow.reports.add_event(report.id, "status", ctx.now, ctx.person.id, {"status": report.status})
        extra.append(Reply(texts.status_changed(report.id, report.status), to_person_id=report.person_id,
                           via=report.channel, dedupe=f"status:{report.id}:{report.status}"))
    elif action == "r":
        await ctx.uow.states.set(ctx.person.id, "reply", "text", {"report_id": report.id}, ctx.now)
        return Result([Reply(texts.ASK_REPLY_TEXT)])
    else:
        return Result(toast=texts.EXPIRED_BUTTON)
    report.updated_at = ctx.now
    return Result([await detail_reply(ctx, report, unit, edit=True), *extra])


async def _audit(ctx: Ctx, report: Report, action: str, details: dict[str, object]) -> None:
    assert ctx.person is not None
    await ctx.uow.reports.add_event(report.id, action, ctx.now, ctx.person.id, details)
    await ctx.uow.audit.add(f"report.{action}", actor=ctx.actor, actor_id=ctx.person.id, at=ctx.now,
                            target=f"report:{report.id}", details=details)


async def _send_reply(ctx: Ctx, report_id: int, text: str) -> Result:
    found = await report_in_scope(ctx, report_id)
    if found is None:
        return Result([Reply(texts.REPORT_NOT_FOUND)])
    report, _ = found
    assert ctx.person is not None
    await ctx.uow.reports.add_event(report.id, "reply", ctx.now, ctx.person.id, {"length": len(text)})
    return Result([
        Reply(texts.officer_reply(report.id, ctx.person.name, text), to_person_id=report.person_id, via=report.channel),
        Reply(texts.reply_sent(report.id)),
    ])


@command("traloi", roles=STAFF)
async def handle_reply_command(ctx: Ctx) -> Result:
    parts = ctx.msg.args.split(maxsplit=1)
    number = _number(parts[0]) if parts else None
    if number is None or len(parts) < 2 or not parts[1].strip():
        return Result([Reply(texts.TRALOI_USAGE)])
    return await _send_reply(ctx, number, parts[1].strip())


@flow("reply")
async def handle_reply_text(ctx: Ctx) -> Result:
    assert ctx.person is not None
    state = await ctx.uow.states.get(ctx.person.id)
    await ctx.uow.states.clear(ctx.person.id)
    text = (ctx.msg.text or "").strip()
    if state is None or not text:
        return Result([Reply(texts.TRALOI_USAGE)])
    return await _send_reply(ctx, int(state.data["report_id"]), text)
