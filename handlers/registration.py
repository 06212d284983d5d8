"""Registration with single-use invite codes, and what unregistered people are told."""

from __future__ import annotations

from datetime import timedelta

from bot import texts
from bot.invites import FAILURE_WINDOW, MAX_FAILURES, hash_code, normalise
from handlers.context import Ctx
from handlers.linking import redeem_link
from handlers.registry import button, flow
from handlers.types import Button, Reply, Result
from storage.models import Invite

UNREGISTERED_AUDIT_EVERY = timedelta(hours=1)


async def handle_unregistered(ctx: Ctx) -> Result:
    """Explain how to register; keep only a throttled audit line of the contact."""
    if ctx.msg.command in ("start", "dangky") and ctx.msg.args:
        return await handle_register(ctx, ctx.msg.args)
    if ctx.msg.command == "dangky":
        return Result([Reply(texts.INVITE_MISSING)])
    if ctx.msg.command == "lienket":
        since = ctx.now - FAILURE_WINDOW
        if await ctx.uow.invites.failures_since(ctx.msg.channel, ctx.msg.external_user_id, since) >= MAX_FAILURES:
            return Result([Reply(texts.invite_throttled(int(FAILURE_WINDOW.total_seconds() // 60)))])
        return await redeem_link(ctx, ctx.msg.args)
    since = ctx.now - UNREGISTERED_AUDIT_EVERY
    if await ctx.uow.audit.count_since("unregistered.contact", ctx.actor, since) == 0:
        await ctx.uow.audit.add("unregistered.contact", actor=ctx.actor, at=ctx.now)
    return Result([Reply(texts.UNREGISTERED)])


async def handle_register(ctx: Ctx, raw_code: str) -> Result:
    """Redeem an invite code: create the person and their identity, then confirm the name."""
    msg = ctx.msg
    since = ctx.now - FAILURE_WINDOW
    if await ctx.uow.invites.failures_since(msg.channel, msg.external_user_id, since) >= MAX_FAILURES:
        return Result([Reply(texts.invite_throttled(int(FAILURE_WINDOW.total_seconds() // 60)))])
    code = normalise(raw_code.split()[0])
    invite = await ctx.uow.invites.by_hash(hash_code(code), lock=True) if code else None
    problem = _invite_problem(invite, ctx)
    if problem is not None:
        if invite is None:
            await ctx.uow.invites.record_failure(msg.channel, msg.external_user_id, ctx.now)
        await ctx.uow.audit.add("invite.reject", actor=ctx.actor, at=ctx.now, details={"reason": problem[0]})
        return Result([Reply(problem[1])])
    assert invite is not None
    return await _redeem(ctx, invite)


def _invite_problem(invite: Invite | None, ctx: Ctx) -> tuple[str, str] | None:
    if invite is None:
        return ("wrong", texts.INVITE_WRONG)
    if invite.used_at is not None:
        return ("used", texts.INVITE_USED)
    if invite.expires_at <= ctx.now:
        return ("expired", texts.INVITE_EXPIRED)
    return None


async def _redeem(ctx: Ctx, invite: Invite) -> Result:
    msg = ctx.msg
    name = " ".join(msg.display_name.split())[:100]
    person = await ctx.uow.people.add(name or "?", invite.role, invite.unit_id, preferred_channel=msg.channel)
    await ctx.uow.people.add_identity(person, msg.channel, msg.external_user_id, msg.chat_id, msg.display_name)
    invite.used_at, invite.used_by = ctx.now, person.id
    await ctx.uow.invites.clear_failures(msg.channel, msg.external_user_id)
    await ctx.uow.audit.add(
        "person.register",
        actor=f"person:{person.id}",
        actor_id=person.id,
        at=ctx.now,
        target=f"person:{person.id}",
        details={"role": invite.role, "unit_id": invite.unit_id, "channel": msg.channel, "invite_id": invite.id},
    )
    await ctx.uow.states.set(person.id, "register", "name", {}, ctx.now)
    ctx.person = person
    if len(name) < 2:
        return Result([Reply(texts.ASK_FULL_NAME)])
    unit_path = await _unit_path(ctx)
    buttons = [[Button(texts.BUTTON_NAME_OK, "reg:ok")]]
    return Result([Reply(texts.confirm_name(name, invite.role, unit_path), buttons=buttons)])


async def _unit_path(ctx: Ctx) -> str:
    if ctx.person is None or ctx.person.unit_id is None:
        return ""
    unit = await ctx.uow.units.get(ctx.person.unit_id)
    return await ctx.uow.units.path_names(unit) if unit else ""


async def _finish(ctx: Ctx, *, edit: bool) -> Result:
    assert ctx.person is not None
    await ctx.uow.states.clear(ctx.person.id)
    text = texts.registered(ctx.person.name, ctx.person.role, await _unit_path(ctx))
    return Result([Reply(text, edit=edit)], menu_role=ctx.person.role)


@flow("register")
async def handle_name(ctx: Ctx) -> Result:
    """Take the typed full name and finish registration."""
    assert ctx.person is not None
    name = " ".join((ctx.msg.text or "").split())
    if not 2 <= len(name) <= 100:
        return Result([Reply(texts.NAME_INVALID)])
    ctx.person.name = name
    return await _finish(ctx, edit=False)


@button("reg")
async def handle_name_ok(ctx: Ctx) -> Result:
    """Accept the name taken from the messenger profile."""
    state = await ctx.uow.states.get(ctx.person.id) if ctx.person else None
    if state is None or state.flow != "register":
        return Result(toast=texts.EXPIRED_BUTTON)
    return await _finish(ctx, edit=True)
