"""The reporting calendar in action: a whole year of prompts, reminders, escalations and digests."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from storage.models import JobRun, OutboxItem, PeriodicReport
from tests.harness import Harness, texts_of

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN)


@pytest.fixture
async def staff(harness: Harness) -> dict[str, int]:
    return {
        "t1": await harness.add_person(11, "Báo Cáo Thôn 1", "reporter", "X1-T1"),
        "t2": await harness.add_person(12, "Báo Cáo Thôn 2", "reporter", "X1-T2"),
        "a1": await harness.add_person(21, "Báo Cáo Ấp 1", "reporter", "X2-A1"),
        "x1": await harness.add_person(31, "Cán Bộ Xã Một", "officer", "X1"),
        "p": await harness.add_person(41, "Ban Tỉnh", "officer", "P"),
        "admin": await harness.add_person(51, "Quản Trị", "admin", "P"),
    }


async def outbox(h: Harness, kind: str | None = None) -> list[OutboxItem]:
    async with h.uow() as uow:
        stmt = select(OutboxItem).order_by(OutboxItem.id)
        if kind:
            stmt = stmt.where(OutboxItem.kind == kind)
        return list((await uow.session.execute(stmt)).scalars().all())


async def run_at(h: Harness, moment: datetime):
    h.clock.set(moment)
    return await h.scheduling.run_due()


async def submit_periodic(h: Harness, user_id: int, answers: list[str | None]) -> list[dict]:
    replies = await h.send(user_id, "/baocao")
    for answer in answers:
        replies = await (h.press(user_id, "pr:s") if answer is None else h.send(user_id, answer))
    return replies + await h.press(user_id, "pr:ok")


async def test_a_whole_year_of_the_calendar(harness: Harness, staff: dict[str, int]) -> None:
    harness.clock.set(at(2026, 1, 2, 9))
    assert await harness.scheduling.run_due() == []  # first start: nothing due yet
    # Quarter I: prompt on 8 March 08:00 to every reporter, with a start button.
    assert await run_at(harness, at(2026, 3, 8, 7, 59)) == []
    done = await run_at(harness, at(2026, 3, 8, 8, 0))
    assert [(o.job, o.period_key, o.queued) for o in done] == [("prompt", "2026-Q1", 3)]
    prompts = await outbox(harness, "prompt")
    assert sorted(r.person_id for r in prompts) == sorted([staff["t1"], staff["t2"], staff["a1"]])
    assert prompts[0].payload["buttons"][0][0]["payload"] == "pr:start:2026-Q1"
    assert "hết ngày 14/03/2026" in prompts[0].payload["text"]
    # Thôn 1 submits before the reminder; the reminder goes only to the others.
    harness.clock.set(at(2026, 3, 10, 10))
    await submit_periodic(harness, 11, [None, None, "Có 1 điểm nhóm lạ", None])
    done = await run_at(harness, at(2026, 3, 12, 8, 0))
    reminders = await outbox(harness, "reminder")
    assert sorted(r.person_id for r in reminders) == sorted([staff["t2"], staff["a1"]])
    # Escalation the day after the deadline: each officer sees the missing units of their subtree.
    await run_at(harness, at(2026, 3, 15, 8, 0))
    esc = {r.person_id: r.payload["text"] for r in await outbox(harness, "escalation")}
    assert "1/2 đơn vị chưa nộp" in esc[staff["x1"]] and "Thôn 2" in esc[staff["x1"]] and "Ấp 1" not in esc[staff["x1"]]
    assert "2/3 đơn vị chưa nộp" in esc[staff["p"]] and "Ấp 1" in esc[staff["p"]]
    await run_at(harness, at(2026, 3, 16, 7, 30))
    digests = await outbox(harness, "digest")
    to_province = [r for r in digests if r.person_id == staff["p"]]
    files = sorted(r.payload["file"]["filename"] for r in to_province if r.payload.get("file"))
    assert any(f.endswith(".docx") for f in files) and any(f.endswith(".xlsx") for f in files), files
    assert any("QUÝ I NĂM 2026" in r.payload.get("text", "") for r in to_province)
    assert {r.person_id for r in digests} == {staff["p"], staff["x1"]}
    # The rest of the year, walked minute-exactly at each due time.
    for moment in [at(2026, m, d, hh, mm) for m in (6, 9, 12) for d, hh, mm in ((8, 8, 0), (12, 8, 0), (15, 8, 0), (16, 7, 30))]:
        await run_at(harness, moment)
    async with harness.uow() as uow:
        runs = (await uow.session.execute(select(JobRun.job, JobRun.period_key, JobRun.status))).all()
    assert len(runs) == 16 and {s for _, _, s in runs} == {"done"}
    assert Counter(p for _, p, _ in runs) == {"2026-Q1": 4, "2026-Q2": 4, "2026-Q3": 4, "2026-Q4": 4}
    prompts = await outbox(harness, "prompt")
    assert Counter(r.dedupe_key.split(":")[2] for r in prompts) == {"2026-Q1": 3, "2026-Q2": 3, "2026-Q3": 3, "2026-Q4": 3}
    # Year boundary with the cut-off rule: from 15 December the 2027 first quarter is open.
    harness.clock.set(at(2026, 12, 20, 9))
    await harness.new_replies()
    replies = await harness.send(11, "Bà con phản ánh giá phân bón tăng")
    assert "Đã nhận báo cáo" in replies[0]["text"]
    async with harness.uow() as uow:
        from storage.models import Report

        keys = (await uow.session.execute(select(Report.period_key))).scalars().all()
    assert keys == ["2027-Q1"]


async def test_double_fire_and_restart_in_the_middle_send_nothing_twice(harness: Harness, staff: dict) -> None:
    harness.clock.set(at(2026, 3, 1))
    await harness.scheduling.run_due()
    harness.clock.set(at(2026, 3, 8, 8, 0, 30))
    first = await harness.scheduling.run_due()
    second = await harness.scheduling.run_due()
    assert [o.queued for o in first] == [3] and second == []
    # A crash after queueing part of the reminder: the run is left "running" with one row queued.
    harness.clock.set(at(2026, 3, 12, 8, 1))
    async with harness.uow() as uow:
        period = harness.services.calendar.period("2026-Q1")
        await uow.job_runs.claim("reminder", "2026-Q1", at(2026, 3, 12, 8), harness.clock.now())
        person = await uow.people.get(staff["t1"])
        from bot.outbox import queue_to_person
        from handlers.types import Reply

        await queue_to_person(uow, person, Reply("partial"), dedupe=f"job:reminder:2026-Q1:{staff['t1']}",
                              kind="reminder", now=harness.clock.now())
        await uow.commit()
    again = await harness.scheduling.run_due()
    assert [(o.job, o.status, o.queued) for o in again] == [("reminder", "done", 2)]
    reminders = await outbox(harness, "reminder")
    assert len(reminders) == 3 and len({r.person_id for r in reminders}) == 3
    assert period.key == "2026-Q1"


async def test_catch_up_within_grace_and_missed_jobs_reported(harness: Harness, staff: dict) -> None:
    harness.clock.set(at(2026, 3, 1))
    await harness.scheduling.run_due()
    # Down from 7 to 10 March: the prompt (due the 8th) is still within the 3-day grace window.
    done = await run_at(harness, at(2026, 3, 10, 9))
    assert [(o.job, o.status) for o in done] == [("prompt", "done")]
    # Down again until 20 March: reminder (12th) and escalation (15th) are too late; digest (16th) too.
    done = await run_at(harness, at(2026, 3, 20, 9))
    assert {(o.job, o.status) for o in done} == {("reminder", "missed"), ("escalation", "missed"), ("digest", "missed")}
    notes = await outbox(harness, "system")
    assert {r.person_id for r in notes} == {staff["admin"]} and len(notes) == 3
    assert "đã bị lỡ" in notes[0].payload["text"]
    assert await run_at(harness, at(2026, 3, 20, 9, 5)) == []


async def test_guided_report_resume_summary_resubmit_and_late(harness: Harness, staff: dict) -> None:
    harness.clock.set(at(2026, 3, 9, 9))
    await harness.send(11, "Đồng bào Khmer tổ chức lễ hội an toàn")  # an ad-hoc report in the window
    replies = await harness.send(11, "/baocao")
    assert "quý I năm 2026" in texts_of(replies) and replies[-1]["buttons"][0][0]["payload"] == "pr:s"
    await harness.send(11, "Bà con phấn khởi vì giá lúa tăng")
    # Interrupted: a command in between, then /baocao resumes at the same step.
    await harness.send(11, "/toi")
    resumed = texts_of(await harness.send(11, "/baocao"))
    assert "Tiếp tục" in resumed and "Tình hình dân tộc" in resumed
    await harness.press(11, "pr:s")
    await harness.press(11, "pr:s")
    summary = await harness.send(11, "Đề nghị sửa đường liên thôn")
    text = summary[0]["text"]
    assert "giá lúa tăng" in text and "Ổn định" in text and "sửa đường" in text and "Khmer" in text
    await harness.press(11, "pr:e:d")
    fixed = await harness.send(11, "Có 2 hộ người Mông mới đến")
    assert "người Mông" in fixed[0]["text"] and "giá lúa tăng" in fixed[0]["text"]
    submitted = texts_of(await harness.press(11, "pr:ok"))
    assert "Đã nộp báo cáo quý I năm 2026" in submitted and "muộn" not in submitted
    # Another reporter of a different unit submits late, after the cut-off.
    harness.clock.set(at(2026, 3, 16, 9))
    late = await submit_periodic(harness, 21, [None, None, None, None])
    assert "Nộp muộn" in texts_of(late)
    # Resubmission: the last one counts, the history stays.
    harness.clock.set(at(2026, 3, 13, 9))
    again = await submit_periodic(harness, 11, ["Tình hình ổn định", None, None, None])
    assert "thay cho bản đã nộp trước" in texts_of(again)
    async with harness.uow() as uow:
        rows = (await uow.session.execute(select(PeriodicReport).order_by(PeriodicReport.id))).scalars().all()
    assert [(r.period_key, r.current, r.late) for r in rows] == [
        ("2026-Q1", False, False), ("2026-Q1", True, True), ("2026-Q1", True, False)
    ]
    assert rows[0].answers["dan_toc"] == "Có 2 hộ người Mông mới đến" and rows[0].answers["ton_giao"] is None


async def test_admin_sees_changes_and_runs_the_schedule_in_chat(harness: Harness, staff: dict) -> None:
    harness.clock.set(at(2026, 3, 1, 9))
    view = texts_of(await harness.send(51, "/lich"))
    assert "ngày 8 tháng cuối quý, 08:00" in view and "08/03/2026" in view
    assert "không dành cho vai trò" in texts_of(await harness.send(41, "/lich"))
    assert "Đã đổi lịch" in texts_of(await harness.send(51, "/lich nhac 11 07:00"))
    assert "ngày 11 tháng cuối quý, 07:00" in texts_of(await harness.send(51, "/lich"))
    assert "Không đổi được" in texts_of(await harness.send(51, "/lich nhac 40"))
    await harness.scheduling.run_due()
    done = await run_at(harness, at(2026, 3, 11, 7, 0))
    assert ("reminder", "2026-Q1") in {(o.job, o.period_key) for o in done}
    assert {"prompt", "reminder"} <= {o.job for o in done}
    ran = texts_of(await harness.send(51, "/lich chay canhbao"))
    assert "2 tin nhắn mới" in ran
    assert "0 tin nhắn mới" in texts_of(await harness.send(51, "/lich chay canhbao"))
    assert "0 tin nhắn mới" in texts_of(await harness.send(51, "/lich chay moi"))


def test_cli_jobs_list_and_run_due(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from bot.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    listed = runner.invoke(app, ["jobs", "list", "--now", "2026-03-01T00:00:00+07:00"])
    assert listed.exit_code == 0 and "2026-03-08 08:00  prompt" in listed.output, listed.output
    ran = runner.invoke(app, ["jobs", "run-due", "--now", "2026-03-08T08:00:00+07:00"])
    assert ran.exit_code == 0 and "prompt" in ran.output and "done" in ran.output, ran.output
    again = runner.invoke(app, ["jobs", "run-due", "--now", "2026-03-08T08:00:00+07:00"])
    assert "Không có việc nào đến hạn" in again.output
    assert runner.invoke(app, ["schedule", "set", "reminder_day", "11"]).exit_code == 0
    assert "reminder_day = 11" in runner.invoke(app, ["schedule", "show"]).output
    assert runner.invoke(app, ["schedule", "set", "reminder_day", "45"]).exit_code == 1
