"""The sandbox that `make run` starts with no token: seeded demo province, both channels, the chat page."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.sandbox.run import Sandbox, start_sandbox
from bot.settings import Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_BROWSER = os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


@pytest.fixture
async def sandbox(db_url: str, tmp_path: Path):
    settings = Settings(_env_file=None, database_url=db_url, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.sandbox_mode
    box = await start_sandbox(settings, web_port=0)
    yield box
    await box.stop()


async def history(http: aiohttp.ClientSession, box: Sandbox, channel: str, user_id: int) -> list[dict[str, Any]]:
    async with http.get(f"{box.url}/api/history", params={"channel": channel, "user_id": user_id}) as resp:
        assert resp.status == 200
        return (await resp.json())["items"]


async def wait_text(http: aiohttp.ClientSession, box: Sandbox, channel: str, user_id: int, needle: str) -> dict:
    for _ in range(100):
        for item in await history(http, box, channel, user_id):
            if item["from_bot"] and needle in item["text"]:
                return item
        await asyncio.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared for {user_id} on {channel}")


async def post(http: aiohttp.ClientSession, box: Sandbox, path: str, **body: Any) -> None:
    async with http.post(f"{box.url}{path}", json=body) as resp:
        assert resp.status == 200, await resp.text()


async def test_newcomer_registers_through_the_page_and_sees_whoami(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sandbox.url}/api/users") as resp:
            data = await resp.json()
        labels = [u["role_label"] for u in data["users"]]
        assert {"Quản trị viên", "Cán bộ Ban", "Báo cáo viên cơ sở"} <= set(labels)
        assert [c["id"] for c in data["channels"]] == ["telegram", "zalo"]
        code = sandbox.invite_codes[0]
        await post(http, sandbox, "/api/send", channel="telegram", user_id=2001, text=f"/dangky {code}", name="Lý Thị Mai")
        confirm = await wait_text(http, sandbox, "telegram", 2001, "Lý Thị Mai")
        button = confirm["buttons"][0][0]
        await post(http, sandbox, "/api/press", channel="telegram", user_id=2001, message_id=confirm["id"], data=button["data"])
        await wait_text(http, sandbox, "telegram", 2001, "Đăng ký thành công")
        await post(http, sandbox, "/api/send", channel="telegram", user_id=2001, text="/toi")
        await wait_text(http, sandbox, "telegram", 2001, "Tỉnh Thử Nghiệm › Xã Đăng Hà › Thôn 1")


async def test_demo_reporter_on_zalo_gets_numbered_choices_and_officer_gets_the_alert(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as http:
        await post(http, sandbox, "/api/send", channel="zalo", user_id=1003,
                   text="Có nhóm người lạ vào bon truyen dao trai phep, ba con lo lang")
        receipt = await wait_text(http, sandbox, "zalo", 1003, "Đã nhận báo cáo số")
        assert "Trả lời 1, 2" in receipt["text"] and receipt["buttons"] == []
        alert = await wait_text(http, sandbox, "telegram", 1002, "TIN KHẨN")
        ack = next(b for row in alert["buttons"] for b in row if b["data"].startswith("ack:"))
        await post(http, sandbox, "/api/press", channel="telegram", user_id=1002, message_id=alert["id"], data=ack["data"])
        await wait_text(http, sandbox, "zalo", 1003, "tiếp nhận")


@pytest.mark.skipif(not HAVE_BROWSER, reason="Chromium and chromedriver are not installed (CI installs them)")
async def test_the_page_in_headless_chromium(sandbox: Sandbox) -> None:
    code = sandbox.invite_codes[1]
    texts = await asyncio.to_thread(_drive_browser, sandbox.url, code)
    assert any("Đăng ký thành công" in t for t in texts), texts
    assert any("Đã nhận báo cáo số" in t for t in texts), texts


def _drive_browser(url: str, code: str) -> list[str]:
    """Register as the newcomer, send a report, and return the bot messages shown on the page."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 20)
        wait.until(lambda d: len(Select(d.find_element(By.ID, "user-select")).options) > 1)
        Select(driver.find_element(By.ID, "user-select")).select_by_value("2001")
        box = driver.find_element(By.ID, "message-input")
        box.send_keys(f"/dangky {code}")
        driver.find_element(By.ID, "send-button").click()
        wait.until(lambda d: any("Mã mời hợp lệ" in e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg.bot")))
        button = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, ".msg.bot .kb-button")))
        button.click()
        wait.until(lambda d: any("Đăng ký thành công" in e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg.bot")))
        box = driver.find_element(By.ID, "message-input")
        box.send_keys("Bà con thôn 1 phản ánh đường liên thôn xuống cấp")
        driver.find_element(By.ID, "send-button").click()
        wait.until(lambda d: any("Đã nhận báo cáo số" in e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg.bot")))
        return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".msg.bot")]
    finally:
        driver.quit()
