"""A bot process for the crash test: the real App, with a handler that stalls after writing.

Run as ``python tests/crashy_bot.py`` with DATABASE_URL, TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE and
STALL_MARKER set; the test kills it with SIGKILL while it stalls.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bot.pipeline  # noqa: E402
from bot.app import App  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handlers.router import dispatch as real_dispatch  # noqa: E402

MARKER = Path(os.environ["STALL_MARKER"])


async def stalling_dispatch(ctx):  # type: ignore[no-untyped-def]
    result = await real_dispatch(ctx)  # the handler's writes are made, not yet committed
    await ctx.uow.session.flush()
    MARKER.write_text("stalled")
    await asyncio.sleep(60)
    return result


async def main() -> None:
    bot.pipeline.dispatch = stalling_dispatch  # type: ignore[assignment]
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    app = App(settings)
    app.attach_telegram(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base)  # type: ignore[union-attr]
    await app.start(webhook=False, scheduler=False)
    await asyncio.sleep(120)


if __name__ == "__main__":
    asyncio.run(main())
