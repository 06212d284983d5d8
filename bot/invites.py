"""Invite codes: generation, normalisation, hashing, deep links, and the service that issues them."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.models import Unit
from storage.uow import UnitOfWork

# No 0/O, 1/I/L: codes are read aloud and typed on small phones.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise(code: str) -> str:
    """Return the canonical form of a typed code: upper case, no spaces or dashes."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def hash_code(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def deep_link(bot_username: str | None, code: str) -> str | None:
    return f"https://t.me/{bot_username}?start={normalise(code)}" if bot_username else None


@dataclass(frozen=True)
class IssuedInvite:
    code: str
    link: str | None


async def issue_invites(
    uow: UnitOfWork,
    *,
    unit: Unit | None,
    role: str,
    count: int,
    expires_days: int,
    now: datetime,
    actor: str,
    actor_id: int | None,
    bot_username: str | None,
) -> list[IssuedInvite]:
    """Create ``count`` single-use codes (hashes stored) and audit it; the caller commits."""
    if not 1 <= count <= 500:
        raise ValueError("count must be between 1 and 500")
    if not 1 <= expires_days <= 365:
        raise ValueError("expires-days must be between 1 and 365")
    issued = []
    for _ in range(count):
        code = new_code()
        await uow.invites.add(
            hash_code(code), unit.id if unit else None, role, now + timedelta(days=expires_days), actor_id
        )
        issued.append(IssuedInvite(code, deep_link(bot_username, code)))
    await uow.audit.add(
        "invite.create",
        actor=actor,
        actor_id=actor_id,
        at=now,
        target=f"unit:{unit.code if unit else '-'}",
        details={"role": role, "count": count, "expires_days": expires_days},
    )
    return issued
