"""The unit tree import and the operator CLI, on a real database."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot import texts
from bot.cli import app
from bot.units_import import import_units
from tests.harness import Harness, texts_of

runner = CliRunner()


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    return db_url


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def test_import_builds_any_depth_and_is_idempotent(harness: Harness) -> None:
    deep = "code,name,level,parent_code\nX1-T1-C1,Cụm 1,Cụm,X1-T1\nX1-T1-C1-H1,Tổ 1,Tổ,X1-T1-C1\n"
    async with harness.uow() as uow:
        report = await import_units(uow, deep, actor="t", now=harness.clock.now())
        await uow.commit()
    assert (report.created, report.errors) == (2, [])
    async with harness.uow() as uow:
        again = await import_units(uow, deep, actor="t", now=harness.clock.now())
        await uow.commit()
        leaf = await uow.units.by_code("X1-T1-C1-H1")
        path = await uow.units.path_names(leaf)
        province = await uow.units.by_code("P")
        subtree = {u.code for u in await uow.units.subtree(await uow.units.by_code("X1"))}
    assert (again.created, again.unchanged) == (0, 2)
    assert path == "Tỉnh A › Xã Một › Thôn 1 › Cụm 1 › Tổ 1"
    assert subtree == {"X1", "X1-T1", "X1-T2", "X1-T1-C1", "X1-T1-C1-H1"} and province is not None


async def test_moving_a_unit_moves_its_subtree(harness: Harness) -> None:
    move = "code,name,level,parent_code\nX1-T1,Thôn 1,Thôn,X2\n"
    async with harness.uow() as uow:
        report = await import_units(uow, move, actor="t", now=harness.clock.now())
        await uow.commit()
        subtree = {u.code for u in await uow.units.subtree(await uow.units.by_code("X2"))}
    assert report.updated == 1 and "X1-T1" in subtree


async def test_bad_rows_unknown_parents_and_cycles_are_reported_with_line_numbers(harness: Harness) -> None:
    bad = (
        "code,name,level,parent_code\n"
        "A,An,Xã,NOPE\n"
        ",Không mã,Thôn,P\n"
        "B,Bê,Thôn,C\n"
        "C,Xê,Thôn,B\n"
        "A,Trùng,Xã,P\n"
    )
    async with harness.uow() as uow:
        report = await import_units(uow, bad, actor="t", now=harness.clock.now())
        await uow.commit()
        assert await uow.units.by_code("B") is None, "nothing is written when any row is bad"
    joined = "\n".join(report.errors)
    assert "Dòng 2" in joined and "NOPE" in joined
    assert "Dòng 3: thiếu mã" in joined
    assert "vòng lặp" in joined
    assert "Dòng 6: mã A bị trùng với dòng 2" in joined
    missing = "code,name\nA,B\n"
    async with harness.uow() as uow:
        assert "thiếu cột level, parent_code" in (await import_units(uow, missing, actor="t", now=harness.clock.now())).errors[0]


def test_cli_units_invites_admin_and_init(cli_env: str, tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parents[1] / "bot" / "data" / "demo_units.csv"
    out = runner.invoke(app, ["units", "import", str(demo)])
    assert out.exit_code == 0, out.output
    assert "mới" in out.output
    bad = write(tmp_path, "bad.csv", "code,name,level,parent_code\nZ,Zê,Xã,KHONGCO\n")
    out = runner.invoke(app, ["units", "import", str(bad)])
    assert out.exit_code == 1 and "Dòng 2" in out.output
    init = runner.invoke(app, ["init"])
    assert init.exit_code == 0 and re.search(r"/dangky [A-Z0-9]{4}-[A-Z0-9]{4}", init.output), init.output
    out = runner.invoke(app, ["invite", "create", "--unit", "DEMO-BD-T1", "--count", "3", "--bot-username", "dv_bot"])
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert len(lines) == 3 and all("https://t.me/dv_bot?start=" in line for line in lines)
    assert runner.invoke(app, ["invite", "create", "--unit", "NOPE"]).exit_code == 1
    assert runner.invoke(app, ["invite", "create", "--unit", "DEMO", "--role", "boss"]).exit_code != 0
    out = runner.invoke(app, ["admin", "add", "--telegram-id", "42", "--name", "Nguyễn Quản Trị"])
    assert out.exit_code == 0 and "Đã thêm" in out.output
    again = runner.invoke(app, ["init"])
    assert "Đã có quản trị viên" in again.output
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    group = runner.invoke(app, ["group-add", "--chat-id", "-100123", "--unit", "DEMO"])
    assert group.exit_code == 0 and "Đã đăng ký nhóm" in group.output
    assert runner.invoke(app, ["group-add", "--chat-id", "-1", "--unit", "NOPE"]).exit_code == 1


async def cli(*args: str) -> Any:
    """Run a `danvan` command the way an operator does (in a thread: it runs its own event loop)."""
    return await asyncio.to_thread(runner.invoke, app, list(args))


async def test_cli_people_change_role_and_unit_and_lock_accounts(harness: Harness, cli_env: str) -> None:
    hung = await harness.add_person(100, "Điểu Hùng", "reporter", "X1-T1")
    await harness.add_person(101, "Lê Sóc", "reporter", "X2-A1")
    listed = await cli("people", "list", "--unit", "X1")
    assert listed.exit_code == 0 and "Điểu Hùng" in listed.output and "Lê Sóc" not in listed.output
    assert "Báo cáo viên cơ sở" in listed.output and "X1-T1" in listed.output and "telegram" in listed.output
    assert texts_of(await harness.send(100, "/xem")) == texts.NOT_ALLOWED  # a reporter may not list reports

    changed = await cli("people", "set", str(hung), "--role", "officer", "--unit", "X1")
    assert changed.exit_code == 0 and "Cán bộ Ban" in changed.output and "X1" in changed.output
    as_officer = texts_of(await harness.send(100, "/xem"))
    assert as_officer and as_officer != texts.NOT_ALLOWED  # now an officer of X1

    locked = await cli("people", "deactivate", str(hung))
    assert locked.exit_code == 0 and "Đã khóa" in locked.output
    assert texts_of(await harness.send(100, "Bà con phản ánh giá phân bón tăng")) == texts.ACCOUNT_DISABLED
    assert "Điểu Hùng" not in (await cli("people", "list")).output
    assert "đã khóa" in (await cli("people", "list", "--all")).output
    assert (await cli("people", "activate", str(hung))).exit_code == 0
    assert "Đã nhận báo cáo số" in texts_of(await harness.send(100, "Bà con phản ánh giá phân bón tăng"))

    async with harness.uow() as uow:
        actions = [(a.action, a.actor, a.target) for a in reversed(await uow.audit.recent(10))]
        change = (await uow.audit.recent(1, action="person.change"))[0]
    assert actions[-3:] == [("person.change", "cli", f"person:{hung}"), ("person.deactivate", "cli", f"person:{hung}"),
                            ("person.activate", "cli", f"person:{hung}")]
    assert change.details["before"]["role"] == "reporter" and change.details["after"]["role"] == "officer"

    assert (await cli("people", "set", "99999", "--role", "admin")).exit_code == 1
    assert (await cli("people", "set", str(hung), "--unit", "NOPE")).exit_code == 1
    assert (await cli("people", "set", str(hung), "--role", "boss")).exit_code != 0
    assert (await cli("people", "set", str(hung))).exit_code != 0
    assert (await cli("people", "deactivate", "99999")).exit_code == 1
