"""Killing the bot while it handles an update, then starting it again, handles that update exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import func, select

from bot.sandbox.fake_telegram import FakeTelegramServer
from storage.models import InboxItem, Person
from tests.e2e import make_settings, running_app, seed

ROOT = Path(__file__).resolve().parents[1]


async def test_kill_9_during_handling_then_restart_handles_it_once(db_url: str, tmp_path: Path) -> None:
    marker = tmp_path / "stalled"
    async with FakeTelegramServer() as server:
        settings = make_settings(db_url, server)
        async with running_app(settings) as app:
            code = await seed(app)
        env = {
            **os.environ, "DATABASE_URL": db_url, "TELEGRAM_BOT_TOKEN": server.token,
            "TELEGRAM_API_BASE": server.base_url, "STALL_MARKER": str(marker), "REPORT_MERGE_SECONDS": "0",
        }
        proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "tests" / "crashy_bot.py"), env=env, cwd=tmp_path)
        try:
            server.send_text(777, f"/dangky {code}", first_name="Lò Thị Hoa")
            for _ in range(300):
                if marker.exists():
                    break
                await asyncio.sleep(0.05)
            assert marker.exists(), "the bot never reached the handler"
        finally:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        assert not any("Lò Thị Hoa" in e.plain_text for e in server.sent_to(777))
        async with running_app(settings) as app:
            async with app.session_factory() as session:
                assert (await session.execute(select(func.count(Person.id)))).scalar_one() == 0
                status = (await session.execute(select(InboxItem.status))).scalars().all()
            assert status == ["new"], "the update was stored before handling and is still to do"
            await app.start(webhook=False, scheduler=False)
            await server.wait_for(lambda c: c.method.lower() == "sendmessage" and "Lò Thị Hoa" in c.params.get("text", ""))
            await server.wait_idle()
            async with app.session_factory() as session:
                people = (await session.execute(select(func.count(Person.id)))).scalar_one()
                status = (await session.execute(select(InboxItem.status))).scalars().all()
        confirmations = [e for e in server.sent_to(777) if "Lò Thị Hoa" in e.plain_text]
        assert people == 1 and status == ["done"] and len(confirmations) == 1
