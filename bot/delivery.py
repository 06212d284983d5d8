"""Platform calls in a separate process, so the HTTP work of a burst of replies runs on a second core.

The sender keeps everything that touches the database: claims, rate limits, retries, outcomes and the
crash window are exactly as without the worker. Only ``deliver`` crosses over: the main process
writes one JSON line per call to the worker's standard input (``python -m bot.delivery``), and the
worker answers each with one line on its standard output, in the order the calls finish. The first
line carries the channels' settings (tokens included, which is why they do not go on the command
line); the worker answers it with a ready line. Its logs go to the shared standard error.

A call that is under way when the worker dies fails as ``ChannelUnavailable``, so the sender retries
it like any network error (the platform may have accepted it: the same case as a timeout). The
worker is started again (after a growing delay if it keeps dying at once); calls made meanwhile wait
for it. When the main process stops, it
closes the worker's input: the worker finishes the calls it has, then exits. If the main process is
killed, the worker sees its input end and exits as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import sys
import time
import traceback
from typing import Any

from bot import eventloop, jsoncodec
from bot.channels import ChannelAdapter
from bot.errors import ChannelBlocked, ChannelError, ChannelRateLimited, ChannelRejected, ChannelUnavailable
from bot.gctune import freeze_startup_objects

log = logging.getLogger(__name__)

LINE_LIMIT = 16 * 1024 * 1024  # a line holds one message: 4,096 characters at most, plus buttons
START_TIMEOUT = 60.0  # seconds for the worker to import its libraries and say it is ready
STOP_TIMEOUT = 15.0  # seconds for the worker to finish its calls after its input closed
RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
QUICK_EXIT = 10.0  # seconds: a worker that dies sooner is started again after a growing delay

ERRORS: dict[str, type[ChannelError]] = {
    "blocked": ChannelBlocked,
    "rejected": ChannelRejected,
    "unavailable": ChannelUnavailable,
}


def encode_error(exc: BaseException) -> dict[str, Any]:
    """Return the answer fields for a failed call: the neutral error's kind, description and wait."""
    if isinstance(exc, ChannelRateLimited):
        return {"error": "rate_limited", "description": exc.description, "retry_after": exc.retry_after}
    for kind, cls in ERRORS.items():
        if isinstance(exc, cls):
            return {"error": kind, "description": exc.description}
    # A bug in an adapter: retried like a network error; its message may quote the text, so only the type.
    return {"error": "unavailable", "description": f"delivery worker: {type(exc).__name__}"}


def decode_error(answer: dict[str, Any]) -> ChannelError:
    """Return the neutral error an answer line describes."""
    description = str(answer.get("description") or "")
    if answer.get("error") == "rate_limited":
        return ChannelRateLimited(float(answer.get("retry_after") or 1.0), description)
    return ERRORS.get(str(answer.get("error")), ChannelUnavailable)(description)


