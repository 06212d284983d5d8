"""Download links for files that Zalo cannot send: signed, limited to the data folder, expiring."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.filelinks import FileLinks
from bot.zalo.channel import render


async def test_a_link_serves_its_file_and_nothing_else(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "digests").mkdir(parents=True)
    doc = data / "digests" / "report.docx"
    doc.write_bytes(b"PK\x03\x04 docx bytes")
    (tmp_path / "secret.txt").write_text("outside")
    links = FileLinks("https://bot.example.vn/", "s3cret", data, ttl=60)
    url = links.url(str(doc), "BaoCao_2026-Q1.docx", now=1000)
    assert url is not None and url.startswith("https://bot.example.vn/files/")
    assert links.url(str(tmp_path / "secret.txt"), "x.txt") is None, "only files under the data folder"
    signed = url.rsplit("/", 1)[1]
    assert links.resolve(signed, now=1030) == (doc.resolve(), "BaoCao_2026-Q1.docx")
    assert links.resolve(signed, now=1061) is None, "expired"
    tampered = signed[:-1] + ("0" if signed[-1] != "0" else "1")
    assert links.resolve(tampered, now=1030) is None
    other_key = FileLinks("https://bot.example.vn", "other", data, ttl=60)
    assert other_key.resolve(signed, now=1030) is None

    app = web.Application()
    fresh = links.url(str(doc), "BaoCao_2026-Q1.docx")
    app.add_routes([links.route()])
    async with TestClient(TestServer(app)) as client:
        ok = await client.get("/files/" + fresh.rsplit("/", 1)[1])
        assert ok.status == 200 and await ok.read() == doc.read_bytes()
        assert "BaoCao_2026-Q1.docx" in ok.headers["Content-Disposition"]
        assert (await client.get("/files/" + tampered)).status == 404


def test_zalo_gets_a_link_or_a_note_instead_of_the_file() -> None:
    payload = {"text": "", "file": {"path": "/x/BaoCao.docx", "filename": "BaoCao.docx", "kind": "document",
                                    "caption": "Dự thảo báo cáo"}}
    with_link = render(payload, "https://bot.example.vn/files/abc.def")
    assert "Dự thảo báo cáo" in with_link and "https://bot.example.vn/files/abc.def" in with_link
    without = render(payload, None)
    assert "BaoCao.docx" in without and "Telegram" in without
