"""``danvan people``: list staff, change a person's role or unit, lock and unlock accounts.

Every change is written to the audit log with the values before and after. A locked person
(``active`` false) is answered that the account is locked, is left out of notices, prompts and
alerts, and keeps their reports; unlocking restores everything.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bot.texts import cli as texts

people_app = typer.Typer(help="Staff: list, change role or unit, lock and unlock accounts.", no_args_is_help=True)


def _database() -> str:
    from bot.cli import settings
    from storage.db import upgrade_sync

    url = settings().database_url
    upgrade_sync(url)
    return url


def _run(body: Any) -> Any:
    from bot.cli import run_sync, with_uow

    return run_sync(with_uow, _database(), body)


async def _describe(uow: Any, person: Any) -> str:
    unit = await uow.units.get(person.unit_id) if person.unit_id is not None else None
    channels = ", ".join(sorted({i.channel for i in await uow.people.identities(person.id)}))
    return texts.person_line(person.id, person.name, person.role, unit.code if unit else "", channels, person.active)


@people_app.command("list")
def people_list(
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit's subtree (unit code)")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Locked accounts too")] = False,
) -> None:
    """List people with their role, unit, channels and state."""

    async def body(uow: Any) -> list[str] | None:
        paths = None
        if unit is not None:
            target = await uow.units.by_code(unit)
            if target is None:
                return None
            paths = [target.path]
        people = await uow.people.in_units(paths, include_inactive=all_)
        return [await _describe(uow, p) for p in people]

    lines = _run(body)
    if lines is None:
        typer.echo(texts.UNIT_NOT_FOUND.format(code=unit), err=True)
        raise typer.Exit(1)
    typer.echo("\n".join(lines) if lines else texts.NO_PEOPLE)


@people_app.command("set")
def people_set(
    person_id: Annotated[int, typer.Argument(help="The person's number (see `danvan people list`)")],
    role: Annotated[str | None, typer.Option("--role", help="reporter, officer or admin")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Code of the new unit")] = None,
) -> None:
    """Change a person's role and/or unit (their reports stay with the unit they were filed for)."""
    from bot.roles import parse_role

    if role is None and unit is None:
        raise typer.BadParameter(texts.NOTHING_TO_CHANGE)
    try:
        new_role = parse_role(role) if role is not None else None
    except ValueError:
        raise typer.BadParameter(texts.unknown_role(role or "")) from None

    async def body(uow: Any) -> str:
        from bot.clock import SystemClock

        person = await uow.people.get(person_id)
        if person is None:
            raise _Refused(texts.PERSON_NOT_FOUND.format(id=person_id))
        before = {"role": person.role, "unit_id": person.unit_id}
        target = None
        if unit is not None:
            target = await uow.units.by_code(unit)
            if target is None:
                raise _Refused(texts.UNIT_NOT_FOUND.format(code=unit))
            person.unit_id = target.id
        if new_role is not None:
            person.role = new_role
        after = {"role": person.role, "unit_id": person.unit_id}
        await uow.audit.add("person.change", actor="cli", at=SystemClock().now(), target=f"person:{person.id}",
                            details={"before": before, "after": after})
        await uow.commit()
        current = target or (await uow.units.get(person.unit_id) if person.unit_id is not None else None)
        return texts.person_changed(person.name, person.role, current.code if current else "")

    typer.echo(_refusable(body))


def _set_active(person_id: int, active: bool) -> str:
    async def body(uow: Any) -> str:
        from bot.clock import SystemClock

        person = await uow.people.get(person_id)
        if person is None:
            raise _Refused(texts.PERSON_NOT_FOUND.format(id=person_id))
        if person.active != active:
            person.active = active
            action = "person.activate" if active else "person.deactivate"
            await uow.audit.add(action, actor="cli", at=SystemClock().now(), target=f"person:{person.id}")
            await uow.commit()
        return texts.person_activated(person.name) if active else texts.person_deactivated(person.name)

    return _refusable(body)


@people_app.command("deactivate")
def people_deactivate(person_id: Annotated[int, typer.Argument(help="The person's number")]) -> None:
    """Lock a person's account (they left or changed job): no bot use, no notices; reports are kept."""
    typer.echo(_set_active(person_id, False))


@people_app.command("activate")
def people_activate(person_id: Annotated[int, typer.Argument(help="The person's number")]) -> None:
    """Unlock a locked account."""
    typer.echo(_set_active(person_id, True))


class _Refused(Exception):
    """A change that cannot be made; its message is for the operator."""


def _refusable(body: Any) -> str:
    try:
        return str(_run(body))
    except _Refused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