class DeliveryWorker:
    """The main process's side: start the worker, pass calls to it, start it again if it dies."""

    def __init__(self, config: dict[str, dict[str, Any]], *, log_level: str = "INFO") -> None:
        self.config = config  # channel name -> what the worker needs to build its adapter
        self.log_level = log_level
        self.restarts = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._ready = asyncio.Event()
        self._pending: dict[int, asyncio.Future[str | None]] = {}
        self._next_id = 0
        self._out: list[bytes] = []
        self._stopping = False
        self._stop_requested = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._started: asyncio.Future[None] | None = None

    @property
    def pid(self) -> int | None:
        """Return the running worker's process id."""
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None

    def channel(self, name: str) -> RemoteChannel:
        """Return the adapter the sender uses for ``name``: its calls run in the worker."""
        return RemoteChannel(name, self)

    async def start(self) -> None:
        """Start the worker and wait until it is ready; raise if it cannot start."""
        self._stopping = False
        self._stop_requested.clear()
        self._started = asyncio.get_running_loop().create_future()
        self._supervisor = asyncio.create_task(self._supervise(), name="delivery-worker")
        await self._started

    async def stop(self) -> None:
        """Let the worker finish the calls it has, then end it."""
        self._stopping = True
        self._stop_requested.set()
        proc = self._proc
        if proc is not None and proc.stdin is not None and not proc.stdin.is_closing():
            self._flush()
            proc.stdin.close()
        if self._supervisor is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._supervisor), STOP_TIMEOUT)
            except TimeoutError:
                log.warning("the delivery worker did not stop in time; killing it")
                if self._proc is not None and self._proc.returncode is None:
                    self._proc.kill()
                await self._supervisor
            self._supervisor = None

    async def call(self, channel: str, chat_id: str, payload: dict[str, Any]) -> str | None:
        """Deliver one message through the worker; raise the neutral error it reports."""
        if not self._ready.is_set():
            if self._stopping or self._supervisor is None:
                raise ChannelUnavailable("the delivery worker is not running")
            try:
                await asyncio.wait_for(self._ready.wait(), START_TIMEOUT)
            except TimeoutError:
                raise ChannelUnavailable("the delivery worker is starting again") from None
        self._next_id += 1
        call_id = self._next_id
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        self._send({"id": call_id, "channel": channel, "chat": chat_id, "payload": payload})
        try:
            return await future
        finally:
            self._pending.pop(call_id, None)

    # ------------------------------------------------------------------ internals

    def _send(self, message: dict[str, Any]) -> None:
        # Lines written in one turn of the loop go out in one write: fewer system calls on both sides.
        if not self._out:
            asyncio.get_running_loop().call_soon(self._flush)
        self._out.append(jsoncodec.dumps_bytes(message) + b"\n")

    def _flush(self) -> None:
        lines, self._out = self._out, []
        proc = self._proc
        if lines and proc is not None and proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.write(b"".join(lines))

    async def _spawn(self) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.delivery",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=LINE_LIMIT,
        )
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(jsoncodec.dumps_bytes({"channels": self.config, "log_level": self.log_level}) + b"\n")
        try:
            ready = jsoncodec.loads(await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT) or b"{}").get("ready")
        except (TimeoutError, ValueError, AttributeError):
            ready = False
        if not ready:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise RuntimeError("the delivery worker did not start (see its log above)")
        return proc

    async def _supervise(self) -> None:
        assert self._started is not None
        failures = 0
        while not self._stopping:
            try:
                self._proc = await self._spawn()
            except Exception as exc:  # noqa: BLE001 - reported to start() the first time, retried later
                if not self._started.done():
                    self._started.set_exception(exc)
                    return
                log.error("the delivery worker did not start again (%s)", exc)
                failures += 1
                await self._pause(failures)
                continue
            if self._stopping:  # stop() came while it was starting: let it end at once
                assert self._proc.stdin is not None
                self._proc.stdin.close()
            else:
                self._ready.set()
            if not self._started.done():
                self._started.set_result(None)
            began = time.monotonic()
            await self._read_answers(self._proc)
            self._ready.clear()
            code = await self._proc.wait()
            self._fail_pending("the delivery worker stopped")
            if self._stopping:
                return
            self.restarts += 1
            # One that dies at once again and again is started less and less often.
            failures = failures + 1 if time.monotonic() - began < QUICK_EXIT else 0
            log.error("the delivery worker exited (code %s); starting it again", code)
            if failures:
                await self._pause(failures)

    async def _pause(self, failures: int) -> None:
        """Wait before the next start, less long if the service is stopping meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), RESTART_DELAYS[min(failures, len(RESTART_DELAYS)) - 1])

    async def _read_answers(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            try:
                line = await proc.stdout.readline()
            except (ValueError, asyncio.LimitOverrunError, ConnectionError):
                log.error("unreadable answer from the delivery worker; starting it again")
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                return
            if not line:
                return
            try:
                answer = jsoncodec.loads(line)
                future = self._pending.get(answer["id"])
            except (ValueError, KeyError, TypeError):
                log.error("malformed answer from the delivery worker; ignored")
                continue
            if future is None or future.done():
                continue  # the caller gave up (cancelled) meanwhile
            if "error" in answer:
                future.set_exception(decode_error(answer))
            else:
                future.set_result(answer.get("message_id"))

    def _fail_pending(self, reason: str) -> None:
        self._out.clear()  # calls not written yet fail too, rather than go to the next worker
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ChannelUnavailable(reason))


class RemoteChannel:
    """A channel adapter whose calls run in the delivery worker."""

    def __init__(self, name: str, worker: DeliveryWorker) -> None:
        self.name = name
        self.worker = worker

    async def deliver(self, chat_id: str, payload: dict[str, Any]) -> str | None:
        return await self.worker.call(self.name, chat_id, payload)


# ---------------------------------------------------------------------- the worker process


def build_channels(config: dict[str, dict[str, Any]]) -> tuple[dict[str, ChannelAdapter], list[Any]]:
    """Build the real adapters from the first line's settings; return them and what to close at the end."""
    channels: dict[str, ChannelAdapter] = {}
    closers: list[Any] = []
    if "telegram" in config:
        from bot.telegram.channel import TelegramChannel
        from bot.telegram.runtime import make_bot

        bot = make_bot(config["telegram"]["token"], config["telegram"].get("api_base"))
        channels["telegram"] = TelegramChannel(bot)
        closers.append(bot.session.close)
    if "zalo" in config:
        from bot.filelinks import FileLinks
        from bot.zalo.channel import ZaloChannel
        from bot.zalo.client import ZaloClient

        zalo = config["zalo"]
        client = ZaloClient(zalo["token"], zalo["api_base"])
        links = zalo.get("file_links")  # FileLinks' arguments, as the main process built its own
        channels["zalo"] = ZaloChannel(client, FileLinks(**links).url if links else None)
        closers.append(client.close)
    return channels, closers


