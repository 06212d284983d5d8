"""The `danvan` command line: run the bot, manage the database, units, invites and admins."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bot.settings import Settings
from bot.texts import cli as cli_texts

T = TypeVar("T")
app = typer.Typer(help="Danvan: grassroots situation reporting bot.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
units_app = typer.Typer(help="The unit tree.", no_args_is_help=True)
invite_app = typer.Typer(help="Invite codes.", no_args_is_help=True)
admin_app = typer.Typer(help="Administrators.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(units_app, name="units")
app.add_typer(invite_app, name="invite")
app.add_typer(admin_app, name="admin")
jobs_app = typer.Typer(help="Scheduled jobs of the reporting calendar.", no_args_is_help=True)
schedule_app = typer.Typer(help="The reporting schedule.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(schedule_app, name="schedule")
lexicon_app = typer.Typer(help="The topic vocabulary.", no_args_is_help=True)
app.add_typer(lexicon_app, name="lexicon")


def _mount_digest() -> None:
    from bot.digest.cli import digest_command

    app.command("digest")(digest_command)


_mount_digest()


def _mount_people() -> None:
    from bot.people_cli import people_app

    app.add_typer(people_app, name="people")


_mount_people()


@lexicon_app.command("check")
def lexicon_check(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """Validate a lexicon file; print every problem with its place in the file."""
    from bot.tagging import check_lexicon

    errors = check_lexicon(file)
    for err in errors:
        typer.echo(err, err=True)
    if errors:
        raise typer.Exit(1)
    typer.echo(cli_texts.LEXICON_VALID)


@app.command()
def tag(
    lexicon: Annotated[Path | None, typer.Option("--lexicon", help="Lexicon file (default: the configured one)")] = None,
) -> None:
    """Tag JSON lines ({"text": ...}) from standard input; one JSON line per input, in order."""
    from bot.tagging import Tagger, tag_jsonl

    tagger = Tagger(lexicon or settings().lexicon_path)
    for line in tag_jsonl(sys.stdin, tagger):
        sys.stdout.write(line + "\n")
    sys.stdout.flush()


def settings() -> Settings:
    return Settings()


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiohttp and aiogram log request URLs, which contain the bot token.
    for noisy in ("aiohttp.access", "aiogram.event", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_sync(fn: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
    return asyncio.run(fn(*args))


async def with_uow(url: str, body: Callable[[Any], Awaitable[T]]) -> T:
    from storage.db import create_engine, make_session_factory
    from storage.uow import UnitOfWork

    engine = create_engine(url)
    try:
        async with UnitOfWork(make_session_factory(engine)) as uow:
            return await body(uow)
    finally:
        await engine.dispose()


@app.command()
def run() -> None:
    """Start the bot (the local sandbox when no token is configured)."""
    from bot.runner import serve

    s = settings()
    setup_logging(s.log_level)
    try:
        asyncio.run(serve(s))
    except KeyboardInterrupt:
        pass


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations."""
    from storage.db import upgrade_sync

    upgrade_sync(settings().database_url)
    typer.echo(cli_texts.SCHEMA_UP_TO_DATE)


@units_app.command("import")
def units_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """Import units from a CSV with columns code,name,level,parent_code (safe to repeat)."""
    from bot.units_import import import_units
    from storage.db import upgrade_sync

    s = settings()
    upgrade_sync(s.database_url)
    text = file.read_text(encoding="utf-8-sig")

    async def body(uow: Any) -> Any:
        from bot.clock import SystemClock

        report = await import_units(uow, text, actor="cli", now=SystemClock().now())
        if not report.errors:
            await uow.commit()
        return report

    report = run_sync(with_uow, s.database_url, body)
    if report.errors:
        for err in report.errors:
            typer.echo(err, err=True)
        typer.echo(cli_texts.IMPORT_NOTHING_WRITTEN, err=True)
        raise typer.Exit(1)
    typer.echo(cli_texts.imported(report.created, report.updated, report.unchanged))


