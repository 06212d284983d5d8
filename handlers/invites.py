"""Invite codes created in chat by officers and admins."""

from __future__ import annotations

from bot import texts
from bot.invites import issue_invites
from bot.roles import ADMIN, REPORTER, parse_role
from handlers.context import Ctx
from handlers.registry import STAFF, command
from handlers.types import Reply, Result

DEFAULT_EXPIRES_DAYS = 14


@command("moi", roles=STAFF)
async def handle_invite_create(ctx: Ctx) -> Result:
    """Create invite codes: /moi [unit code] [role] [count]; officers only within their subtree."""
    assert ctx.person is not None
    args = ctx.msg.args.split()
    unit_code = args[0] if args else None
    try:
        role = parse_role(args[1]) if len(args) > 1 else REPORTER
        count = int(args[2]) if len(args) > 2 else 1
        if not 1 <= count <= 50:
            raise ValueError
    except ValueError:
        return Result([Reply(texts.MOI_USAGE)])
    own = await ctx.uow.units.get(ctx.person.unit_id) if ctx.person.unit_id else None
    unit = await ctx.uow.units.by_code(unit_code) if unit_code else own
    if unit is None:
        return Result([Reply(texts.unknown_unit(unit_code or "") if unit_code else texts.MOI_USAGE)])
    if ctx.person.role != ADMIN:
        if own is None or not ctx.uow.units.contains(own, unit):
            return Result([Reply(texts.OUT_OF_SCOPE)])
        if role == ADMIN:
            return Result([Reply(texts.ADMIN_ONLY_ROLE)])
    issued = await issue_invites(
        ctx.uow,
        unit=unit,
        role=role,
        count=count,
        expires_days=DEFAULT_EXPIRES_DAYS,
        now=ctx.now,
        actor=ctx.actor,
        actor_id=ctx.person.id,
        bot_username=ctx.services.bot_usernames.get("telegram"),
    )
    path = await ctx.uow.units.path_names(unit)
    items = [(i.code, i.link) for i in issued]
    return Result([Reply(texts.invites_created(path, role, DEFAULT_EXPIRES_DAYS, items))])
