"""Benchmark the periodic digest on SQLite: 1,000,000 reports over 10,000 units.

Run: ``python bench/digest.py [--render] [--xlsx]``. The first run builds bench/out/digest.db (about a
minute, in a child process) and a copy with the covering index the digest asks for; later runs reuse
both. For each database it prints the time to build the province-wide digest of one period next to
the time of the bare SQL aggregation it needs (the same statements run straight on sqlite3), their
ratio, then peak memory and the machine. Targets: digest <= 5 s and <= 3x the bare query.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import multiprocessing
import os
import platform
import random
import resource
import shutil
import sqlite3
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.periods import Calendar  # noqa: E402

OUT = ROOT / "bench" / "out"
DB_PATH = OUT / "digest.db"
INDEXED_PATH = OUT / "digest-indexed.db"
# What the digest would like from a migration: a covering index replacing ix_reports_period_unit
# (same leading columns, so every query that used that one can use this one).
PROPOSED_INDEX = """
CREATE INDEX IF NOT EXISTS ix_reports_digest
    ON reports (period_key, unit_id, state, dan_toc, ton_giao, nhan_dan, urgent, status, person_id);
DROP INDEX IF EXISTS ix_reports_period_unit;
"""
SCHEMA_VERSION = "digest-bench-1"
N_REPORTS = 1_000_000
N_DISTRICTS, N_COMMUNES = 10, 1000  # plus one province and hamlets up to N_UNITS
N_UNITS = 10_000
QUARTERS = ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
BENCH_PERIOD = "2026-Q2"  # 6 tháng đầu năm: cumulative, compared with Q1 and with 2025's first half
SEED = 20260614
PHRASES = {
    "nhan_dan": [
        "Bà con phản ánh giá phân bón tăng cao", "Người dân kiến nghị sửa đường liên thôn",
        "Hộ nghèo cần hỗ trợ nhà ở", "Nông dân lo lắng giá lúa giảm", "Tranh chấp đất đai giữa hai hộ",
        "Bà con đề nghị nạo vét kênh mương", "Thanh niên lao động xa quê tăng",
    ],
    "dan_toc": [
        "Đồng bào Khmer chuẩn bị lễ Chôl Chnăm Thmây", "Già làng người Ê Đê họp bàn việc buôn",
        "Đồng bào dân tộc thiểu số nhận hỗ trợ giống cây trồng", "Người Chăm tổ chức lễ Katê",
    ],
    "ton_giao": [
        "Chùa tổ chức lễ Phật đản an toàn", "Giáo xứ tổ chức thánh lễ đông người",
        "Nhóm lạ truyền đạo trái phép tại thôn", "Hội thánh Tin lành sinh hoạt điểm nhóm",
    ],
}
RISING = ["Sạt lở đất uy hiếp nhà dân ven sông", "Dịch tả lợn châu Phi lan rộng"]  # more often in 2026-Q2


def _fmt(moment: datetime) -> str:
    """Format a UTC datetime exactly as SQLAlchemy stores it in SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _units() -> list[tuple[int, int | None, str, str, str, str]]:
    """Return (id, parent_id, code, name, level, path): 1 province, districts, communes, hamlets."""
    rows: list[tuple[int, int | None, str, str, str, str]] = [(1, None, "P", "Tỉnh Bench", "Tỉnh", "/1/")]
    next_id = 2
    districts = []
    for d in range(N_DISTRICTS):
        rows.append((next_id, 1, f"H{d}", f"Huyện {d + 1}", "Huyện", f"/1/{next_id}/"))
        districts.append(rows[-1])
        next_id += 1
    communes = []
    for c in range(N_COMMUNES):
        parent = districts[c % N_DISTRICTS]
        rows.append((next_id, parent[0], f"X{c}", f"Xã {c + 1}", "Xã", f"{parent[5]}{next_id}/"))
        communes.append(rows[-1])
        next_id += 1
    h = 0
    while len(rows) < N_UNITS:
        parent = communes[h % N_COMMUNES]
        rows.append((next_id, parent[0], f"T{h}", f"Thôn {h + 1}", "Thôn", f"{parent[5]}{next_id}/"))
        next_id += 1
        h += 1
    return rows