@invite_app.command("create")
def invite_create(
    unit: Annotated[str, typer.Option("--unit", help="Unit code")],
    role: Annotated[str, typer.Option("--role")] = "reporter",
    count: Annotated[int, typer.Option("--count", min=1, max=500)] = 1,
    expires_days: Annotated[int, typer.Option("--expires-days", min=1, max=365)] = 14,
    bot_username: Annotated[str | None, typer.Option("--bot-username", help="For t.me deep links")] = None,
) -> None:
    """Create single-use invite codes and print them with their Telegram deep links."""
    from bot.clock import SystemClock
    from bot.invites import issue_invites
    from bot.roles import parse_role

    s = settings()
    try:
        role = parse_role(role)
    except ValueError:
        raise typer.BadParameter(cli_texts.unknown_role(role)) from None
    username = bot_username or _bot_username(s)

    async def body(uow: Any) -> Any:
        target = await uow.units.by_code(unit)
        if target is None:
            return None
        issued = await issue_invites(
            uow, unit=target, role=role, count=count, expires_days=expires_days,
            now=SystemClock().now(), actor="cli", actor_id=None, bot_username=username,
        )
        await uow.commit()
        return issued

    issued = run_sync(with_uow, s.database_url, body)
    if issued is None:
        typer.echo(cli_texts.UNIT_NOT_FOUND.format(code=unit), err=True)
        raise typer.Exit(1)
    for item in issued:
        typer.echo(f"{item.code}\t{item.link or ''}".rstrip())


def _bot_username(s: Settings) -> str | None:
    """Ask Telegram for the bot's username so deep links can be printed (None offline)."""
    if s.telegram_bot_token is None:
        return None

    async def ask() -> str | None:
        from bot.telegram.runtime import make_bot

        bot = make_bot(s.telegram_bot_token.get_secret_value(), s.telegram_api_base)  # type: ignore[union-attr]
        try:
            return (await asyncio.wait_for(bot.get_me(), 10)).username
        except Exception:  # noqa: BLE001 - links are a convenience
            return None
        finally:
            await bot.session.close()

    return asyncio.run(ask())


@admin_app.command("add")
def admin_add(
    name: Annotated[str, typer.Option("--name")],
    telegram_id: Annotated[int | None, typer.Option("--telegram-id")] = None,
    zalo_id: Annotated[str | None, typer.Option("--zalo-id")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Unit code (default: the root unit)")] = None,
) -> None:
    """Register an administrator directly (the first admin of a new installation)."""
    from bot.clock import SystemClock
    from storage.db import upgrade_sync

    if telegram_id is None and zalo_id is None:
        raise typer.BadParameter(cli_texts.GIVE_AN_ACCOUNT)
    s = settings()
    upgrade_sync(s.database_url)
    channel, ext = ("telegram", str(telegram_id)) if telegram_id is not None else ("zalo", str(zalo_id))

    async def body(uow: Any) -> str:
        if await uow.people.identity(channel, ext) is not None:
            return "exists"
        target = await uow.units.by_code(unit) if unit else None
        if target is None:
            roots = await uow.units.children(None)
            target = roots[0] if roots and not unit else None
        if unit and target is None:
            return "no-unit"
        person = await uow.people.add(name, "admin", target.id if target else None, preferred_channel=channel)
        await uow.people.add_identity(person, channel, ext, ext, name)
        await uow.audit.add("admin.add", actor="cli", at=SystemClock().now(), target=f"person:{person.id}")
        await uow.commit()
        return "ok"

    outcome = run_sync(with_uow, s.database_url, body)
    if outcome == "no-unit":
        typer.echo(cli_texts.UNIT_NOT_FOUND.format(code=unit), err=True)
        raise typer.Exit(1)
    typer.echo(cli_texts.ACCOUNT_EXISTS if outcome == "exists" else cli_texts.admin_added(name))


@app.command("group-add")
def group_add(
    chat_id: Annotated[str, typer.Option("--chat-id", help="The group chat id (Telegram ids of groups are negative)")],
    unit: Annotated[str, typer.Option("--unit", help="Unit code of the office the group belongs to")],
    channel: Annotated[str, typer.Option("--channel")] = "telegram",
    name: Annotated[str, typer.Option("--name")] = "",
) -> None:
    """Register a group chat as an office group (the bot ignores every other group)."""
    from bot.clock import SystemClock
    from storage.db import upgrade_sync

    s = settings()
    upgrade_sync(s.database_url)

    async def body(uow: Any) -> bool:
        target = await uow.units.by_code(unit)
        if target is None:
            return False
        if not await uow.groups.is_office_group(channel, chat_id):
            await uow.groups.add(channel, chat_id, target.id, name)
            await uow.audit.add("group.add", actor="cli", at=SystemClock().now(), target=f"{channel}:{chat_id}")
            await uow.commit()
        return True

    if not run_sync(with_uow, s.database_url, body):
        typer.echo(cli_texts.UNIT_NOT_FOUND.format(code=unit), err=True)
        raise typer.Exit(1)
    typer.echo(cli_texts.GROUP_ADDED)


@app.command()
def init() -> None:
    """Prepare a new installation: migrate the database and print a one-time admin bootstrap code."""
    from bot.clock import SystemClock
    from bot.invites import issue_invites
    from storage.db import upgrade_sync

    s = settings()
    upgrade_sync(s.database_url)

    async def body(uow: Any) -> Any:
        if await uow.people.admins():
            return None
        roots = await uow.units.children(None)
        issued = await issue_invites(
            uow, unit=roots[0] if roots else None, role="admin", count=1, expires_days=3,
            now=SystemClock().now(), actor="cli:init", actor_id=None, bot_username=None,
        )
        await uow.commit()
        return issued[0].code

    code = run_sync(with_uow, s.database_url, body)
    if code is None:
        typer.echo(cli_texts.ADMIN_EXISTS)
        return
    typer.echo(cli_texts.bootstrap_code(code))


def _parse_moment(value: str | None) -> Any:
    from datetime import datetime

    from bot.clock import SystemClock

    if value is None:
        return SystemClock().now()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(cli_texts.BAD_MOMENT) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=settings().tz)
    return moment


