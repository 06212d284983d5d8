"""Benchmark the delivery engine: one notice to N recipients through the fake Bot API at its rate limit.

The fake Telegram server runs in this process and enforces ``--rate`` messages per second overall,
answering 429 beyond it. The real sender runs in a separate worker process (this module with
``--worker``), like production. Two runs:

1. a clean run: achieved rate against the configured limit, 429s received, duplicates, missing, time;
2. the same with ``kill -9`` of the worker half way and a restart: no message may be missing, and
   duplicates may only come from the rows in flight at the kill (at most ``--concurrency``).

Usage (from the repository root)::

    .venv/bin/python -m bench.broadcast                     # 10,000 recipients at 25/s: ~400 s per run, ~14 min
    .venv/bin/python -m bench.broadcast --recipients 1000   # ~40 s per run
    .venv/bin/python -m bench.broadcast --database-url postgresql+asyncpg://u@host/empty_db

With no ``--database-url`` a SQLite file in a temporary folder is used.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import platform
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.clock import SystemClock
from bot.notices import Audience, create_draft, start_sending
from bot.sandbox.fake_telegram import Call, FakeTelegramServer
from bot.units_import import import_units
from storage.db import create_engine, make_session_factory, upgrade
from storage.models import Person
from storage.uow import UnitOfWork

ROOT = Path(__file__).resolve().parent.parent
FIRST_USER_ID = 100_000
ADMIN_USER_ID = 99_999
UNITS = "code,name,level,parent_code\nB,Tỉnh Thử,Tỉnh,\n" + "".join(
    f"B-X{x},Xã {x},Xã,B\n" + "".join(f"B-X{x}-T{t},Thôn {t},Thôn,B-X{x}\n" for t in range(1, 11))
    for x in range(1, 21)
)


# --- The worker process ------------------------------------------------------------------------


async def run_worker(args: argparse.Namespace) -> None:
    """Drain the outbox of the Telegram channel until it is empty (``--until-empty``) or killed."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from bot.notices import NoticeProgress
    from bot.sender import Sender
    from bot.telegram.channel import TelegramChannel

    logging.basicConfig(level=logging.WARNING, format=f"worker {os.getpid()}: %(message)s")
    engine = create_engine(args.database_url)
    sf = make_session_factory(engine)
    clock = SystemClock()
    bot = Bot(args.token, session=AiohttpSession(api=TelegramAPIServer.from_base(args.api_base)))
    sender = Sender(sf, clock, {"telegram": TelegramChannel(bot)}, {"telegram": args.rate},
                    concurrency=args.concurrency)
    if args.progress:
        sender.listeners.append(NoticeProgress(sf, clock, wake=sender.wake))
    requeued = await sender.requeue_stale(older_than=timedelta(seconds=args.requeue_older_than))
    _emit({"event": "start", "pid": os.getpid(), "requeued": requeued})
    task = asyncio.create_task(sender.run())
    try:
        empty_since: float | None = None
        while args.until_empty and not task.done():
            await asyncio.sleep(0.3)
            async with UnitOfWork(sf) as uow:
                empty = await uow.outbox.pending_count("telegram") == 0
            empty_since = (empty_since or time.monotonic()) if empty else None
            # With progress on, wait longer than its interval: the summary is queued after the last row.
            if empty_since is not None and time.monotonic() - empty_since > (2.5 if args.progress else 0):
                sender.stop()
        await task
    finally:
        _emit({"event": "done", "stats": sender.stats})
        await bot.session.close()
        await engine.dispose()


def _emit(event: dict[str, Any]) -> None:
    print(json.dumps(event), flush=True)  # noqa: T201 - the parent process reads these lines


def worker_command(database_url: str, api_base: str, token: str, *, rate: float, concurrency: int = 8,
                   requeue_older_than: float = 0, progress: bool = False) -> list[str]:
    """Return the command line of a worker process (used by the benchmark and the tests)."""
    cmd = [sys.executable, "-m", "bench.broadcast", "--worker", "--until-empty", "--database-url", database_url,
           "--api-base", api_base, "--token", token, "--rate", str(rate), "--concurrency", str(concurrency),
           "--requeue-older-than", str(requeue_older_than)]
    return cmd + (["--progress"] if progress else [])