def generate(path: Path) -> None:
    """Create the schema with the project's migrations, then bulk-insert the synthetic data."""
    from storage.db import upgrade_sync

    rnd = random.Random(SEED)
    tmp = path.with_suffix(".tmp")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    upgrade_sync(f"sqlite+aiosqlite:///{tmp}")
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    created = _fmt(datetime(2024, 12, 1, tzinfo=UTC))
    units = _units()
    conn.executemany(
        "INSERT INTO units (id, parent_id, code, name, level, path, created_at) VALUES (?,?,?,?,?,?,?)",
        [(*u, created) for u in units],
    )
    hamlets = [u for u in units if u[4] == "Thôn"]
    persons: list[tuple[int, str, str, int | None]] = [(1, "Quản trị", "admin", None)]
    reporters_of: dict[int, list[int]] = {}
    for unit in hamlets:
        if rnd.random() < 0.05:
            continue  # hamlets without a reporter
        for _ in range(2 if rnd.random() < 0.2 else 1):
            pid = len(persons) + 1
            persons.append((pid, f"Báo cáo viên {pid}", "reporter", unit[0]))
            reporters_of.setdefault(unit[0], []).append(pid)
    for unit in units:
        if unit[4] != "Thôn":
            persons.append((len(persons) + 1, f"Cán bộ {unit[3]}", "officer", unit[0]))
    conn.executemany(
        "INSERT INTO persons (id, name, role, unit_id, active, created_at) VALUES (?,?,?,?,1,?)",
        [(*p, created) for p in persons],
    )
    officers = [p[0] for p in persons if p[2] == "officer"]
    _insert_reports(conn, rnd, reporters_of, officers)
    _insert_periodic(conn, rnd, reporters_of)
    conn.commit()
    conn.close()
    tmp.replace(path)


def _insert_reports(conn: sqlite3.Connection, rnd: random.Random, reporters_of: dict[int, list[int]], officers: list[int]) -> None:
    cal = Calendar(cutoff_day=14)
    periods = [cal.period(k) for k in QUARTERS]
    start, end = periods[0].start.astimezone(UTC), periods[-1].end.astimezone(UTC)
    bounds = [p.end.astimezone(UTC) for p in periods]
    span = (end - start).total_seconds()
    # Sorted creation times, so ids grow with time as they do in production.
    moments = sorted(start + timedelta(seconds=rnd.random() * span) for _ in range(N_REPORTS))
    units = list(reporters_of)
    sql = (
        "INSERT INTO reports (id, person_id, unit_id, channel, source_key, text, attachments, created_at,"
        " updated_at, period_key, dan_toc, ton_giao, nhan_dan, urgent, tag_meta, state, status,"
        " acknowledged_by, acknowledged_at) VALUES (?,?,?,?,?,?,'[]',?,?,?,?,?,?,?,'{}',?,?,?,?)"
    )
    batch = []
    for i, moment in enumerate(moments, start=1):
        key = QUARTERS[bisect.bisect_right(bounds, moment)]
        unit = units[rnd.randrange(len(units))]
        person = rnd.choice(reporters_of[unit])
        topics = [t for t, share in (("nhan_dan", 0.6), ("dan_toc", 0.3), ("ton_giao", 0.25)) if rnd.random() < share]
        rising = key == BENCH_PERIOD and rnd.random() < 0.15
        parts = [rnd.choice(PHRASES[t]) for t in topics] + ([rnd.choice(RISING)] if rising else [])
        text = ". ".join(parts) or "Tình hình bình thường"
        urgent = rnd.random() < (0.10 if rising else 0.03)
        roll = rnd.random()
        state = "filed" if roll < 0.95 else "withdrawn" if roll < 0.98 else "draft"
        status, ack, ack_at = "new", None, None
        if urgent and rnd.random() < 0.8:
            status = rnd.choice(("acknowledged", "in_progress", "resolved"))
            ack, ack_at = rnd.choice(officers), _fmt(moment + timedelta(hours=2))
        stamp = _fmt(moment)
        batch.append((
            i, person, unit, "telegram", f"b:{i}", text, stamp, stamp, key, "dan_toc" in topics,
            "ton_giao" in topics, "nhan_dan" in topics, urgent, state, status, ack, ack_at,
        ))
        if len(batch) == 50_000:
            conn.executemany(sql, batch)
            batch.clear()
    conn.executemany(sql, batch)