async def serve(reader: asyncio.StreamReader, write: Any) -> None:
    """Answer calls read from ``reader`` until it ends, then finish the calls under way."""
    first = await reader.readline()
    if not first:
        return
    setup = jsoncodec.loads(first)
    logging.basicConfig(level=str(setup.get("log_level", "INFO")).upper(),
                        format="%(asctime)s %(levelname)s %(name)s (delivery): %(message)s")
    for noisy in ("aiohttp.access", "aiogram.event"):  # their messages carry request URLs, with the token
        logging.getLogger(noisy).setLevel(logging.WARNING)
    channels, closers = build_channels(setup["channels"])
    freeze_startup_objects()
    out: list[bytes] = []

    def flush() -> None:
        write(b"".join(out))
        out.clear()

    def answer(message: dict[str, Any]) -> None:
        # Answers of one turn of the loop go out in one write, as the calls come in.
        if not out:
            asyncio.get_running_loop().call_soon(flush)
        out.append(jsoncodec.dumps_bytes(message) + b"\n")

    async def one(call: dict[str, Any]) -> None:
        try:
            channel = channels.get(call["channel"])
            if channel is None:
                raise ChannelRejected(f"no channel {call['channel']!r} in the delivery worker")
            answer({"id": call["id"], "message_id": await channel.deliver(call["chat"], call["payload"])})
        except Exception as exc:  # noqa: BLE001 - every outcome goes back as an answer
            if not isinstance(exc, ChannelError):
                # Where, not what: an exception's message may quote the message being sent.
                frame = traceback.extract_tb(exc.__traceback__)[-1]
                log.error("delivery failed with an unexpected %s at %s:%s in %s",
                          type(exc).__name__, frame.filename, frame.lineno, frame.name)
            answer({"id": call["id"], **encode_error(exc)})

    answer({"ready": True})
    tasks: set[asyncio.Task[None]] = set()
    try:
        while line := await reader.readline():
            task = asyncio.create_task(one(jsoncodec.loads(line)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks)
        await asyncio.sleep(0)  # the last answers' write
    finally:
        for close in closers:
            await close()


def _is_stream(fd: int) -> bool:
    """Return whether a descriptor can carry an event-loop pipe (a pipe, socket or terminal).

    asyncio refuses a regular file with ValueError; uvloop aborts the process, so ask first.
    """
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


async def _main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    if _is_stream(sys.stdin.fileno()):
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    else:  # calls from a file (run by hand)
        reader.feed_data(sys.stdin.buffer.read())
        reader.feed_eof()
    if not _is_stream(sys.stdout.fileno()):  # answers to a file (run by hand): blocking writes will do
        def write(data: bytes) -> None:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()

        await serve(reader, write)
        return
    transport, _ = await loop.connect_write_pipe(asyncio.Protocol, sys.stdout.buffer)
    try:
        await serve(reader, transport.write)
    finally:
        transport.close()


if __name__ == "__main__":
    eventloop.run(_main())
