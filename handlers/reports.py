"""Situation reports as a reporter sees them: filing, the receipt, corrections, /cuatoi, /sua, /huy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot import texts
from bot.tagging import TagResult
from handlers.alerts import alert_replies, local_time, snippet, topics_of
from handlers.context import Ctx
from handlers.registry import ALL_ROLES, button, command, flow
from handlers.types import Button, Incoming, Reply, Result
from storage.models import Report
from storage.repos.reports import TOPIC_COLUMNS

MAX_TEXT = 4096
EDIT_WINDOW = timedelta(hours=24)
TOPIC_CODES = {"d": "dan_toc", "t": "ton_giao", "n": "nhan_dan"}
CODE_OF = {v: k for k, v in TOPIC_CODES.items()}


def tag_fields(result: TagResult, meta_before: dict[str, Any] | None = None, *, keep_manual: bool = False) -> dict[str, Any]:
    """Return the report columns for a tagging result: the labels and ``tag_meta`` with the cues.

    With ``keep_manual``, labels set by the reporter or an officer (in ``meta_before``) stay.
    """
    meta: dict[str, Any] = dict(meta_before or {})
    fields: dict[str, Any] = {}
    for label in (*TOPIC_COLUMNS, "urgent"):
        if keep_manual and meta.get(label, {}).get("source") in ("reporter", "officer"):
            continue
        found = label in result.topics if label != "urgent" else result.urgent
        cues = [c for c in result.cues if c.label == label]
        source = "hashtag" if any(c.term.startswith("#") for c in cues) else "auto"
        fields[label] = found
        meta[label] = {"source": source, "cues": [c.matched for c in cues]} if found else {"source": "auto", "cues": []}
    fields["tag_meta"] = meta
    return fields


def tag_report(ctx: Ctx, report: Report, *, keep_manual: bool, result: TagResult | None = None) -> list[str]:
    """Tag the report text (``result``: its tags, when known); manual corrections survive when
    ``keep_manual``. Return the reasons."""
    result = result or ctx.services.tagger.tag(report.text)
    for name, value in tag_fields(result, report.tag_meta, keep_manual=keep_manual).items():
        setattr(report, name, value)
    return list(result.reasons)


def receipt_buttons(report: Report) -> list[list[Button]]:
    row = [Button(texts.topic_button(t, getattr(report, t)), f"rp:t:{report.id}:{CODE_OF[t]}") for t in TOPIC_COLUMNS]
    urgent = Button(texts.BUTTON_URGENT_OFF if report.urgent else texts.BUTTON_URGENT_ON, f"rp:u:{report.id}")
    last = [urgent, Button(texts.BUTTON_NOT_REPORT, f"rp:x:{report.id}")]
    if report.state == "draft":
        last.insert(0, Button(texts.BUTTON_FILE, f"rp:f:{report.id}"))
    return [row, last]


def reasons_of(report: Report) -> list[str]:
    """Return short human-readable reasons from the stored cues and sources."""
    out = []
    for label in (*TOPIC_COLUMNS, "urgent"):
        info = (report.tag_meta or {}).get(label) or {}
        if label != "urgent" and not getattr(report, label):
            continue
        if label == "urgent" and not report.urgent:
            continue
        name = texts.TOPIC_SHORT.get(label, texts.URGENT_SHORT).lower()
        if info.get("source") in ("reporter", "officer"):
            out.append(texts.reason_chosen_by(name, info["source"]))
        elif info.get("cues"):
            out.append(f"{name}: " + ", ".join(f'"{c}"' for c in info["cues"][:3]))
    return out


async def receipt_reply(ctx: Ctx, report: Report, *, appended: bool = False, edit: bool = False) -> Reply:
    text = texts.receipt(report.id, topics_of(report), report.urgent, reasons_of(report), appended=appended,
                         alerted=report.urgent)
    return Reply(text, buttons=receipt_buttons(report), edit=edit)


def source_key(msg: Incoming) -> str:
    """Return the key that makes a report unique on its channel: the chat and the message."""
    return f"{msg.chat_id}:{msg.message_id or msg.update_key}"


async def _period_key(ctx: Ctx) -> str:
    calendar = ctx.services.calendar
    return calendar.period_containing(ctx.now).key if calendar else ""


async def _new_report(ctx: Ctx, text: str, state: str, tags: TagResult | None = None) -> Report:
    """Add a report of the sender's unit; ``tags``: its tagging result, when known."""
    assert ctx.person is not None and ctx.person.unit_id is not None
    msg = ctx.msg
    return await ctx.uow.reports.add(
        person_id=ctx.person.id, unit_id=ctx.person.unit_id, channel=msg.channel,
        source_key=source_key(msg), text=text,
        attachments=[{"kind": a.kind, "file_id": a.file_id, "url": a.url} for a in msg.attachments],
        location={"lat": msg.location.latitude, "lon": msg.location.longitude} if msg.location else None,
        created_at=ctx.now, updated_at=ctx.now, period_key=await _period_key(ctx), state=state,
        **(tag_fields(tags) if tags is not None else {"tag_meta": {}}),
    )