def _insert_periodic(conn: sqlite3.Connection, rnd: random.Random, reporters_of: dict[int, list[int]]) -> None:
    cal = Calendar(cutoff_day=14)
    rows = []
    for key in QUARTERS:
        deadline = cal.period(key).deadline.astimezone(UTC)
        for unit, people in reporters_of.items():
            if rnd.random() < 0.1:
                continue  # missing
            late = rnd.random() < 0.1
            at = deadline + timedelta(hours=rnd.randint(1, 48) * (1 if late else -1))
            answers = {"dan_toc": None, "ton_giao": None, "nhan_dan": rnd.choice(PHRASES["nhan_dan"]),
                       "kien_nghi": "Đề nghị hỗ trợ kinh phí sửa đường" if rnd.random() < 0.05 else None}
            rows.append((unit, key, people[0], _fmt(at), late, json.dumps(answers, ensure_ascii=False)))
    conn.executemany(
        "INSERT INTO periodic_reports (unit_id, period_key, person_id, submitted_at, late, current, answers)"
        " VALUES (?,?,?,?,?,1,?)",
        rows,
    )


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or ""


def ensure_db() -> float:
    """Build the database in a child process unless a current one is cached; return the seconds spent."""
    version = OUT / "digest.version"
    wanted = f"{SCHEMA_VERSION} {_head_revision()}"
    if DB_PATH.exists() and version.exists() and version.read_text() == wanted:
        return 0.0
    OUT.mkdir(parents=True, exist_ok=True)
    INDEXED_PATH.unlink(missing_ok=True)
    started = time.perf_counter()
    # A child process keeps generation's memory out of this process's peak.
    proc = multiprocessing.get_context("spawn").Process(target=generate, args=(DB_PATH,))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise SystemExit("database generation failed")
    version.write_text(wanted)
    return time.perf_counter() - started


def ensure_indexed() -> float:
    """Copy the database and apply the proposed index, once; return the seconds spent."""
    if INDEXED_PATH.exists():
        return 0.0
    started = time.perf_counter()
    tmp = INDEXED_PATH.with_suffix(".tmp")
    shutil.copyfile(DB_PATH, tmp)
    conn = sqlite3.connect(tmp)
    conn.executescript(PROPOSED_INDEX)
    conn.close()
    tmp.replace(INDEXED_PATH)
    return time.perf_counter() - started


def has_digest_index(path: Path) -> bool:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'ix_reports_digest'").fetchone() is not None
    finally:
        conn.close()


def _sql(stmt: object) -> tuple[str, list[object]]:
    """Compile a SQLAlchemy statement to SQLite SQL text and positional parameters."""
    from sqlalchemy.dialects import sqlite

    compiled = stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True})  # type: ignore[attr-defined]
    params = compiled.construct_params()
    return str(compiled), [params[k] for k in compiled.positiontup]


def bare_queries(path: Path, keys: list[str], window: list[str]) -> float:
    """Run the digest's aggregation SQL (the exact statements) on plain sqlite3; return the seconds."""
    from storage.repos.digest import DigestRepo

    repo = DigestRepo(None)  # type: ignore[arg-type]  # only builds statements here
    statements = [_sql(repo.counts_statement("/1/", keys)), _sql(repo.reporters_statement("/1/", window))]
    conn = sqlite3.connect(path)
    try:
        started = time.perf_counter()
        for sql, params in statements:
            conn.execute(sql, params).fetchall()
        return time.perf_counter() - started
    finally:
        conn.close()


async def build_once(path: Path, period_key: str, unit_code: str | None) -> tuple[float, object]:
    """Build the digest through the real code path; return the seconds and the digest."""
    from bot.digest.build import build_digest
    from storage.db import create_engine, make_session_factory
    from storage.uow import UnitOfWork

    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    cal = Calendar(cutoff_day=14)
    try:
        async with UnitOfWork(make_session_factory(engine)) as uow:
            unit = await uow.units.by_code(unit_code) if unit_code else None
            started = time.perf_counter()
            digest = await build_digest(uow, cal, cal.period(period_key), unit, datetime.now(UTC))
            return time.perf_counter() - started, digest
    finally:
        await engine.dispose()


