"""PostgreSQL session advisory locks: one holder at a time, released when its connection goes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


async def try_advisory_lock(engine: AsyncEngine, key: int) -> AsyncConnection | None:
    """Take the lock on a dedicated connection and return it (keep it open); None if someone holds it."""
    conn = await engine.connect()
    got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar()
    if got:
        return conn
    await conn.close()
    return None


async def release_advisory_lock(conn: Any, key: int) -> None:
    """Unlock explicitly: closing only returns the connection to the pool, which would keep the lock."""
    try:
        await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    finally:
        await conn.close()
