"""The unit of work: one transaction, the repositories bound to it, rollback unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repos.audit import AuditRepo
from storage.repos.calendar import JobRunRepo, PeriodicRepo, SettingRepo
from storage.repos.digest import DigestRepo
from storage.repos.groups import GroupRepo
from storage.repos.inbox import InboxRepo
from storage.repos.invites import InviteRepo
from storage.repos.links import LinkRepo
from storage.repos.outbox import OutboxRepo
from storage.repos.people import PersonRepo
from storage.repos.reports import ReportRepo
from storage.repos.state import StateRepo
from storage.repos.units import UnitRepo
from storage.repos.usage import UsageRepo


class UnitOfWork:
    """Async context manager; repositories never commit, only ``commit()`` does."""

    session: AsyncSession

    def __init__(self, session_factory: async_sessionmaker[Any]) -> None:
        self._factory = session_factory

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._factory()
        self.units = UnitRepo(self.session)
        self.people = PersonRepo(self.session)
        self.invites = InviteRepo(self.session)
        self.inbox = InboxRepo(self.session)
        self.outbox = OutboxRepo(self.session)
        self.audit = AuditRepo(self.session)
        self.states = StateRepo(self.session)
        self.reports = ReportRepo(self.session)
        self.groups = GroupRepo(self.session)
        self.periodic = PeriodicRepo(self.session)
        self.job_runs = JobRunRepo(self.session)
        self.settings = SettingRepo(self.session)
        self.links = LinkRepo(self.session)
        self.usage = UsageRepo(self.session)
        self.digest = DigestRepo(self.session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # close() rolls back anything not committed, and leaves loaded objects readable (detached).
        await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()