def measure(label: str, path: Path, period_key: str, runs: int) -> tuple[float, float, object]:
    """Print and return (best digest seconds, best bare seconds, digest) for one database."""
    from bot.digest.build import digest_keys

    cal = Calendar(cutoff_day=14)
    keys, window = digest_keys(cal, cal.period(period_key))
    bare = min(bare_queries(path, keys, window) for _ in range(runs))
    timings, digest = [], None
    for _ in range(runs):
        seconds, digest = asyncio.run(build_once(path, period_key, "P"))
        timings.append(seconds)
    best = min(timings)
    verdict = "OK" if best <= 5 and best <= 3 * bare else "MISSED"
    print(f"\n[{label}]")
    print(f"  bare SQL aggregation: {bare:6.2f} s (best of {runs})")
    print(f"  digest build:         {best:6.2f} s (runs: {', '.join(f'{t:.2f}' for t in timings)})")
    print(f"  ratio digest / bare:  {best / bare:6.2f}x   targets <= 5 s and <= 3x: {verdict}")
    return best, bare, digest


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--period", default=BENCH_PERIOD)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--render", action="store_true", help="also time the text, chart and DOCX renderers")
    parser.add_argument("--xlsx", action="store_true", help="also time the province workbook (every report: slow)")
    args = parser.parse_args()
    generated = ensure_db()
    indexed = ensure_indexed()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()},"
          f" SQLite {sqlite3.sqlite_version}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"database: {DB_PATH.name} {DB_PATH.stat().st_size / 2**20:.0f} MiB, {N_REPORTS:,} reports, {N_UNITS:,} units"
          + (f"; generated in {generated:.0f} s" if generated else "; cached")
          + (f"; indexed copy made in {indexed:.0f} s" if indexed else ""))
    cal = Calendar(cutoff_day=14)
    period = cal.period(args.period)
    print(f"period: {period.key} ({period.label}), province-wide digest (all {N_UNITS:,} units)")
    migrated = "schema as migrated" + (" (already has ix_reports_digest)" if has_digest_index(DB_PATH) else "")
    measure(migrated, DB_PATH, args.period, args.runs)
    _, _, digest = measure("with the proposed covering index ix_reports_digest", INDEXED_PATH, args.period, args.runs)
    tracemalloc.start()
    asyncio.run(build_once(INDEXED_PATH, args.period, "P"))
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    d = digest
    print(f"\nreports in window: {d.totals.current.reports:,} from {d.reporters:,} reporters"  # type: ignore[attr-defined]
          f" in {d.units_reporting:,} units; urgent {d.totals.current.urgent:,}")  # type: ignore[attr-defined]
    print(f"peak memory: {rss:.0f} MiB max RSS of this process;"
          f" {traced_peak / 2**20:.0f} MiB peak Python allocations during one build (tracemalloc)")
    if args.render:
        _time_renders(digest)
    if args.xlsx:
        asyncio.run(_time_xlsx(args.period))


async def _time_xlsx(period_key: str) -> None:
    """Write the province workbook (one row per report) and print its time, size and memory."""
    import tempfile

    from bot.digest.build import build_digest
    from bot.digest.xlsx import render_xlsx
    from storage.db import create_engine, make_session_factory
    from storage.repos.digest import DigestRepo
    from storage.uow import UnitOfWork

    engine = create_engine(f"sqlite+aiosqlite:///{INDEXED_PATH}")
    cal = Calendar(cutoff_day=14)
    try:
        async with UnitOfWork(make_session_factory(engine)) as uow:
            d = await build_digest(uow, cal, cal.period(period_key), await uow.units.by_code("P"), datetime.now(UTC))
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                path = await render_xlsx(d, DigestRepo(uow.session), Path(tmp) / "p.xlsx")
                seconds = time.perf_counter() - started
                size = path.stat().st_size / 2**20
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        await engine.dispose()
    print(f"render xlsx: {seconds:.1f} s for {d.totals.current.reports:,} report rows, {size:.0f} MiB;"
          f" max RSS {before:.0f} -> {after:.0f} MiB")
def _time_renders(digest: object) -> None:
    import tempfile

    from bot.digest.chart import render_chart
    from bot.digest.docx import render_docx
    from bot.digest.text import render_text

    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in (
            ("text", lambda: render_text(digest)),  # type: ignore[arg-type]
            ("chart", lambda: render_chart(digest, Path(tmp) / "c.png")),  # type: ignore[arg-type]
            ("docx", lambda: render_docx(digest, Path(tmp) / "d.docx", Path(tmp) / "c.png")),  # type: ignore[arg-type]
        ):
            started = time.perf_counter()
            fn()
            print(f"render {name}: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
