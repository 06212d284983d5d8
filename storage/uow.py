"""The unit of work: one transaction, the repositories bound to it, rollback unless committed."""

from __future__ import annotations

from functools import cached_property
from types import TracebackType
from typing import Any, TypeVar

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
from storage.repos.reports import ReportRepo, write_unwritten
from storage.repos.state import StateRepo
from storage.repos.units import UnitRepo
from storage.repos.usage import UsageRepo

T = TypeVar("T")


def _repo(cls: type[T]) -> cached_property[T]:
    """A repository of the unit of work, bound to its session when first used."""

    def make(uow: UnitOfWork) -> T:
        return cls(uow.session)  # type: ignore[call-arg]

    prop = cached_property(make)
    prop.__doc__ = cls.__doc__
    return prop


class UnitOfWork:
    """Async context manager; repositories never commit, only ``commit()`` does."""

    session: AsyncSession

    def __init__(self, session_factory: async_sessionmaker[Any]) -> None:
        self._factory = session_factory

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._factory()
        for name in list(vars(self)):  # a reused unit of work starts afresh
            if isinstance(getattr(type(self), name, None), cached_property):
                del self.__dict__[name]
        return self

    # Repositories are made on first use: most transactions need one or two of them.
    units = _repo(UnitRepo)
    people = _repo(PersonRepo)
    invites = _repo(InviteRepo)
    inbox = _repo(InboxRepo)
    outbox = _repo(OutboxRepo)
    audit = _repo(AuditRepo)
    states = _repo(StateRepo)
    reports = _repo(ReportRepo)
    groups = _repo(GroupRepo)
    periodic = _repo(PeriodicRepo)
    job_runs = _repo(JobRunRepo)
    settings = _repo(SettingRepo)
    links = _repo(LinkRepo)
    usage = _repo(UsageRepo)
    digest = _repo(DigestRepo)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # close() rolls back anything not committed, and leaves loaded objects readable (detached).
        await self.session.close()

    async def flush(self) -> None:
        """Write everything added so far, so that any query sees it."""
        await write_unwritten(self.session)
        await self.session.flush()

    async def commit(self) -> None:
        await write_unwritten(self.session)  # a commit with nothing else to flush skips the flush hook
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()
