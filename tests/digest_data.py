"""A small, realistic dataset for the digest tests, written through the real models.

Tree (the harness's, plus an Ấp with no reporter):
    P Tỉnh A ─┬─ X1 Xã Một ─┬─ X1-T1 Thôn 1   (reporters Điểu Hùng, Thị Mai)
              │             └─ X1-T2 Thôn 2   (reporter Lò Văn Sáng)
              └─ X2 Xã Hai ─┬─ X2-A1 Ấp 1     (reporter Lê Sóc)
                            └─ X2-A2 Ấp 2     (no reporter)
Reports span 2025-Q1 (same period last year), 2025-Q4 (previous quarter), 2026-Q1 (the period most
tests digest) and 2026-Q2, with withdrawn, draft and discarded ones, a retagged one, urgent ones in
every status, and periodic reports on time, late (with a superseded earlier version) and missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.periods import Calendar
from bot.units_import import import_units
from storage.models import PeriodicReport, Report, Unit
from storage.uow import UnitOfWork

CAL = Calendar(cutoff_day=14)
EXTRA_UNITS = "code,name,level,parent_code\nX2-A2,Ấp 2,Ấp,X2\n"
TOPICS = ("nhan_dan", "dan_toc", "ton_giao")


@dataclass
class Seeded:
    people: dict[str, int] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    reports: dict[str, int] = field(default_factory=dict)


def at(day: str, hour: int = 3) -> datetime:
    """Return a UTC moment on a day given as YYYY-MM-DD (03:00 UTC = 10:00 in Việt Nam)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


async def seed(uow: UnitOfWork, now: datetime) -> Seeded:
    """Add the extra unit, the people, the reports and the periodic reports; commit."""
    s = Seeded()
    result = await import_units(uow, EXTRA_UNITS, actor="test", now=now)
    assert not result.errors, result.errors
    s.units = await uow.units.by_codes()
    people = [
        ("hung", "Điểu Hùng", "reporter", "X1-T1"), ("mai", "Thị Mai", "reporter", "X1-T1"),
        ("sang", "Lò Văn Sáng", "reporter", "X1-T2"), ("soc", "Lê Sóc", "reporter", "X2-A1"),
        ("officer_x1", "Cán Bộ Xã Một", "officer", "X1"), ("officer_p", "Trần Thị Ban", "officer", "P"),
    ]
    for key, name, role, code in people:
        if key not in s.people:
            s.people[key] = (await uow.people.add(name, role, s.units[code].id)).id
    add = _adder(uow, s)
    # Same quarter last year (2025-Q1) and the previous quarter (2025-Q4).
    await add("ly1", "hung", "2025-01-10", "Bà con thôn 1 ổn định sản xuất", nhan_dan=True)
    await add("ly2", "soc", "2025-02-20", "Đồng bào Khmer đón Tết", dan_toc=True)
    # Filed by the commune officer for the commune itself: a unit with its own reports and children.
    await add("ly3", "officer_x1", "2025-03-01", "Xã tổ chức đối thoại với Nhân dân", nhan_dan=True)
    await add("pq1", "hung", "2025-10-05", "Đường liên thôn xuống cấp", nhan_dan=True)
    await add("pq2", "sang", "2025-11-11", "Giáo xứ tổ chức lễ Giáng sinh", ton_giao=True)
    await add("pq3", "soc", "2025-12-02", "Người dân hỏi về bảo hiểm y tế", nhan_dan=True)
    # The period itself: 2026-Q1 runs from 15/12/2025 to 14/03/2026.
    await add("a1", "hung", "2025-12-20", "Bà con phản ánh giá phân bón tăng cao", nhan_dan=True)
    await add("a2", "hung", "2026-01-08", "Giá phân bón tăng cao, bà con lo lắng", nhan_dan=True)
    await add("a3", "mai", "2026-01-15", "gia phan bon tang cao qua, ba con kho khan", nhan_dan=True)
    await add("u1", "hung", "2026-02-03", "Khoảng 50 hộ kéo đến UBND xã đòi tiền đền bù", nhan_dan=True,
              dan_toc=True, urgent=True, status="acknowledged", ack="officer_x1")
    await add("t1", "mai", "2026-02-10", "Chùa tổ chức lễ cầu an, đông người tham dự", ton_giao=True)
    # Retagged by an officer: filed as dân tộc, corrected to tôn giáo.
    await add("rt", "sang", "2026-02-12", "Nhóm lạ truyền đạo trái phép tại thôn 2", ton_giao=True,
              meta={"dan_toc": {"source": "officer", "cues": []}, "ton_giao": {"source": "officer", "cues": []}})
    await add("u2", "sang", "2026-02-25", "Nhóm lạ truyền đạo trái phép, bà con bức xúc", ton_giao=True,
              urgent=True, status="in_progress", ack="officer_p")
    await add("n1", "sang", "2026-03-01", "Trời mưa lớn kéo dài")  # no topic
    await add("k1", "soc", "2026-03-05", "Đồng bào Khmer chuẩn bị lễ Chôl Chnăm Thmây", dan_toc=True)
    await add("u3", "soc", "2026-03-10", "Sạt lở đất uy hiếp 3 hộ đồng bào Khmer & <Chăm>", dan_toc=True, urgent=True)
    await add("u4", "hung", "2026-03-12", "Sạt lở đất ven sông, 2 nhà bị cuốn trôi", nhan_dan=True, urgent=True,
              status="resolved", ack="officer_x1")
    # Never counted: withdrawn, draft, discarded.
    await add("w1", "hung", "2026-01-20", "Báo nhầm, xin rút", nhan_dan=True, urgent=True, state="withdrawn")
    await add("d1", "mai", "2026-02-01", "", nhan_dan=True, state="draft")
    await add("x1", "soc", "2026-02-02", "cảm ơn", state="discarded")
    # The next quarter (2026-Q2), for the cumulative 6-month digest.
    await add("q2a", "hung", "2026-04-02", "Sạt lở đất tiếp diễn, bà con lo lắng", nhan_dan=True)
    await add("q2b", "soc", "2026-05-19", "Đồng bào Khmer đón lễ Sene Đôn Ta", dan_toc=True, urgent=True)
    await _periodic(uow, s)
    await uow.commit()
    return s


