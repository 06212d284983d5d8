"""One person, two channels: `/lienket` links a second channel, `/kenh` picks where notices go."""

from __future__ import annotations

from datetime import timedelta

from bot import texts
from bot.invites import hash_code, new_code, normalise
from bot.textnorm import fold
from handlers.context import Ctx
from handlers.registry import ALL_ROLES, command
from handlers.types import CHANNELS, Reply, Result

LINK_TTL = timedelta(minutes=15)


def _link_hash(code: str) -> str:
    # A different prefix from invites, so a link code can never be redeemed as an invite.
    return hash_code("LINK" + normalise(code))


@command("lienket", roles=ALL_ROLES)
async def handle_link(ctx: Ctx) -> Result:
    """Issue a one-time code to link another channel to this person."""
    assert ctx.person is not None
    if ctx.msg.args:
        return Result([Reply(texts.LINK_SAME_PERSON)])
    code = new_code()
    await ctx.uow.links.add(_link_hash(code), ctx.person.id, ctx.now + LINK_TTL, ctx.now)
    other = next((c for c in CHANNELS if c != ctx.msg.channel), ctx.msg.channel)
    minutes = int(LINK_TTL.total_seconds() // 60)
    return Result([Reply(texts.link_code_issued(code, texts.CHANNEL_LABELS[other], minutes))])


async def redeem_link(ctx: Ctx, raw_code: str) -> Result:
    """Attach this (unregistered) channel account to the person who issued the code."""
    msg = ctx.msg
    link = await ctx.uow.links.by_hash(_link_hash(raw_code.split()[0])) if raw_code.strip() else None
    if link is None or link.used_at is not None or link.expires_at <= ctx.now:
        await ctx.uow.invites.record_failure(msg.channel, msg.external_user_id, ctx.now)
        return Result([Reply(texts.LINK_WRONG)])
    person = await ctx.uow.people.get(link.person_id)
    if person is None or not person.active:
        return Result([Reply(texts.LINK_WRONG)])
    link.used_at = ctx.now
    await ctx.uow.people.add_identity(person, msg.channel, msg.external_user_id, msg.chat_id, msg.display_name)
    await ctx.uow.audit.add("person.link", actor=f"person:{person.id}", actor_id=person.id, at=ctx.now,
                            target=f"person:{person.id}", details={"channel": msg.channel})
    ctx.person = person
    return Result([Reply(texts.linked(person.name, msg.channel))], menu_role=person.role)


@command("kenh", roles=ALL_ROLES)
async def handle_channel(ctx: Ctx) -> Result:
    """Show linked channels, or choose the one that receives notices, prompts and digests."""
    assert ctx.person is not None
    active = sorted({i.channel for i in await ctx.uow.people.identities(ctx.person.id) if i.active})
    wanted = fold(ctx.msg.args.split()[0]) if ctx.msg.args else ""
    if not wanted:
        return Result([Reply(texts.channel_status(ctx.person.preferred_channel, active))])
    if wanted not in CHANNELS:
        return Result([Reply(texts.channel_status(ctx.person.preferred_channel, active))])
    if wanted not in active:
        return Result([Reply(texts.channel_not_linked(wanted))])
    ctx.person.preferred_channel = wanted
    return Result([Reply(texts.channel_set(wanted))])