async def _with_app(body: Callable[[Any], Awaitable[T]]) -> T:
    from bot.app import App
    from storage.db import upgrade

    s = settings()
    await upgrade(s.database_url)
    application = App(s)
    try:
        return await body(application)
    finally:
        await application.engine.dispose()


@jobs_app.command("list")
def jobs_list(now: Annotated[str | None, typer.Option("--now", help="ISO time (default: now)")] = None) -> None:
    """Show the next scheduled runs and the recent ones."""
    moment = _parse_moment(now)

    async def body(application: Any) -> None:
        tz = application.settings.tz
        for job, period, at in await application.scheduling.next_runs(moment, 8):
            typer.echo(f"{at.astimezone(tz):%Y-%m-%d %H:%M}  {job:<10}  {period.key}  {period.label}")
        async with application.session_factory() as session:
            from storage.repos.calendar import JobRunRepo

            runs = await JobRunRepo(session).recent(10)
        if runs:
            typer.echo("\n" + cli_texts.RECENT_RUNS)
        for run in runs:
            typer.echo(f"{run.due_at.astimezone(tz):%Y-%m-%d %H:%M}  {run.job:<10}  {run.period_key}  {run.status}  {run.queued}")

    run_sync(_with_app, body)


@jobs_app.command("run-due")
def jobs_run_due(now: Annotated[str | None, typer.Option("--now", help="ISO time (default: now)")] = None) -> None:
    """Run whatever is due at a moment (catch-up); messages go to the outbox for the running bot to send."""
    moment = _parse_moment(now)

    async def body(application: Any) -> Any:
        return await application.scheduling.run_due(moment)

    outcomes = run_sync(_with_app, body)
    if not outcomes:
        typer.echo(cli_texts.NOTHING_DUE)
    for o in outcomes:
        typer.echo(cli_texts.job_outcome(o.job, o.period_key, o.status, o.queued))


@schedule_app.command("show")
def schedule_show() -> None:
    """Print the schedule in force."""

    async def body(application: Any) -> Any:
        from storage.uow import UnitOfWork

        async with UnitOfWork(application.session_factory) as uow:
            return (await application.scheduling.calendar(uow)).schedule

    config = run_sync(_with_app, body)
    for key, value in config.to_dict().items():
        typer.echo(f"{key} = {value}")


@schedule_app.command("set")
def schedule_set(
    key: Annotated[str, typer.Argument(help="e.g. reminder_day, reminder_time, digest_days_after")],
    value: Annotated[str, typer.Argument()],
) -> None:
    """Change one schedule setting (applies to a running bot at its next minute)."""
    from bot.clock import SystemClock
    from bot.periods import ScheduleConfig

    async def body(application: Any) -> str | None:
        from storage.uow import UnitOfWork

        async with UnitOfWork(application.session_factory) as uow:
            current = (await application.scheduling.calendar(uow)).schedule.to_dict()
            if key not in current:
                return cli_texts.unknown_schedule_key(key, list(current))
            current[key] = int(value) if value.isdigit() else value
            try:
                config = ScheduleConfig.from_dict(current)
                now = SystemClock().now()
                await application.scheduling.save_schedule(uow, config, now, None)
            except ValueError as exc:
                return str(exc)
            await uow.audit.add("schedule.change", actor="cli", at=now, details={key: value})
            await uow.commit()
        return None

    problem = run_sync(_with_app, body)
    if problem:
        typer.echo(problem, err=True)
        raise typer.Exit(1)
    typer.echo(cli_texts.SCHEDULE_SAVED)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
