"""Ingest benchmark: reports through the whole path, next to a bare aiogram dispatcher.

Path measured: the fake Bot API (in its own process) → aiogram polling → inbox → handler → tagger →
commit → outbox → sender → sendMessage back to the fake server. Run: ``python bench/ingest.py [N [B]]``
(N reports per run, 10,000 by default; B bursts, 3 by default). Prints, for each burst and as their
median, reports/s and p50/p99 latency (injection to the receipt reaching the fake server), then two
paced runs: at half the burst rate, and at the target rate, where the latency shows whether the bot
keeps up with reports arriving that fast.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import eventloop  # noqa: E402 - after the path above

# Sending as a platform without a rate limit allows (a local Bot API server): with Telegram's 25
# messages/s the receipts, not the bot, would set the pace. 256 calls under way (the most the setting
# allows): a call's slot is held until its outcome is committed, and outcomes are committed between
# batches of updates, about every 0.1 s in a burst; with 128 the worker ran out of calls before each
# commit, and the cores stood idle for 11–19 % of a burst instead of 8–11 %. The calls run in the
# delivery worker, so the burst uses both cores.
SENDER_SETTINGS = {"telegram_rate": 100_000, "sender_concurrency": 256, "delivery_worker": True}
TARGET = 1_000  # reports/s: every hamlet of the country filing within the same two minutes

TEXTS = [
    "Bà con phản ánh giá phân bón tăng cao, đề nghị hỗ trợ",
    "dong bao Khmer to chuc le Chol Chnam Thmay tai chua, an toan",
    "Giáo xứ tổ chức lễ Phục sinh, trật tự tốt",
    "Khoảng 30 hộ kéo đến UBND xã đòi tiền đền bù",
    "nguoi dan lo lang vi tin don sap nhap truong",
]


def _server_process(conn: Any) -> None:
    """Run the fake Bot API in this process and answer the benchmark's commands."""
    from bot.gctune import freeze_startup_objects
    from bot.sandbox.fake_telegram import FakeTelegramServer

    async def main() -> None:
        server = FakeTelegramServer(max_poll_timeout=2)
        conn.send(await server.start())
        # The garbage collector set as the bot's processes set it: the server keeps every call and
        # message, and with the default thresholds it cost about 60 µs more per report (6 bursts).
        freeze_startup_objects()
        loop = asyncio.get_running_loop()
        while True:
            cmd, arg = await loop.run_in_executor(None, conn.recv)
            if cmd == "queue":
                first_user, count, pace = arg
                sent_at = {}
                start = time.monotonic()
                for i in range(count):
                    if pace:
                        # Each message at its due time; a sleep per message would fall behind the pace.
                        delay = start + i / pace - time.monotonic()
                        if delay > 0:
                            await asyncio.sleep(delay)
                    elif i % 100 == 99:
                        # A burst is queued in about 0.1 s; the bot's waiting getUpdates is answered
                        # meanwhile, as a real server answers it, not only once all are queued.
                        await asyncio.sleep(0)
                    uid = first_user + i
                    server.send_text(uid, TEXTS[i % len(TEXTS)] + f" (tin {i})")
                    sent_at[uid] = time.time()
                conn.send(sent_at)
            elif cmd == "replies":
                first_user, count, needle, timeout = arg
                deadline = time.time() + timeout
                got, seen = {}, 0
                while True:
                    calls = server.calls[seen:]  # only the calls since the last look: the server's CPU is measured
                    seen += len(calls)
                    for c in calls:
                        if c.method == "sendMessage" and c.ok and needle in str(c.params.get("text", "")):
                            uid = int(c.params["chat_id"])
                            if first_user <= uid < first_user + count:
                                got.setdefault(uid, c.at)
                    if len(got) >= count or time.time() > deadline:
                        break
                    await asyncio.sleep(0.05)
                conn.send(got)
            elif cmd == "cpu":
                conn.send(time.process_time())
            elif cmd == "fetched":
                # For the bare dispatcher: when each update left the server in a getUpdates answer.
                conn.send(len(server.calls_to("getUpdates")))
            elif cmd == "stop":
                await server.stop()
                conn.send("bye")
                return

    eventloop.run(main())


