"""Help, who-am-I, and the answers to things the bot cannot use."""

from __future__ import annotations

from bot import texts
from handlers.context import Ctx
from handlers.registry import command, menu_for
from handlers.types import Reply, Result


@command("trogiup", "help")
async def handle_help(ctx: Ctx) -> Result:
    """Show the commands of the person's role."""
    role = ctx.role or "reporter"
    items = [(name, texts.COMMANDS.get(name, "")) for name in menu_for(role)]
    # The chat's command menu is set again too: the role may have changed since it was set.
    return Result([Reply(texts.help_text(role, items))], menu_role=ctx.role)


@command("toi", "whoami")
async def handle_whoami(ctx: Ctx) -> Result:
    """Show the person's name, role, unit path and linked channels."""
    assert ctx.person is not None
    unit = await ctx.uow.units.get(ctx.person.unit_id) if ctx.person.unit_id else None
    path = await ctx.uow.units.path_names(unit) if unit else ""
    channels = sorted({i.channel for i in await ctx.uow.people.identities(ctx.person.id) if i.active})
    return Result([Reply(texts.whoami(ctx.person.name, ctx.person.role, path, channels))], menu_role=ctx.person.role)


@command("start", menu=False)
async def handle_start(ctx: Ctx) -> Result:
    """Greet a registered person who sends /start again."""
    assert ctx.person is not None
    return Result([Reply(texts.already_registered(ctx.person.name))], menu_role=ctx.person.role)


@command("dangky", menu=False)
async def handle_register_again(ctx: Ctx) -> Result:
    assert ctx.person is not None
    return Result([Reply(texts.already_registered(ctx.person.name))])


async def handle_unknown_command(ctx: Ctx) -> Result:
    return Result([Reply(texts.unknown_command(ctx.msg.command or ""))])


async def handle_not_allowed(ctx: Ctx) -> Result:
    # Most likely picked from a menu of an earlier role: show the current role's menu from now on.
    return Result([Reply(texts.NOT_ALLOWED)], menu_role=ctx.role)