async def start_worker(cmd: list[str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(*cmd, cwd=str(ROOT), stdout=asyncio.subprocess.PIPE)


async def worker_events(proc: asyncio.subprocess.Process) -> list[dict[str, Any]]:
    """Wait for a worker to end and return the events it printed."""
    out, _ = await proc.communicate()
    return [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]


# --- The benchmark -----------------------------------------------------------------------------


async def seed(sf: Any, recipients: int) -> Person:
    """Create a tree of 200 hamlets, an admin and ``recipients`` reporters with Telegram accounts."""
    now = SystemClock().now()
    async with UnitOfWork(sf) as uow:
        await import_units(uow, UNITS, actor="bench", now=now)
        units = [u for code, u in (await uow.units.by_codes()).items() if "-T" in code]
        admin = await uow.people.add("Quản Trị Bench", "admin", None, preferred_channel="telegram")
        await uow.people.add_identity(admin, "telegram", str(ADMIN_USER_ID), str(ADMIN_USER_ID), "Admin")
        for i in range(recipients):
            person = await uow.people.add(f"Cán bộ {i}", "reporter", units[i % len(units)].id, "telegram")
            uid = str(FIRST_USER_ID + i)
            await uow.people.add_identity(person, "telegram", uid, uid, person.name)
        await uow.commit()
    return admin


async def queue_notice(sf: Any, admin: Person, text: str, progress_message_id: str) -> tuple[int, int]:
    now = SystemClock().now()
    async with UnitOfWork(sf) as uow:
        notice, _ = await create_draft(uow, admin, text, None, Audience("all"), now)
        total = await start_sending(uow, notice, admin, now,
                                    progress=("telegram", str(ADMIN_USER_ID), progress_message_id))
        await uow.commit()
    return notice.id, total or 0


def _is_notice(call: Call, notice_id: int) -> bool:
    return call.ok and call.method == "sendMessage" and f"THÔNG BÁO #{notice_id}</b>" in str(call.params.get("text"))


def measure(server: FakeTelegramServer, notice_id: int, recipients: int, since: int, rate: float) -> dict[str, Any]:
    """Count deliveries of one notice per chat, and the rate of all accepted messages while it was sent.

    The rate counts every message the server accepted between the first and the last delivery of the
    notice (progress edits share the limit). ``downtime`` is the longest silence beyond one interval:
    after a kill -9 it is the restart, which ``active_rate`` leaves out.
    """
    calls = server.calls[since:]
    per_chat = Counter(int(c.params["chat_id"]) for c in calls if _is_notice(c, notice_id))
    notice_times = sorted(c.at for c in calls if _is_notice(c, notice_id))
    first, last = (notice_times[0], notice_times[-1]) if notice_times else (0.0, 0.0)
    accepted = sorted(c.at for c in calls if c.ok and c.method in ("sendMessage", "editMessageText")
                      and first <= c.at <= last)
    span = last - first
    gaps = [b - a for a, b in zip(accepted, accepted[1:], strict=False)]
    downtime = max(0.0, max(gaps, default=0.0) - 1.0 / rate)
    return {
        "delivered": len(per_chat),
        "missing": recipients - sum(1 for uid in range(FIRST_USER_ID, FIRST_USER_ID + recipients) if per_chat[uid]),
        "duplicates": sum(n - 1 for n in per_chat.values() if n > 1),
        "rate": (len(accepted) - 1) / span if span else 0.0,
        "active_rate": (len(accepted) - 1) / (span - downtime) if span > downtime else 0.0,
        "downtime": downtime,
        "messages": len(accepted),
        "http_429": sum(1 for c in calls if c.status == 429),
        "span": span,
        "summary": any(c.ok and f"thông báo #{notice_id}</b>" in str(c.params.get("text")) for c in calls),
    }


async def bench(args: argparse.Namespace) -> int:
    tmp = tempfile.mkdtemp(prefix="bench-broadcast-")
    url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
    await upgrade(url)
    engine = create_engine(url)
    sf = make_session_factory(engine)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "  # noqa: T201
          f"{platform.system()} {platform.release()}; database: {url.split(':', 1)[0]}\n"
          f"Seeding {args.recipients:,} recipients …", flush=True)
    seeded = time.monotonic()
    admin = await seed(sf, args.recipients)
    print(f"Seeded in {time.monotonic() - seeded:.1f} s", flush=True)  # noqa: T201
    server = FakeTelegramServer(global_rate=args.rate)
    await server.start()
    # The fake server shares this process with a large heap (the Bot API spec, aiogram, the seeding,
    # every call it records); a full garbage collection stalls it for up to a few hundred ms and then
    # lets a burst through, which Telegram would not do. The rig runs without the collector.
    gc.collect()
    gc.freeze()
    gc.disable()
    failures = 0
    try:
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        bot = Bot(server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))
        cmd = worker_command(url, server.base_url, server.token, rate=args.rate, concurrency=args.concurrency,
                             progress=True)
        for crash in (False, True) if not args.skip_crash else (False,):
            preview = await bot.send_message(ADMIN_USER_ID, "Xem trước thông báo")
            await asyncio.sleep(1.0)  # let the preview leave the server's one-second window
            mark = server.mark()
            queued = time.monotonic()
            notice_id, total = await queue_notice(sf, admin, f"Bench {'crash' if crash else 'clean'} run",
                                                  str(preview.message_id))
            print(f"Notice #{notice_id}: {total:,} outbox rows written in one transaction in "  # noqa: T201
                  f"{time.monotonic() - queued:.2f} s", flush=True)
            started = time.monotonic()
            extra = await _run(cmd, server, notice_id, total, crash)
            elapsed = time.monotonic() - started
            await asyncio.sleep(2.5)  # the last progress edit and the summary
            figures = measure(server, notice_id, total, mark, args.rate)
            failures += _report(args, figures, elapsed, crash, extra)
        await bot.session.close()
    finally:
        gc.enable()
        await server.stop()
        await engine.dispose()
    return 1 if failures else 0