def _adder(uow: UnitOfWork, s: Seeded) -> Any:
    async def add(
        key: str, who: str, day: str, text: str, *, nhan_dan: bool = False, dan_toc: bool = False,
        ton_giao: bool = False, urgent: bool = False, state: str = "filed", status: str = "new",
        ack: str | None = None, meta: dict[str, Any] | None = None,
    ) -> None:
        person = await uow.people.get(s.people[who])
        assert person is not None and person.unit_id is not None
        moment = at(day)
        report = await uow.reports.add(
            person_id=person.id, unit_id=person.unit_id, channel="telegram", source_key=f"seed:{key}", text=text,
            attachments=[], created_at=moment, updated_at=moment, period_key=CAL.period_containing(moment).key,
            dan_toc=dan_toc, ton_giao=ton_giao, nhan_dan=nhan_dan, urgent=urgent, tag_meta=meta or {},
            state=state, status=status, acknowledged_by=s.people[ack] if ack else None,
            acknowledged_at=moment + timedelta(hours=1) if ack else None,
        )
        s.reports[key] = report.id

    return add


async def _periodic(uow: UnitOfWork, s: Seeded) -> None:
    q1 = CAL.period("2026-Q1")
    rows = [
        # X1-T1 on time; an earlier version is superseded (current=False) and must be ignored.
        ("X1-T1", "hung", q1.deadline - timedelta(days=5), False, False,
         {"nhan_dan": "Cũ", "dan_toc": None, "ton_giao": None, "kien_nghi": "Kiến nghị cũ"}),
        ("X1-T1", "hung", q1.deadline - timedelta(days=2), False, True,
         {"nhan_dan": "Giá phân bón tăng, bà con lo lắng", "dan_toc": None, "ton_giao": None,
          "kien_nghi": "Đề nghị hỗ trợ giống lúa cho hộ nghèo"}),
        # X1-T2 late.
        ("X1-T2", "sang", q1.deadline + timedelta(days=1), True, True,
         {"nhan_dan": None, "dan_toc": None, "ton_giao": "Có nhóm lạ truyền đạo <trái phép>", "kien_nghi": None}),
        # X2-A1 (Lê Sóc) did not submit; X2-A2 has no reporter at all.
    ]
    for code, who, when, late, current, answers in rows:
        uow.session.add(PeriodicReport(
            unit_id=s.units[code].id, period_key=q1.key, person_id=s.people[who], submitted_at=when,
            late=late, current=current, answers=answers,
        ))
    await uow.session.flush()


async def ground_truth(uow: UnitOfWork, unit_path: str, keys: list[str]) -> dict[str, Any]:
    """Count the filed reports of a subtree and window straight from the rows (independent of the repo)."""
    rows = (await uow.session.execute(select(Report, Unit).join(Unit, Unit.id == Report.unit_id))).all()
    chosen = [r for r, u in rows if r.state == "filed" and r.period_key in keys and u.path.startswith(unit_path)]
    return {
        "ids": {r.id for r in chosen},
        "reports": len(chosen),
        "urgent": sum(r.urgent for r in chosen),
        "untagged": sum(not (r.dan_toc or r.ton_giao or r.nhan_dan) for r in chosen),
        "reporters": len({r.person_id for r in chosen}),
        "units": len({r.unit_id for r in chosen}),
        **{t: sum(getattr(r, t) for r in chosen) for t in TOPICS},
    }
