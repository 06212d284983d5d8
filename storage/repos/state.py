"""Conversation state per person."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationState
from storage.repos.base import get


class StateRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._none: set[int] = set()  # people known to be in no conversation, from prefetch()
        self._kept: list[ConversationState] = []  # loaded ahead; the session only holds weak references

    async def prefetch(self, person_ids: Collection[int]) -> None:
        """Load the states of many people in one query; ``get`` then needs no query for them."""
        if not person_ids:
            return
        stmt = select(ConversationState).where(ConversationState.person_id.in_(set(person_ids)))
        self._kept += (await self.session.execute(stmt)).scalars().all()
        self._none.update(set(person_ids) - {state.person_id for state in self._kept})

    async def get(self, person_id: int) -> ConversationState | None:
        if person_id in self._none:
            return None
        return await get(self.session, ConversationState, person_id)

    async def set(self, person_id: int, flow: str, step: str, data: dict[str, Any], at: datetime) -> None:
        state = await get(self.session, ConversationState, person_id)
        if state is None:
            self.session.add(ConversationState(person_id=person_id, flow=flow, step=step, data=data, updated_at=at))
        else:
            state.flow, state.step, state.data, state.updated_at = flow, step, dict(data), at
        self._none.discard(person_id)
        await self.session.flush()

    async def clear(self, person_id: int) -> None:
        # An ORM-enabled delete: a state loaded in this session is forgotten too.
        await self.session.execute(delete(ConversationState).where(ConversationState.person_id == person_id))
        self._none.add(person_id)
