"""Route one incoming message to the handler that owns it."""

from __future__ import annotations

from datetime import timedelta

from bot import texts
from handlers import (  # noqa: F401  (modules register their handlers on import)
    basic,
    digest,
    invites,
    linking,
    notices,
    office,
    periodic,
    registration,
    reports,
    schedule_admin,
)
from handlers.context import Ctx
from handlers.registry import BUTTONS, COMMANDS, FLOWS
from handlers.types import BUTTONLESS, Reply, Result

MENU_TTL = timedelta(hours=24)

async def dispatch(ctx: Ctx) -> Result:
    """Identify the sender, then hand the message to a command, button, flow or the default handler."""
    msg = ctx.msg
    if msg.chat_type == "group" and not await _office_group(ctx):
        return Result()
    ident, person = await ctx.uow.people.identity_and_person(msg.channel, msg.external_user_id)
    if ident is not None and ident.chat_id != msg.chat_id and msg.chat_type == "private":
        ident.chat_id = msg.chat_id
    if ident is not None and not ident.active and msg.chat_type == "private":
        ident.active = True  # they wrote to us again, so they unblocked the bot
    ctx.identity, ctx.person = ident, person
    if ident is not None and msg.channel in BUTTONLESS and msg.payload is None:
        problem = _numbered_choice(ctx)
        if problem is not None:
            return Result([Reply(problem)])
    if person is None:
        return await registration.handle_unregistered(ctx)
    if not person.active:
        return Result([Reply(texts.ACCOUNT_DISABLED)])
    return await _dispatch_registered(ctx)


async def _dispatch_registered(ctx: Ctx) -> Result:
    msg = ctx.msg
    assert ctx.person is not None
    if msg.payload is not None:
        handler = BUTTONS.get(msg.payload.split(":", 1)[0])
        return await handler(ctx) if handler else Result(toast=texts.EXPIRED_BUTTON)
    if msg.edited:
        return Result([Reply(texts.EDITED_IGNORED)])
    if msg.command:
        cmd = COMMANDS.get(msg.command)
        if cmd is None:
            return await basic.handle_unknown_command(ctx)
        if ctx.person.role not in cmd.roles:
            return await basic.handle_not_allowed(ctx)
        return await cmd.handler(ctx)
    state = await ctx.uow.states.get(ctx.person.id)
    if state is not None and state.flow in FLOWS and (msg.text or msg.attachments or msg.location):
        return await FLOWS[state.flow](ctx)
    return await _plain(ctx)


def _numbered_choice(ctx: Ctx) -> str | None:
    """Map a bare number to the payload of the numbered choice last shown; return a problem text."""
    text = (ctx.msg.text or "").strip().rstrip(".")
    ident = ctx.identity
    if not text.isdigit() or len(text) > 2 or ident is None or not ident.menu or ident.menu_at is None:
        return None
    if ctx.now - ident.menu_at > MENU_TTL:
        return None
    choice = int(text)
    if not 1 <= choice <= len(ident.menu):
        return texts.choose_number(len(ident.menu))
    ctx.msg.payload, ctx.msg.text = ident.menu[choice - 1], None
    return None


async def _plain(ctx: Ctx) -> Result:
    """Treat an ordinary message as a situation report."""
    return await reports.handle_message(ctx)


async def _office_group(ctx: Ctx) -> bool:
    return await ctx.uow.groups.is_office_group(ctx.msg.channel, ctx.msg.chat_id)
