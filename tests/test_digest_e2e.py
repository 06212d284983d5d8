"""End to end: /tonghop over HTTP through the real App, sender and aiogram against the fake Bot API server."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from PIL import Image

import handlers.digest  # noqa: F401  (registers /tonghop until the router imports it)
from bot import texts
from bot.sandbox.fake_telegram import FakeTelegramServer
from storage.uow import UnitOfWork
from tests.digest_data import seed as seed_reports
from tests.e2e import make_settings, running_app, seed


@pytest.fixture
async def server():
    async with FakeTelegramServer() as srv:
        yield srv


async def test_officer_receives_summary_chart_draft_and_workbook(server: FakeTelegramServer, db_url: str,
                                                                 tmp_path: Path) -> None:
    settings = make_settings(db_url, server, data_dir=tmp_path)
    async with running_app(settings) as app:
        await seed(app, [(200, "Cán Bộ Xã Một", "officer", "X1")])
        async with UnitOfWork(app.session_factory) as uow:
            await seed_reports(uow, datetime(2026, 6, 20, tzinfo=UTC))
        await app.start(webhook=False)
        server.send_text(200, "/tonghop 6thang 2026")
        await server.wait_until(lambda: sum(e.kind == "document" for e in server.sent_to(200)) == 2, timeout=30)
        await server.wait_idle()
    assert server.invalid_calls == [], [(c.method, c.problems) for c in server.invalid_calls]
    sent = server.sent_to(200)
    assert [e.kind for e in sent][-3:] == ["photo", "document", "document"]
    summary = "\n".join(e.plain_text for e in sent if e.kind == "text")
    assert "TỔNG HỢP TÌNH HÌNH 6 THÁNG ĐẦU NĂM 2026" in summary and "Đơn vị: Xã Một" in summary
    assert "Báo cáo: 10 " in summary  # Xã Một: nine reports in quý I, one in quý II
    photo, draft, workbook = sent[-3:]
    assert Image.open(io.BytesIO(photo.content or b"")).format == "PNG"
    doc = Document(io.BytesIO(draft.content or b""))
    assert "Tình hình Nhân dân, dân tộc, tôn giáo 6 tháng đầu năm 2026" in [p.text for p in doc.paragraphs]
    assert draft.file is not None and draft.file.filename == "BaoCao_2026-Q2_X1.docx"
    wb = load_workbook(io.BytesIO(workbook.content or b""), read_only=True)
    assert len(list(wb[texts.XLSX_REPORTS].iter_rows(values_only=True))) == 1 + 10
