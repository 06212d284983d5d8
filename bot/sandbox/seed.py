"""Seed the demo province and demo staff used by the local sandbox (idempotent)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from bot.invites import issue_invites
from bot.units_import import import_units
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class DemoPerson:
    user_id: int
    name: str
    role: str
    unit_code: str


DEMO_PEOPLE = (
    DemoPerson(1001, "Nguyễn Văn Quản", "admin", "DEMO"),
    DemoPerson(1002, "Trần Thị Ban", "officer", "DEMO"),
    DemoPerson(1003, "Điểu Văn Hùng", "reporter", "DEMO-BD-BU"),
    DemoPerson(1004, "Lê Thị Sóc", "reporter", "DEMO-LN-SR"),
)
NEWCOMER_USER_ID = 2001


def demo_units_csv() -> str:
    return resources.files("bot").joinpath("data/demo_units.csv").read_text(encoding="utf-8")


async def seed_demo(uow: UnitOfWork, now: datetime, zalo_id: Callable[[int], str] | None = None) -> list[str]:
    """Create the demo tree and people (on Telegram, and on Zalo when ``zalo_id`` maps their ids).

    Return fresh invite codes for newcomers.
    """
    report = await import_units(uow, demo_units_csv(), actor="sandbox", now=now)
    if report.errors:
        raise RuntimeError("; ".join(report.errors))
    for demo in DEMO_PEOPLE:
        if await uow.people.identity("telegram", str(demo.user_id)) is not None:
            continue
        unit = await uow.units.by_code(demo.unit_code)
        person = await uow.people.add(demo.name, demo.role, unit.id if unit else None, preferred_channel="telegram")
        await uow.people.add_identity(person, "telegram", str(demo.user_id), str(demo.user_id), demo.name)
        if zalo_id is not None:
            zid = zalo_id(demo.user_id)
            await uow.people.add_identity(person, "zalo", zid, zid, demo.name)
    hamlet = await uow.units.by_code("DEMO-BD-T1")
    issued = await issue_invites(
        uow, unit=hamlet, role="reporter", count=3, expires_days=14, now=now,
        actor="sandbox", actor_id=None, bot_username=None,
    )
    return [i.code for i in issued]
