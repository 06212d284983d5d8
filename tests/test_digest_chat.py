"""/tonghop through the real pipeline, its argument parsing, and `danvan digest` on the command line."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from docx import Document
from openpyxl import load_workbook
from PIL import Image
from typer.testing import CliRunner

import handlers.digest  # noqa: F401  (registers /tonghop until the router imports it)
from bot import texts
from bot.digest.cli import digest_command
from bot.digest.service import DigestService
from bot.settings import Settings
from handlers.digest import parse_args
from tests.digest_data import CAL, Seeded, seed
from tests.harness import Harness, texts_of

NOW = datetime(2026, 3, 13, 3, 0, tzinfo=UTC)  # inside 2026-Q1: "/tonghop" means quý I, still running
TELEGRAM = {"hung": 100, "officer_x1": 200, "officer_p": 300, "admin": 400, "officer_x2": 201}


@pytest.fixture
async def chat(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[Harness, Seeded]]:
    h = Harness(db_url, now=NOW)
    await h.setup()
    settings = Settings(database_url=db_url, data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    h.services.settings = settings
    h.services.digests = DigestService(h.sf, CAL, settings)
    async with h.uow() as uow:
        s = await seed(uow, NOW)
        for key in ("hung", "officer_x1", "officer_p"):
            person = await uow.people.get(s.people[key])
            assert person is not None
            await uow.people.add_identity(person, "telegram", str(TELEGRAM[key]), str(TELEGRAM[key]), person.name)
        await uow.commit()
    s.people["admin"] = await h.add_person(TELEGRAM["admin"], "Quản Trị", "admin", None)
    s.people["officer_x2"] = await h.add_person(TELEGRAM["officer_x2"], "Cán Bộ Xã Hai", "officer", "X2")
    yield h, s
    await h.close()


def split(replies: list[dict]) -> tuple[list[dict], dict[str, dict]]:
    """Return the text replies and the files by kind and extension."""
    text = [r for r in replies if not r.get("file")]
    files = {Path(r["file"]["filename"]).suffix: r["file"] for r in replies if r.get("file")}
    return text, files


async def test_officer_gets_summary_chart_draft_and_workbook_for_their_commune_only(chat: tuple[Harness, Seeded]) -> None:
    h, s = chat
    replies = await h.send(TELEGRAM["officer_x1"], "/tonghop quy")
    text, files = split(replies)
    body = texts_of(text)
    assert "TỔNG HỢP TÌNH HÌNH QUÝ I NĂM 2026" in body and "Đơn vị: Xã Một" in body
    assert "tính đến 10:00 13/03/2026" in body  # the quarter is still running
    assert "• Báo cáo: <b>9</b>" in body
    assert "Ấp 1" not in body and "Lê Sóc" not in body and "Khmer" not in body
    assert set(files) == {".png", ".docx", ".xlsx"} and files[".png"]["kind"] == "photo"
    assert all(r["person_id"] == s.people["officer_x1"] for r in replies)
    assert files[".docx"]["filename"] == "BaoCao_2026-Q1_X1.docx"
    doc = Document(files[".docx"]["path"])
    assert "Tình hình Nhân dân, dân tộc, tôn giáo quý I năm 2026" in [p.text for p in doc.paragraphs]
    wb = load_workbook(files[".xlsx"]["path"], read_only=True)
    rows = list(wb[texts.XLSX_REPORTS].iter_rows(values_only=True))[1:]
    assert len(rows) == 9 and {r[3] for r in rows} == {"X1-T1", "X1-T2"}
    assert Image.open(files[".png"]["path"]).format == "PNG"


async def test_the_same_request_on_zalo_fits_its_limit(chat: tuple[Harness, Seeded]) -> None:
    h, s = chat
    async with h.uow() as uow:
        person = await uow.people.get(s.people["officer_p"])
        assert person is not None
        await uow.people.add_identity(person, "zalo", "z300", "z300", person.name)
        await uow.commit()
    replies = await h.send("z300", "/tonghop", channel="zalo")
    text, files = split(replies)
    assert text and all(len(r["text"]) <= 2000 for r in text) and len(files) == 3
    assert all(r["channel"] == "zalo" for r in replies)


async def test_reporter_is_refused_and_admin_without_unit_sees_everything(chat: tuple[Harness, Seeded]) -> None:
    h, _ = chat
    refused = await h.send(TELEGRAM["hung"], "/tonghop")
    assert texts_of(refused) == texts.NOT_ALLOWED and not any(r.get("file") for r in refused)
    replies = await h.send(TELEGRAM["admin"], "/tonghop")
    body = texts_of(split(replies)[0])
    assert "Đơn vị: Tỉnh A" in body and "1. Xã Một" in body and "2. Xã Hai" in body


async def test_bad_arguments_future_period_and_scope(chat: tuple[Harness, Seeded]) -> None:
    h, _ = chat
    assert "Không hiểu kỳ «hôm qua»" in texts_of(await h.send(TELEGRAM["officer_x1"], "/tonghop hôm qua"))
    assert "quý I năm 2027 chưa bắt đầu" in texts_of(await h.send(TELEGRAM["officer_x1"], "/tonghop quy 2027"))
    assert "năm 2031 chưa bắt đầu" in texts_of(await h.send(TELEGRAM["officer_x1"], "/tonghop nam 2031"))
    assert "không hợp lệ" in texts_of(await h.send(TELEGRAM["officer_x1"], "/tonghop quy 1999"))
    assert texts_of(await h.send(TELEGRAM["officer_x1"], "/tonghop quy X2")) == texts.OUT_OF_SCOPE
    drill = await h.send(TELEGRAM["officer_x1"], "/tonghop quy 2026 x1-t2")
    assert "Đơn vị: Thôn 2" in texts_of(split(drill)[0])
    last_year = await h.send(TELEGRAM["officer_p"], "/tonghop nam 2025")
    assert "TỔNG HỢP TÌNH HÌNH NĂM 2025" in texts_of(split(last_year)[0])


async def test_retagging_through_the_office_buttons_moves_the_report(chat: tuple[Harness, Seeded]) -> None:
    h, s = chat
    before = texts_of(split(await h.send(TELEGRAM["officer_x1"], "/tonghop quy X1-T1"))[0])
    assert "• Dân tộc: <b>1</b>" in before and "• Tôn giáo: <b>1</b>" in before
    await h.press(TELEGRAM["officer_x1"], f"of:t:{s.reports['u1']}:d")  # u1 is not about dân tộc after all
    await h.press(TELEGRAM["officer_x1"], f"of:t:{s.reports['u1']}:t")  # but about tôn giáo
    after = texts_of(split(await h.send(TELEGRAM["officer_x1"], "/tonghop quy X1-T1"))[0])
    assert "• Dân tộc: <b>0</b>" in after and "• Tôn giáo: <b>2</b>" in after and "• Nhân dân: <b>5</b>" in after


def test_parse_args() -> None:
    now = NOW
    q1 = CAL.period("2026-Q1")
    assert parse_args(CAL, "", now, set()) == (q1, None)
    assert parse_args(CAL, "quý", now, set()) == (q1, None)
    assert parse_args(CAL, "6 tháng 2025", now, set()) == (CAL.period("2025-Q2"), None)
    assert parse_args(CAL, "nam 2025 X1", now, {"X1"}) == (CAL.period("2025-Q4"), "X1")
    assert parse_args(CAL, "2025-Q3", now, set()) == (CAL.period("2025-Q3"), None)
    assert parse_args(CAL, "2026-Q3", now, set())[0] == CAL.period("2026-Q3")  # 9 tháng: the year has begun
    assert "chưa bắt đầu" in str(parse_args(CAL, "2027-Q1", now, set()))
    assert isinstance(parse_args(CAL, "quy 2025 2026", now, set()), str)
    assert isinstance(parse_args(CAL, "nam X9", now, set()), str)  # not a unit, not a kind


@pytest.fixture
def seeded_url(db_url: str) -> str:
    """Seed the database outside any event loop: the CLI runs its own with asyncio.run."""

    async def run() -> None:
        h = Harness(db_url, now=NOW)
        await h.setup()
        async with h.uow() as uow:
            await seed(uow, NOW)
        await h.close()

    asyncio.run(run())
    return db_url


@pytest.mark.parametrize("fmt", ["text", "docx", "xlsx", "png"])
def test_cli_writes_each_format(seeded_url: str, fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    app = typer.Typer()
    app.command("digest")(digest_command)
    app.command("noop")(lambda: None)  # two commands, so "digest" is a sub-command as in `danvan digest`
    out = tmp_path / f"digest.{fmt}"
    result = CliRunner().invoke(app, ["digest", "--period", "2026-Q1", "--unit", "X1", "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and out.stat().st_size > 0
    if fmt == "text":
        body = out.read_text(encoding="utf-8")
        assert "TỔNG HỢP TÌNH HÌNH QUÝ I NĂM 2026" in body and "<b>" not in body
    elif fmt == "docx":
        assert Document(str(out)).tables
    elif fmt == "xlsx":
        assert load_workbook(out, read_only=True).sheetnames[0] == texts.XLSX_REPORTS
    else:
        assert Image.open(out).format == "PNG"


def test_cli_rejects_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    app = typer.Typer()
    app.command("digest")(digest_command)
    app.command("noop")(lambda: None)
    bad_period = CliRunner().invoke(app, ["digest", "--period", "2026-Q5"])
    assert bad_period.exit_code == 2
    bad_unit = CliRunner().invoke(app, ["digest", "--period", "2026-Q1", "--unit", "NOPE"])
    assert bad_unit.exit_code == 1 and "NOPE" in bad_unit.output
