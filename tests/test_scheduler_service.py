"""The scheduler process: it ticks on its own, and on PostgreSQL only one instance runs it."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import SystemClock
from bot.periods import Calendar
from schedules.jobs import JobEnv
from schedules.service import SchedulerService, Scheduling
from storage.db import create_engine, make_session_factory
from storage.uow import UnitOfWork
from tests.conftest import USE_PG


def service(db_url: str) -> tuple[SchedulerService, object]:
    engine = create_engine(db_url)
    scheduling = Scheduling(JobEnv(make_session_factory(engine), Calendar()), SystemClock())
    return SchedulerService(scheduling, engine, "Asia/Ho_Chi_Minh", retry_seconds=0.2), engine


async def test_the_scheduler_starts_ticks_and_records_its_start(db_url: str) -> None:
    svc, engine = service(db_url)
    await svc.start()
    try:
        for _ in range(50):
            if svc.is_leader:
                break
            await asyncio.sleep(0.05)
        assert svc.is_leader
        assert svc.scheduler.get_job("tick") is not None
        epoch = None
        for _ in range(50):
            async with UnitOfWork(svc.scheduling.env.session_factory) as uow:
                epoch = await uow.settings.get("scheduler_epoch")
            if epoch:
                break
            await asyncio.sleep(0.05)
        assert epoch is not None, "the first tick runs at start"
    finally:
        await svc.stop()
        await engine.dispose()  # type: ignore[attr-defined]


@pytest.mark.skipif(not USE_PG, reason="the advisory lock exists on PostgreSQL only (CI runs the suite on it)")
async def test_only_one_instance_runs_the_scheduler_and_the_other_takes_over(db_url: str) -> None:
    first, e1 = service(db_url)
    second, e2 = service(db_url)
    await first.start()
    await asyncio.sleep(0.3)
    await second.start()
    await asyncio.sleep(0.6)
    try:
        assert first.is_leader and not second.is_leader
        await first.stop()  # the lock goes with its connection, as when a process dies
        for _ in range(50):
            if second.is_leader:
                break
            await asyncio.sleep(0.1)
        assert second.is_leader
    finally:
        await second.stop()
        await first.stop()
        await e1.dispose()  # type: ignore[attr-defined]
        await e2.dispose()  # type: ignore[attr-defined]