async def handle_message(ctx: Ctx) -> Result:
    """File an ordinary message from a registered person as a situation report (or ask about it)."""
    msg = ctx.msg
    assert ctx.person is not None
    if msg.unsupported:
        return Result([Reply(texts.UNSUPPORTED_CONTENT)])
    if any(a.kind == "sticker" for a in msg.attachments) and not msg.text:
        return Result([Reply(texts.STICKER_RECEIVED)])
    if ctx.person.unit_id is None:
        return Result([Reply(texts.MEDIA_NOT_READABLE)])
    text = (msg.text or "").strip()
    if len(text) > MAX_TEXT:
        return Result([Reply(texts.MESSAGE_TOO_LONG)])
    if await ctx.uow.reports.by_source(msg.channel, source_key(msg)):
        return Result()  # the same message again: already filed
    if not text:
        return await _media_without_text(ctx)
    return await _file_text(ctx, text)


async def _media_without_text(ctx: Ctx) -> Result:
    msg = ctx.msg
    if not msg.attachments and not msg.location:
        return Result([Reply(texts.EMPTY_MESSAGE)])
    report = await _new_report(ctx, "", "draft")
    assert ctx.person is not None
    await ctx.uow.states.set(ctx.person.id, "describe", "text", {"report_id": report.id}, ctx.now)
    kind = msg.attachments[0].kind if msg.attachments else "location"
    return Result([Reply(texts.ASK_DESCRIPTION.get(kind, texts.ASK_DESCRIPTION["other"]))])


async def _file_text(ctx: Ctx, text: str) -> Result:
    assert ctx.person is not None
    window = timedelta(seconds=ctx.services.settings.report_merge_seconds)
    if window:
        previous = await ctx.uow.reports.last_filed_by_person(ctx.person.id, ctx.now - window)
        if previous is not None and previous.status == "new":
            return await _append(ctx, previous, text)
    result = ctx.tag(text)
    if result.kind != "report":
        return await _ask_to_file(ctx, text, result)
    report = await _new_report(ctx, text, "filed", result)
    replies = [await receipt_reply(ctx, report)]
    if report.urgent:
        replies += await alert_replies(ctx, report)
    return Result(replies)


async def _append(ctx: Ctx, report: Report, text: str) -> Result:
    """Add a follow-up message sent right after a report to that report, and re-tag it."""
    was_urgent = report.urgent
    report.text = f"{report.text}\n{text}".strip()
    report.updated_at = ctx.now
    msg = ctx.msg
    report.attachments = list(report.attachments or []) + [
        {"kind": a.kind, "file_id": a.file_id, "url": a.url} for a in msg.attachments
    ]
    tag_report(ctx, report, keep_manual=True)
    await ctx.uow.reports.add_event(report.id, "append", ctx.now, report.person_id)
    replies = [await receipt_reply(ctx, report, appended=True)]
    if report.urgent and not was_urgent:
        replies += await alert_replies(ctx, report)
    return Result(replies)


