"""`danvan digest`: write a period's digest as text, Word, Excel or chart from the command line."""

from __future__ import annotations

import asyncio
import html
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from bot import texts
from bot.digest.service import DigestService, Rendered, UnknownUnit
from bot.periods import Calendar
from bot.settings import Settings
from bot.texts import cli as cli_texts

CLI_FORMATS = ("text", "docx", "xlsx", "png")
TAG_RE = re.compile(r"<[^>]+>")
NO_LIMIT = 10**9


def plain(html_text: str) -> str:
    """Turn the chat summary's HTML into plain text for a terminal or a .txt file."""
    return html.unescape(TAG_RE.sub("", html_text))


async def _render(settings: Settings, period: str, unit: str | None, fmt: str, folder: Path) -> Rendered:
    from storage.db import create_engine, make_session_factory

    engine = create_engine(settings.database_url)
    try:
        calendar = Calendar(cutoff_day=settings.period_cutoff_day, tz=settings.timezone)
        service = DigestService(make_session_factory(engine), calendar, settings)
        return await service.render(period, unit, [fmt], limit=NO_LIMIT, out_dir=folder)
    finally:
        await engine.dispose()


def digest_command(
    period: Annotated[str, typer.Option("--period", help="Period key, e.g. 2026-Q1 (Q2-Q4 are cumulative)")],
    unit: Annotated[str | None, typer.Option("--unit", help="Unit code (default: every unit)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text | docx | xlsx | png")] = "text",
    out: Annotated[Path | None, typer.Option("--out", help="Output file (text: default standard output)")] = None,
) -> None:
    """Write the digest of a period for a unit's subtree as text, a Word draft, a workbook or a chart."""
    if fmt not in CLI_FORMATS:
        raise typer.BadParameter(cli_texts.unknown_format(fmt, list(CLI_FORMATS)), param_hint="--format")
    settings = Settings()
    try:
        Calendar(cutoff_day=settings.period_cutoff_day, tz=settings.timezone).period(period)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            rendered = asyncio.run(_render(settings, period, unit, fmt, Path(tmp)))
        except UnknownUnit:
            typer.echo(plain(texts.unknown_unit(unit or "")), err=True)
            raise typer.Exit(1) from None
        if fmt == "text":
            body = plain("\n\n".join(rendered.text)) + "\n"
            if out is None:
                sys.stdout.write(body)
            else:
                out.write_text(body, encoding="utf-8")
            return
        target = out or Path(rendered.public_name(fmt))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(rendered.files[fmt]), target)
    typer.echo(texts.digest_written(str(target), target.stat().st_size))
