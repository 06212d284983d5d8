"""Conversation state per person."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationState


class StateRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, person_id: int) -> ConversationState | None:
        return await self.session.get(ConversationState, person_id)

    async def set(self, person_id: int, flow: str, step: str, data: dict[str, Any], at: datetime) -> None:
        state = await self.session.get(ConversationState, person_id)
        if state is None:
            self.session.add(ConversationState(person_id=person_id, flow=flow, step=step, data=data, updated_at=at))
        else:
            state.flow, state.step, state.data, state.updated_at = flow, step, dict(data), at
        await self.session.flush()

    async def clear(self, person_id: int) -> None:
        await self.session.execute(delete(ConversationState).where(ConversationState.person_id == person_id))
