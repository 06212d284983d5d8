"""Helpers shared by the repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(session: AsyncSession, model: Any, values: dict[str, Any], returning: Any = None) -> Any:
    """Insert a row unless it violates a unique constraint; return the ``returning`` value or None."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(model).values(**values).on_conflict_do_nothing()
    if returning is None:
        result = await session.execute(stmt)
        return result.rowcount
    result = await session.execute(stmt.returning(returning))
    return result.scalar_one_or_none()


def dialect_name(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"