async def _run(cmd: list[str], server: FakeTelegramServer, notice_id: int, total: int, crash: bool) -> dict[str, Any]:
    proc = await start_worker(cmd)
    if not crash:
        await worker_events(proc)
        return {}
    seen, delivered = server.mark(), 0
    while delivered < total // 2 and proc.returncode is None:
        await asyncio.sleep(0.05)
        upto = server.mark()
        delivered += sum(1 for c in server.calls[seen:upto] if _is_notice(c, notice_id))
        seen = upto
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()
    killed_at = delivered + sum(1 for c in server.calls[seen:] if _is_notice(c, notice_id))
    restarted = await worker_events(await start_worker(cmd))
    start = next((e for e in restarted if e.get("event") == "start"), {})
    return {"killed_after": killed_at, "requeued": start.get("requeued", 0)}


def _report(args: argparse.Namespace, f: dict[str, Any], elapsed: float, crash: bool, extra: dict[str, Any]) -> int:
    rate = f["active_rate"] if crash else f["rate"]
    share = rate / args.rate
    window = args.concurrency
    ok = f["missing"] == 0 and f["duplicates"] <= (window if crash else 0) and share >= 0.95
    title = "kill -9 half way, then restart" if crash else "clean run"
    achieved = (f"{f['active_rate']:.2f} msg/s of {args.rate:g} configured ({share:.1%}) while a worker ran; "
                f"{f['rate']:.2f}/s including {f['downtime']:.1f} s of restart" if crash
                else f"{f['rate']:.2f} msg/s of {args.rate:g} configured ({share:.1%})")
    lines = [
        f"\n== {title}: {args.recipients:,} recipients ==",
        f"achieved rate   {achieved}",
        f"messages        {f['messages']:,} accepted while the notice went out (notices and progress edits)",
        f"429 received    {f['http_429']}",
        f"duplicates      {f['duplicates']}" + (f" (allowed: the rows in flight at the kill, at most {window})"
                                                if crash else ""),
        f"missing         {f['missing']}",
        f"time            {f['span']:.1f} s from first to last delivery; {elapsed:.1f} s wall clock with worker start",
        f"summary sent    {'yes' if f['summary'] else 'no'}",
    ]
    if crash:
        lines.append(f"kill -9         after {extra.get('killed_after', 0):,} deliveries; "
                     f"{extra.get('requeued', 0)} rows requeued at restart (claimed or in flight)")
    lines.append(f"result          {'PASS' if ok else 'FAIL'}")
    print("\n".join(lines), flush=True)  # noqa: T201
    return 0 if ok else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipients", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=25.0, help="the configured and enforced messages per second")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--database-url", default="")
    p.add_argument("--skip-crash", action="store_true", help="only the clean run")
    worker = p.add_argument_group("worker process (internal)")
    worker.add_argument("--worker", action="store_true")
    worker.add_argument("--until-empty", action="store_true")
    worker.add_argument("--api-base", default="")
    worker.add_argument("--token", default="")
    worker.add_argument("--requeue-older-than", type=float, default=0.0)
    worker.add_argument("--progress", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        asyncio.run(run_worker(args))
        return 0
    return asyncio.run(bench(args))


if __name__ == "__main__":
    raise SystemExit(main())
