"""Linking a second channel with a one-time code, and choosing where notices go."""

from __future__ import annotations

import re

from tests.harness import Harness, texts_of


async def test_link_code_is_single_use_and_expires(harness: Harness) -> None:
    await harness.add_person(10, "Hà Văn Tín", "reporter", "X1-T1")
    issued = texts_of(await harness.send(10, "/lienket"))
    code = re.search(r"<code>([A-Z0-9-]+)</code>", issued).group(1)
    assert "Zalo" in issued
    assert "không đúng" in texts_of(await harness.send("z-other", "/lienket ABCD-EFGH", channel="zalo"))
    done = texts_of(await harness.send("z-1", f"/lienket {code}", channel="zalo"))
    assert "Đã liên kết Zalo với tài khoản Hà Văn Tín" in done
    assert "Telegram, Zalo" in texts_of(await harness.send("z-1", "/toi", channel="zalo"))
    assert "không đúng" in texts_of(await harness.send("z-2", f"/lienket {code}", channel="zalo")), "single use"
    late = re.search(r"<code>([A-Z0-9-]+)</code>", texts_of(await harness.send(10, "/lienket"))).group(1)
    harness.clock.advance(minutes=16)
    assert "không đúng" in texts_of(await harness.send("z-3", f"/lienket {late}", channel="zalo")), "expired"
    assert "đã được liên kết" in texts_of(await harness.send("z-1", f"/lienket {late}", channel="zalo"))


async def test_preferred_channel_must_be_linked(harness: Harness) -> None:
    await harness.add_person(11, "Lò Văn Pán", "reporter", "X1-T1")
    assert "chưa liên kết Zalo" in texts_of(await harness.send(11, "/kenh zalo"))
    assert "Kênh nhận thông báo: <b>Telegram</b>" in texts_of(await harness.send(11, "/kenh"))