async def _ask_to_file(ctx: Ctx, text: str, result: TagResult) -> Result:
    report = await _new_report(ctx, text, "draft", result)
    answer = _answer(ctx, result.intent)
    return Result([Reply(texts.ask_to_file(answer), buttons=receipt_buttons(report))])


def _answer(ctx: Ctx, intent: str | None) -> str | None:
    if intent == "deadline" and ctx.services.calendar is not None:
        period = ctx.services.calendar.current_reporting_period(ctx.now)
        last_day = (period.deadline - timedelta(microseconds=1)).strftime("%d/%m/%Y")
        return texts.answer_deadline(period.label, last_day)
    return {"help": texts.ANSWER_HELP, "thanks": texts.ANSWER_THANKS, "greeting": texts.ANSWER_GREETING}.get(
        intent or ""
    )


@flow("describe")
async def handle_description(ctx: Ctx) -> Result:
    """Take the line of description for a photo, voice message or location, then file the report."""
    assert ctx.person is not None
    state = await ctx.uow.states.get(ctx.person.id)
    report = await ctx.uow.reports.get(int(state.data["report_id"])) if state else None
    text = (ctx.msg.text or "").strip()
    if report is None or report.state != "draft":
        await ctx.uow.states.clear(ctx.person.id)
        return await handle_message(ctx)
    if not text:
        report.attachments = list(report.attachments or []) + [
            {"kind": a.kind, "file_id": a.file_id, "url": a.url} for a in ctx.msg.attachments
        ]
        return Result([Reply(texts.ASK_DESCRIPTION["other"])])
    await ctx.uow.states.clear(ctx.person.id)
    report.text, report.state, report.updated_at = text[:MAX_TEXT], "filed", ctx.now
    tag_report(ctx, report, keep_manual=False)
    await ctx.uow.reports.add_event(report.id, "describe", ctx.now, ctx.person.id)
    replies = [await receipt_reply(ctx, report)]
    if report.urgent:
        replies += await alert_replies(ctx, report)
    return Result(replies)


@button("rp")
async def handle_receipt_button(ctx: Ctx) -> Result:
    """Correct a report from its receipt: toggle a topic or urgency, file a draft, or discard it."""
    parts = (ctx.msg.payload or "").split(":")
    report = await ctx.uow.reports.get(int(parts[2])) if len(parts) >= 3 and parts[2].isdigit() else None
    assert ctx.person is not None
    if report is None or report.person_id != ctx.person.id or report.state not in ("filed", "draft"):
        return Result(toast=texts.EXPIRED_BUTTON)
    action = parts[1]
    if action == "x":
        report.state, report.withdrawn_at = "discarded", ctx.now
        await ctx.uow.reports.add_event(report.id, "discard", ctx.now, ctx.person.id)
        return Result([Reply(texts.DISCARDED, edit=True)])
    was_urgent, was_draft = report.urgent, report.state == "draft"
    if action == "t" and len(parts) == 4 and parts[3] in TOPIC_CODES:
        _set_label(report, TOPIC_CODES[parts[3]], not getattr(report, TOPIC_CODES[parts[3]]), "reporter")
        await ctx.uow.reports.add_event(report.id, "retag", ctx.now, ctx.person.id, {"topic": TOPIC_CODES[parts[3]]})
    elif action == "u":
        _set_label(report, "urgent", not report.urgent, "reporter")
        await ctx.uow.reports.add_event(report.id, "urgent", ctx.now, ctx.person.id, {"urgent": report.urgent})
    elif action != "f":
        return Result(toast=texts.EXPIRED_BUTTON)
    if was_draft:
        report.state = "filed"
        await ctx.uow.reports.add_event(report.id, "file", ctx.now, ctx.person.id)
    report.updated_at = ctx.now
    replies = [await receipt_reply(ctx, report, edit=True)]
    if report.urgent and (not was_urgent or was_draft):
        replies += await alert_replies(ctx, report)
    return Result(replies)


