"""Bot API call cost: CPU per sendMessage on the bot's side and on the fake Telegram server's side.

The fake Bot API runs in its own process; the bot sends receipt-like messages (HTML, a 2x2 inline
keyboard, no link preview) at a fixed concurrency through aiogram, once with aiogram's stock
``AiohttpSession`` (a form per call) and once with the project's ``make_bot``, alternating for a few
rounds. As in the running bot, a getUpdates long poll waits on the server meanwhile. Client CPU is
this process's ``time.process_time()``; server CPU is the server process's user + system time; both
are divided by the sendMessage calls made. The machine is shared, so the median and the
minimum over the rounds are printed. Run: ``python bench/telegram_calls.py [N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TOKEN = "123456:TEST"
FIRST_CHAT = 500_000
CHATS = 1000
TEXT = (
    "Đã nhận báo cáo số <b>#{n}</b>.\nChủ đề: Tình hình Nhân dân\n"
    "Căn cứ: giá phân bón; đề nghị hỗ trợ\nNếu phân loại chưa đúng, bấm nút bên dưới để sửa."
)
BUTTONS = [[("✅ Nhân dân", "t:{n}:nd"), ("▫️ Dân tộc", "t:{n}:dt")], [("▫️ Tôn giáo", "t:{n}:tg"), ("Khẩn", "u:{n}")]]
Result = tuple[float, float, float, float]


def _server_process(conn: Any) -> None:
    """Run the fake Bot API here and report this process's CPU time (and a profile) on request."""
    import cProfile
    import io
    import pstats

    from bot.sandbox.fake_telegram import FakeTelegramServer

    profiler = cProfile.Profile(time.process_time)  # CPU time: the machine is shared

    async def main() -> None:
        server = FakeTelegramServer(TOKEN)
        conn.send(await server.start())
        loop = asyncio.get_running_loop()
        while True:
            cmd = await loop.run_in_executor(None, conn.recv)
            if cmd == "cpu":
                sent = server.calls_to("sendMessage")
                failed = [c for c in sent if not c.ok]
                times = os.times()
                conn.send((times.user + times.system, times.system, len(sent), len(failed),
                           failed[-1].error if failed else None))
            elif cmd == "profile-start":
                profiler.enable()
                conn.send(None)
            elif cmd == "profile-stop":
                profiler.disable()
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
                conn.send(out.getvalue())
            elif cmd == "stop":
                await server.stop()
                conn.send("bye")
                return

    asyncio.run(main())


def _aiogram_bot(base_url: str) -> Any:
    """A Bot with aiogram's stock session (what make_bot used before the JSON session)."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))


def _project_bot(base_url: str) -> Any:
    from bot.telegram.runtime import make_bot

    return make_bot(TOKEN, base_url)


async def _send_all(bot: Any, start: int, count: int, concurrency: int) -> None:
    """Send ``count`` receipts from ``concurrency`` tasks, as the sender does, through ``bot.send_message``."""
    from aiogram.types import InlineKeyboardMarkup

    from bot.telegram.channel import NO_PREVIEW, keyboard_json

    numbers = iter(range(start, start + count))

    async def worker() -> None:
        for n in numbers:
            rows = [[{"label": label, "payload": data.format(n=n)} for label, data in row] for row in BUTTONS]
            await bot.send_message(FIRST_CHAT + n % CHATS, TEXT.format(n=n), parse_mode="HTML",
                                   reply_markup=InlineKeyboardMarkup.model_validate(keyboard_json(rows)), link_preview_options=NO_PREVIEW)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _ask(conn: Any, cmd: str) -> Any:
    conn.send(cmd)
    return await asyncio.get_running_loop().run_in_executor(None, conn.recv)


async def _poll(bot: Any) -> None:
    """Keep a getUpdates long poll waiting on the server, as the running bot does."""
    while True:
        await bot.get_updates(timeout=30, allowed_updates=["message", "callback_query"])


async def measure(conn: Any, bot: Any, n: int, concurrency: int, start: int) -> Result:
    """Return client µs/call, server µs/call (user + system), the server's system part, calls/s."""
    before = await _ask(conn, "cpu")
    wall, cpu = time.perf_counter(), time.process_time()
    await _send_all(bot, start, n, concurrency)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    after = await _ask(conn, "cpu")
    calls, failed = after[2] - before[2], after[3] - before[3]
    if calls != n or failed:
        raise SystemExit(f"the server saw {calls} calls, {failed} failed: {after[4]}")
    return cpu / n * 1e6, (after[0] - before[0]) / n * 1e6, (after[1] - before[1]) / n * 1e6, n / wall


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=2000, help="sendMessage calls per round and bot")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile-server", action="store_true",
                        help="print the fake server's cProfile top 25 for the project bot's last round")
    args = parser.parse_args()

    parent, child = mp.Pipe()
    proc = mp.Process(target=_server_process, args=(child,), daemon=True)
    proc.start()
    base_url = parent.recv()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"fake Bot API in a separate process at {base_url}; {args.rounds} rounds of {args.n} sendMessage calls "
          f"(HTML, 2x2 inline keyboard) per bot, concurrency {args.concurrency}")
    bots = {"aiogram AiohttpSession (form)": _aiogram_bot(base_url), "project make_bot": _project_bot(base_url)}
    results: dict[str, list[Result]] = {label: [] for label in bots}
    start = 0
    polling = _aiogram_bot(base_url)
    poller = asyncio.create_task(_poll(polling))
    try:
        for bot in bots.values():  # warm up: connections, imports, pydantic schemas
            await _send_all(bot, start, 300, args.concurrency)
            start += 300
        for r in range(args.rounds):
            for label, bot in bots.items():
                profile = args.profile_server and r == args.rounds - 1 and label == "project make_bot"
                if profile:
                    await _ask(parent, "profile-start")
                results[label].append(await measure(parent, bot, args.n, args.concurrency, start))
                start += args.n
                if profile:
                    print(await _ask(parent, "profile-stop"))
    finally:
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
        for bot in [*bots.values(), polling]:
            await bot.session.close()
    print("CPU µs per sendMessage, median (min) over the rounds:")
    for label, rows in results.items():
        client, server, system, rate = (sorted(column) for column in zip(*rows, strict=True))
        mid = len(rows) // 2
        print(f"  {label:30s} client {client[mid]:5.0f} ({client[0]:4.0f})   server {server[mid]:5.0f} "
              f"({server[0]:4.0f}; system {system[mid]:4.0f})   {rate[mid]:5.0f} calls/s")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    await _ask(parent, "stop")
    proc.join(5)


if __name__ == "__main__":
    asyncio.run(main())
