"""The one digest service used by /tonghop, the scheduled digest and the CLI: build, render, reply."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot import texts
from bot.digest.build import build_digest
from bot.digest.chart import render_chart
from bot.digest.docx import render_docx
from bot.digest.model import Digest
from bot.digest.text import LIMITS, TELEGRAM_LIMIT, render_text
from bot.digest.xlsx import render_xlsx
from bot.periods import Calendar, Period
from bot.settings import Settings
from handlers.types import OutFile, Reply
from storage.models import Person, Unit
from storage.repos.digest import DigestRepo
from storage.uow import UnitOfWork

FORMATS = ("text", "png", "docx", "xlsx")
FILE_FORMATS = ("png", "docx", "xlsx")
EXTENSIONS = {"png": "png", "docx": "docx", "xlsx": "xlsx"}
PUBLIC_NAMES = {"png": "BieuDo", "docx": "BaoCao", "xlsx": "SoLieu"}
KEEP_FILES = timedelta(days=14)  # long enough for the outbox to deliver them after any outage


def prune(root: Path, keep: timedelta) -> int:
    """Delete rendered digest files older than ``keep`` under root; return how many went."""
    if not root.is_dir():
        return 0
    cutoff = time.time() - keep.total_seconds()
    gone = 0
    for path in root.glob("*/*"):
        if path.suffix.lstrip(".") in EXTENSIONS.values() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            gone += 1
    return gone


class UnknownUnit(LookupError):
    """No unit has the code given."""


@dataclass
class Rendered:
    """A built digest with its chat text (already split) and the files written for it."""

    digest: Digest
    text: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)

    def public_name(self, fmt: str) -> str:
        """Return the file name the recipient sees, e.g. "BaoCao_2026-Q1_X1.docx"."""
        code = self.digest.scope.code or "tat-ca"
        return f"{PUBLIC_NAMES[fmt]}_{self.digest.period.key}_{code}.{EXTENSIONS[fmt]}"


class DigestService:
    """Build the digest of a period for a unit and render it as text, chart, Word draft and workbook."""

    def __init__(self, session_factory: async_sessionmaker[Any] | None, calendar: Calendar, settings: Settings) -> None:
        self.session_factory = session_factory
        self.calendar = calendar
        self.settings = settings
        # Recipients of one scheduled run share one rendering (same period, unit, moment and channel).
        self._shared: dict[tuple[str, int | None, datetime, str], Rendered] = {}

    @property
    def out_dir(self) -> Path:
        return (self.settings.data_dir / "digests").resolve()

    def period(self, period: str | Period) -> Period:
        return self.calendar.period(period) if isinstance(period, str) else period

    async def build(self, uow: UnitOfWork, period: str | Period, unit: Unit | None, now: datetime | None = None) -> Digest:
        """Build the digest of a period for a unit's subtree (None: every unit)."""
        return await build_digest(uow, self.calendar, self.period(period), unit, now or datetime.now(UTC))

    async def render_with(
        self, uow: UnitOfWork, period: str | Period, unit: Unit | None, formats: Iterable[str] = FORMATS, *,
        now: datetime | None = None, limit: int = TELEGRAM_LIMIT, out_dir: Path | None = None,
    ) -> Rendered:
        """Build the digest in an open unit of work and render the formats asked for."""
        wanted = set(formats)
        unknown = wanted - set(FORMATS)
        if unknown:
            raise ValueError(f"unknown digest format(s): {', '.join(sorted(unknown))}")
        digest = await self.build(uow, period, unit, now)
        rendered = Rendered(digest)
        if "text" in wanted:
            rendered.text = render_text(digest, limit)
        if out_dir is None:
            await asyncio.to_thread(prune, self.out_dir, KEEP_FILES)
        folder = out_dir or self.out_dir / digest.period.key
        stem = f"{digest.scope.code or 'all'}-{digest.generated_at.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        chart = folder / f"{stem}.png"
        if "png" in wanted or "docx" in wanted:  # the Word draft embeds the chart
            await asyncio.to_thread(render_chart, digest, chart)
            if "png" in wanted:
                rendered.files["png"] = chart
        if "docx" in wanted:
            rendered.files["docx"] = await asyncio.to_thread(render_docx, digest, folder / f"{stem}.docx", chart)
        if "xlsx" in wanted:
            rendered.files["xlsx"] = await render_xlsx(digest, DigestRepo(uow.session), folder / f"{stem}.xlsx")
        return rendered

    async def render(
        self, period: str | Period, unit_code: str | None = None, formats: Iterable[str] = FORMATS, *,
        now: datetime | None = None, limit: int = TELEGRAM_LIMIT, out_dir: Path | None = None,
    ) -> Rendered:
        """Open a unit of work, build the digest for a unit code (None: every unit) and render it."""
        if self.session_factory is None:
            raise RuntimeError("DigestService.render needs a session factory")
        async with UnitOfWork(self.session_factory) as uow:
            unit = None
            if unit_code:
                unit = await uow.units.by_code(unit_code)
                if unit is None:
                    raise UnknownUnit(unit_code)
            return await self.render_with(uow, period, unit, formats, now=now, limit=limit, out_dir=out_dir)

    async def replies_for(
        self, uow: UnitOfWork, person: Person, period: str | Period, channel: str, *,
        unit: Unit | None = None, now: datetime | None = None, to_person: bool = False, dedupe: str | None = None,
        shared: bool = False,
    ) -> list[Reply]:
        """Return the digest for a person as replies: the summary, the chart, the Word draft and the workbook."""
        # Scope: ``unit`` if given (the caller checked it), else the person's unit; an admin without
        # one gets every unit. ``to_person`` addresses the replies to the person (scheduled delivery)
        # rather than the current chat, with ``dedupe`` as the prefix of the outbox keys. ``shared``
        # (a scheduled run, passing its fire time as ``now``) renders once for all officers of a unit.
        if unit is None and person.unit_id is not None:
            unit = await uow.units.get(person.unit_id)
        if unit is None and person.role != "admin":
            return [Reply(texts.TONGHOP_NO_UNIT, to_person_id=person.id if to_person else None)]
        moment = now or datetime.now(UTC)
        p = self.period(period)
        key = (p.key, unit.id if unit else None, moment, channel)
        rendered = self._shared.get(key) if shared else None  # a request in chat is always fresh
        if rendered is None:
            rendered = await self.render_with(uow, p, unit, FORMATS, now=moment, limit=LIMITS.get(channel, TELEGRAM_LIMIT))
            if shared:  # keep the current run's renderings only
                self._shared = {k: v for k, v in self._shared.items() if k[2] == moment}
                self._shared[key] = rendered
        return self._replies(rendered, person.id if to_person else None, dedupe)

    @staticmethod
    def _replies(rendered: Rendered, to: int | None, dedupe: str | None) -> list[Reply]:
        """Turn a rendering into replies: text chunks first, then the chart, the draft and the workbook."""
        captions = {"png": texts.DIGEST_CHART_CAPTION, "docx": texts.DIGEST_DOCX_CAPTION, "xlsx": texts.DIGEST_XLSX_CAPTION}
        replies = [Reply(chunk) for chunk in rendered.text]
        for fmt in FILE_FORMATS:
            path = rendered.files.get(fmt)
            if path is not None:
                out = OutFile(str(path), rendered.public_name(fmt), "photo" if fmt == "png" else "document", captions[fmt])
                replies.append(Reply("", file=out))
        for n, reply in enumerate(replies):
            reply.to_person_id = to
            reply.dedupe = f"{dedupe}:{n}" if dedupe else None
            reply.priority = 1 if to is not None else 0  # scheduled delivery is bulk traffic
        return replies