def _set_label(report: Report, label: str, value: bool, source: str) -> None:
    setattr(report, label, value)
    meta = dict(report.tag_meta or {})
    meta[label] = {"source": source, "cues": []}
    report.tag_meta = meta


@command("cuatoi", roles=ALL_ROLES)
async def handle_my_reports(ctx: Ctx) -> Result:
    """List the person's recent reports with their status."""
    assert ctx.person is not None
    reports = await ctx.uow.reports.recent_by_person(ctx.person.id, limit=10)
    if not reports:
        return Result([Reply(texts.NO_REPORTS)])
    lines = [
        texts.report_line(
            r.id, local_time(ctx, r.created_at), topics_of(r), r.urgent,
            texts.STATE_LABELS.get(r.state) or texts.STATUS_LABELS.get(r.status, r.status), snippet(r.text),
        )
        for r in reports
    ]
    return Result([Reply(texts.my_reports(lines))])


async def _own_recent(ctx: Ctx, raw: str) -> tuple[Report | None, str | None]:
    """Return the person's own report that is still editable, or the reason it is not."""
    assert ctx.person is not None
    number = raw.lstrip("#")
    report = await ctx.uow.reports.get(int(number)) if number.isdigit() else None
    if report is None or report.person_id != ctx.person.id:
        return None, texts.REPORT_NOT_OWN if report else texts.REPORT_NOT_FOUND
    if report.state != "filed":
        return None, texts.REPORT_NOT_ACTIVE
    if ctx.now - report.created_at > EDIT_WINDOW:
        return None, texts.REPORT_TOO_OLD
    return report, None


@command("sua", roles=ALL_ROLES)
async def handle_edit(ctx: Ctx) -> Result:
    """Replace the text of one's own report within 24 hours and tag it again."""
    parts = ctx.msg.args.split(maxsplit=1)
    if len(parts) < 2:
        return Result([Reply(texts.SUA_USAGE)])
    report, problem = await _own_recent(ctx, parts[0])
    if report is None:
        return Result([Reply(problem or texts.REPORT_NOT_FOUND)])
    was_urgent = report.urgent
    report.text, report.updated_at = parts[1].strip()[:MAX_TEXT], ctx.now
    tag_report(ctx, report, keep_manual=True)
    await ctx.uow.reports.add_event(report.id, "edit", ctx.now, report.person_id)
    await ctx.uow.audit.add("report.edit", actor=ctx.actor, actor_id=report.person_id, at=ctx.now,
                            target=f"report:{report.id}")
    replies = [Reply(texts.edited(report.id)), await receipt_reply(ctx, report)]
    if report.urgent and not was_urgent:
        replies += await alert_replies(ctx, report)
    return Result(replies)


@command("huy", roles=ALL_ROLES)
async def handle_withdraw(ctx: Ctx) -> Result:
    """Withdraw one's own report within 24 hours (kept, marked withdrawn, audited)."""
    if not ctx.msg.args:
        return Result([Reply(texts.HUY_USAGE)])
    report, problem = await _own_recent(ctx, ctx.msg.args.split()[0])
    if report is None:
        return Result([Reply(problem or texts.REPORT_NOT_FOUND)])
    report.state, report.withdrawn_at, report.updated_at = "withdrawn", ctx.now, ctx.now
    await ctx.uow.reports.add_event(report.id, "withdraw", ctx.now, report.person_id)
    await ctx.uow.audit.add("report.withdraw", actor=ctx.actor, actor_id=report.person_id, at=ctx.now,
                            target=f"report:{report.id}")
    return Result([Reply(texts.withdrawn(report.id))])
