"""Helpers for end-to-end tests: the real App and aiogram client against the local fake Bot API server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.app import App
from bot.clock import SystemClock
from bot.invites import issue_invites
from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.settings import Settings
from bot.units_import import import_units
from storage.uow import UnitOfWork
from tests.harness import TREE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_settings(db_url: str, server: FakeTelegramServer, **extra: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=db_url,
        telegram_bot_token=server.token,
        telegram_api_base=server.base_url,
        report_merge_seconds=0,
        **extra,
    )


async def seed(app: App, people: list[tuple[int, str, str, str]] | None = None) -> str:
    """Import the test tree, add people (telegram id, name, role, unit) and return one reporter invite."""
    async with UnitOfWork(app.session_factory) as uow:
        await import_units(uow, TREE, actor="test", now=SystemClock().now())
        for user_id, name, role, unit_code in people or []:
            unit = await uow.units.by_code(unit_code)
            person = await uow.people.add(name, role, unit.id if unit else None, preferred_channel="telegram")
            await uow.people.add_identity(person, "telegram", str(user_id), str(user_id), name)
        issued = await issue_invites(
            uow, unit=await uow.units.by_code("X1-T1"), role="reporter", count=1, expires_days=14,
            now=SystemClock().now(), actor="test", actor_id=None, bot_username=None,
        )
        await uow.commit()
    return issued[0].code


@asynccontextmanager
async def running_app(settings: Settings, *, webhook: bool = False) -> AsyncIterator[App]:
    app = App(settings)
    app.attach_telegram(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base)  # type: ignore[union-attr]
    try:
        yield app
    finally:
        await app.stop()
