"""The guided periodic report: three topics, proposals, a summary to confirm, then submit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot import texts
from bot.periods import Period, is_late
from handlers.alerts import snippet
from handlers.context import Ctx
from handlers.registry import ALL_ROLES, button, command, flow
from handlers.types import Button, Reply, Result

STEPS = ("nhan_dan", "dan_toc", "ton_giao", "kien_nghi")
PART_CODES = {"n": "nhan_dan", "d": "dan_toc", "t": "ton_giao", "k": "kien_nghi"}
CODE_OF = {v: k for k, v in PART_CODES.items()}
LATE_WINDOW = timedelta(days=30)
MAX_ANSWER = 3000


def _deadline(period: Period) -> str:
    return (period.deadline - timedelta(microseconds=1)).strftime("%d/%m/%Y")


async def target_period(ctx: Ctx) -> Period:
    """Return the period a reporter is reporting for: the previous one if still missing, else the current."""
    cal = ctx.services.calendar
    current = cal.period_containing(ctx.now)
    previous = cal.previous(current)
    assert ctx.person is not None and ctx.person.unit_id is not None
    if ctx.now < previous.deadline + LATE_WINDOW and await ctx.uow.periodic.current(previous.key, ctx.person.unit_id) is None:
        return previous
    return current


def _question(step: str) -> Reply:
    label = texts.BUTTON_NO_PROPOSAL if step == "kien_nghi" else texts.BUTTON_STABLE
    return Reply(texts.PERIODIC_QUESTIONS[step] + "\n" + texts.TYPE_OR_TAP, buttons=[[Button(label, "pr:s")]])


async def _start(ctx: Ctx, period: Period) -> Result:
    assert ctx.person is not None
    state = await ctx.uow.states.get(ctx.person.id)
    if state is not None and state.flow == "periodic" and state.data.get("period") == period.key:
        data = dict(state.data)
        intro = texts.periodic_intro(period.label, _deadline(period), resumed=True)
        return Result([Reply(intro), await _current_step_reply(ctx, data, period)])
    data = {"period": period.key, "step": STEPS[0], "answers": {}, "editing": False}
    await ctx.uow.states.set(ctx.person.id, "periodic", STEPS[0], data, ctx.now)
    intro = texts.periodic_intro(period.label, _deadline(period), resumed=False)
    return Result([Reply(intro), _question(STEPS[0])])


@command("baocao", roles=ALL_ROLES)
async def handle_start(ctx: Ctx) -> Result:
    """Start or resume the guided periodic report (`/baocao huy` stops it)."""
    assert ctx.person is not None
    if ctx.person.unit_id is None:
        return Result([Reply(texts.PERIODIC_NO_UNIT)])
    if ctx.msg.args.strip().lower() in ("huy", "hủy", "dung", "dừng"):
        await ctx.uow.states.clear(ctx.person.id)
        return Result([Reply(texts.PERIODIC_CANCELLED)])
    return await _start(ctx, await target_period(ctx))


async def _current_step_reply(ctx: Ctx, data: dict[str, Any], period: Period) -> Reply:
    step = data["step"]
    if step == "review":
        return await _summary(ctx, data, period)
    return _question(step)


async def _summary(ctx: Ctx, data: dict[str, Any], period: Period, *, edit: bool = False) -> Reply:
    assert ctx.person is not None and ctx.person.unit_id is not None
    unit = await ctx.uow.units.get(ctx.person.unit_id)
    adhoc = [
        f"#{r.id} {r.created_at.astimezone(ctx.services.settings.tz).strftime('%d/%m')} {snippet(r.text)}"
        for r in await ctx.uow.reports.in_unit_period(ctx.person.unit_id, period.key)
    ]
    text = texts.periodic_summary(period.label, unit.name if unit else "", data["answers"], adhoc, is_late(ctx.now, period))
    buttons = [
        [Button(texts.BUTTON_SUBMIT, "pr:ok")],
        [Button(texts.edit_button(part), f"pr:e:{CODE_OF[part]}") for part in STEPS[:2]],
        [Button(texts.edit_button(part), f"pr:e:{CODE_OF[part]}") for part in STEPS[2:]],
        [Button(texts.BUTTON_CANCEL, "pr:c")],
    ]
    return Reply(text, buttons=buttons, edit=edit)


async def _answer(ctx: Ctx, value: str | None) -> Result:
    """Record the answer of the current step and move to the next step (or back to the summary)."""
    assert ctx.person is not None
    state = await ctx.uow.states.get(ctx.person.id)
    if state is None or state.flow != "periodic" or state.data.get("step") == "review":
        return Result(toast=texts.EXPIRED_BUTTON)
    data = dict(state.data)
    period = ctx.services.calendar.period(data["period"])
    answers = dict(data["answers"])
    answers[data["step"]] = value[:MAX_ANSWER] if value else None
    data["answers"] = answers
    if data.get("editing") or data["step"] == STEPS[-1]:
        nxt = "review"
    else:
        nxt = STEPS[STEPS.index(data["step"]) + 1]
    data["step"], data["editing"] = nxt, False
    await ctx.uow.states.set(ctx.person.id, "periodic", nxt, data, ctx.now)
    return Result([await _current_step_reply(ctx, data, period)])


@flow("periodic")
async def handle_text(ctx: Ctx) -> Result:
    """Take a typed answer for the current part of the periodic report."""
    text = (ctx.msg.text or "").strip()
    if not text:
        return Result([Reply(texts.TYPE_OR_TAP)])
    return await _answer(ctx, text)


@button("pr")
async def handle_button(ctx: Ctx) -> Result:
    """Handle the periodic report's buttons: start, stable, edit a part, submit, cancel."""
    assert ctx.person is not None
    parts = (ctx.msg.payload or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action == "start":
        return await _start_from_prompt(ctx, parts[2] if len(parts) > 2 else "")
    if action == "s":
        return await _answer(ctx, None)
    state = await ctx.uow.states.get(ctx.person.id)
    if state is None or state.flow != "periodic":
        return Result(toast=texts.EXPIRED_BUTTON)
    data = dict(state.data)
    period = ctx.services.calendar.period(data["period"])
    if action == "c":
        await ctx.uow.states.clear(ctx.person.id)
        return Result([Reply(texts.PERIODIC_CANCELLED, edit=True)])
    if action == "e" and len(parts) > 2 and parts[2] in PART_CODES:
        data["step"], data["editing"] = PART_CODES[parts[2]], True
        await ctx.uow.states.set(ctx.person.id, "periodic", data["step"], data, ctx.now)
        return Result([_question(data["step"])])
    if action == "ok" and data.get("step") == "review":
        return await _submit(ctx, data, period)
    return Result(toast=texts.EXPIRED_BUTTON)


async def _start_from_prompt(ctx: Ctx, key: str) -> Result:
    assert ctx.person is not None
    if ctx.person.unit_id is None:
        return Result([Reply(texts.PERIODIC_NO_UNIT)])
    try:
        period = ctx.services.calendar.period(key)
    except ValueError:
        return Result(toast=texts.EXPIRED_BUTTON)
    if ctx.now >= period.deadline + LATE_WINDOW:
        return Result([Reply(texts.PERIODIC_STALE)])
    return await _start(ctx, period)


async def _submit(ctx: Ctx, data: dict[str, Any], period: Period) -> Result:
    assert ctx.person is not None and ctx.person.unit_id is not None
    before = await ctx.uow.periodic.current(period.key, ctx.person.unit_id)
    late = is_late(ctx.now, period)
    await ctx.uow.periodic.submit(
        unit_id=ctx.person.unit_id, period_key=period.key, person_id=ctx.person.id,
        answers={part: data["answers"].get(part) for part in STEPS}, at=ctx.now, late=late,
    )
    await ctx.uow.states.clear(ctx.person.id)
    return Result([Reply(texts.periodic_submitted(period.label, late, before is not None), edit=True)])