@dataclass
class Run:
    rate: float  # receipts per second, first injection to last receipt
    p50: float
    p99: float
    done: int
    bot_cpu: float  # CPU seconds per report in the bot's main process
    worker_cpu: float  # CPU seconds per report in the bot's delivery worker
    server_cpu: float  # CPU seconds per report in the fake server's process
    # Median latency of the first and of the last tenth of the reports sent: when the bot falls
    # behind reports arriving at a steady pace, the second grows with the length of the run.
    p50_first: float = 0.0
    p50_last: float = 0.0


def _stats(sent: dict[int, float], got: dict[int, float], bot_cpu: float, worker_cpu: float, server_cpu: float) -> Run:
    in_order = [got[u] - sent[u] for u in sorted(sent, key=sent.__getitem__) if u in got]
    if not in_order:
        return Run(0.0, 0.0, 0.0, 0, 0.0, 0.0, 0.0)
    lat = sorted(in_order)
    span = max(got.values()) - min(sent.values())
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    n = len(lat)
    tenth = max(1, n // 10)
    return Run(n / span, statistics.median(lat), p99, n, bot_cpu / n, worker_cpu / n, server_cpu / n,
               statistics.median(in_order[:tenth]), statistics.median(in_order[-tenth:]))


async def _seed(db_url: str, first_user: int, count: int) -> None:
    from bot.clock import SystemClock
    from bot.units_import import import_units
    from storage.db import create_engine, make_session_factory, upgrade
    from storage.models import Identity, Person
    from storage.uow import UnitOfWork

    await upgrade(db_url)
    engine = create_engine(db_url)
    units = "code,name,level,parent_code\nP,Tỉnh,Tỉnh,\n" + "".join(
        f"H{i},Thôn {i},Thôn,P\n" for i in range(200)
    )
    async with UnitOfWork(make_session_factory(engine)) as uow:
        await import_units(uow, units, actor="bench", now=SystemClock().now())
        by_code = await uow.units.by_codes()
        # Added together and flushed once: one insert statement for all of them, not one each.
        people = [Person(name=f"Báo cáo viên {i}", role="reporter", unit_id=by_code[f"H{i % 200}"].id,
                         active=True, preferred_channel="telegram") for i in range(count)]
        uow.session.add_all(people)
        await uow.session.flush()
        uow.session.add_all([Identity(person_id=person.id, channel="telegram", external_user_id=str(first_user + i),
                                      chat_id=str(first_user + i), display_name="", active=True)
                             for i, person in enumerate(people)])
        await uow.commit()
    await engine.dispose()


def _process_cpu(pid: int | None) -> float:
    """Return the CPU seconds another process has used so far (Linux), 0 if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def bench_full(conn: Any, base_url: str, n: int, pace: float, run: int) -> Run:
    """Drive ``n`` reports from new people (``run`` numbers them apart) and return the figures."""
    from bot.app import App
    from bot.gctune import freeze_startup_objects
    from bot.settings import Settings

    first_user = 100_000 + run * 10_000_000
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await _seed(db_url, first_user, n)
        settings = Settings(_env_file=None, database_url=db_url, telegram_bot_token="123456:TEST",  # type: ignore[call-arg]
                            telegram_api_base=base_url, report_merge_seconds=0, **SENDER_SETTINGS)
        app = App(settings)
        app.attach_telegram("123456:TEST", base_url)
        await app.start(webhook=False, scheduler=False)
        freeze_startup_objects()  # as `danvan run` does
        loop = asyncio.get_running_loop()
        conn.send(("cpu", None))
        server_cpu = await loop.run_in_executor(None, conn.recv)
        worker = app.delivery.pid if app.delivery is not None else None
        bot_cpu, worker_cpu = time.process_time(), _process_cpu(worker)
        conn.send(("queue", (first_user, n, pace)))
        sent = await loop.run_in_executor(None, conn.recv)
        conn.send(("replies", (first_user, n, "Đã nhận báo cáo", 300)))
        got = await loop.run_in_executor(None, conn.recv)
        bot_cpu, worker_cpu = time.process_time() - bot_cpu, _process_cpu(worker) - worker_cpu
        conn.send(("cpu", None))
        server_cpu = await loop.run_in_executor(None, conn.recv) - server_cpu
        await app.stop()
    return _stats(sent, got, bot_cpu, worker_cpu, server_cpu)


async def bench_bare(conn: Any, base_url: str, n: int) -> float:
    """A bare aiogram Dispatcher with a no-op handler: how fast updates can just be consumed."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    bot = Bot("123456:TEST", session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
    dp = Dispatcher()
    seen = 0
    done = asyncio.Event()

    @dp.message()
    async def noop(message: Any) -> None:
        nonlocal seen
        seen += 1
        if seen >= n:
            done.set()

    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    loop = asyncio.get_running_loop()
    start = time.time()
    conn.send(("queue", (900_000_000, n, 0)))
    await loop.run_in_executor(None, conn.recv)
    await asyncio.wait_for(done.wait(), 300)
    elapsed = time.time() - start
    await dp.stop_polling()
    await task
    await bot.session.close()
    return n / elapsed


def _line(label: str, run: Run, n: int) -> str:
    return (f"{label:<40} {run.rate:6.0f} reports/s  (p50 {run.p50 * 1000:.0f} ms, p99 {run.p99 * 1000:.0f} ms; "
            f"{run.done}/{n} receipts)")


def _cpu(run: Run) -> str:
    return (f"bot {run.bot_cpu * 1e6:.0f} µs + delivery worker {run.worker_cpu * 1e6:.0f} µs, "
            f"fake server {run.server_cpu * 1e6:.0f} µs")


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    bursts = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    parent, child = mp.Pipe()
    proc = mp.Process(target=_server_process, args=(child,), daemon=True)
    proc.start()
    base_url = parent.recv()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {load} (other work lowers the figures)")
    print(f"fake Bot API in a separate process at {base_url}; SQLite database; {n} reports per run; "
          f"sender: no rate limit, {SENDER_SETTINGS['sender_concurrency']} calls under way, delivery worker")
    bare = await bench_bare(parent, base_url, n)
    print(f"{'bare aiogram dispatcher, no-op handler:':<40} {bare:6.0f} updates/s")
    runs = []
    for i in range(bursts):
        run = await bench_full(parent, base_url, n, pace=0, run=i + 1)
        runs.append(run)
        print(_line(f"full path, burst {i + 1} of {n}:", run, n))
        print(f"  CPU per report: {_cpu(run)} (all three share the {os.cpu_count()} cores)")
    mid = sorted(runs, key=lambda r: r.rate)[len(runs) // 2]
    print(_line(f"full path, median of {bursts} bursts:", mid, n))
    half = max(50.0, round(mid.rate * 0.5, -1))
    for k, (rate, count, what) in enumerate(((half, min(n, int(half * 5)), "half the burst rate"),
                                             (float(TARGET), n, "the target"))):
        calm = await bench_full(parent, base_url, count, pace=rate, run=bursts + 1 + k)
        print(_line(f"full path, paced at {rate:.0f}/s ({what}):", calm, count))
        print(f"  latency p50 of the first and the last tenth sent: {calm.p50_first * 1000:.0f} ms, "
              f"{calm.p50_last * 1000:.0f} ms (it grows when the bot falls behind); CPU per report: {_cpu(calm)}")
    parent.send(("stop", None))
    parent.recv()
    proc.join(5)


if __name__ == "__main__":
    asyncio.run(main())  # the bot on asyncio's loop, as `danvan run` runs it
