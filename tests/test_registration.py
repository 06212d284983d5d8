"""Registration with invite codes and the basic commands, through the real pipeline and database."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.invites import hash_code, issue_invites
from storage.models import AuditEntry, InboxItem, Invite, Person
from tests.harness import Harness, texts_of


async def make_invite(h: Harness, unit: str = "X1-T1", role: str = "reporter", days: int = 14) -> str:
    async with h.uow() as uow:
        issued = await issue_invites(
            uow, unit=await uow.units.by_code(unit), role=role, count=1, expires_days=days,
            now=h.clock.now(), actor="cli", actor_id=None, bot_username="danvan_bot",
        )
        await uow.commit()
    return issued[0].code


async def test_stranger_is_told_how_to_register_and_nothing_is_kept(harness: Harness) -> None:
    replies = await harness.send(555, "Báo cáo: bà con thôn 3 bức xúc vì giá phân bón")
    assert len(replies) == 1
    assert "/dangky" in replies[0]["text"]
    async with harness.uow() as uow:
        payloads = (await uow.session.execute(select(InboxItem.payload))).scalars().all()
        audit = (await uow.session.execute(select(AuditEntry).where(AuditEntry.action == "unregistered.contact"))).scalars().all()
    assert payloads == [None], "the raw update must not be kept after handling"
    assert len(audit) == 1 and "bức xúc" not in str(audit[0].details)
    await harness.send(555, "alo alo")
    async with harness.uow() as uow:
        count = (await uow.session.execute(select(func.count()).where(AuditEntry.action == "unregistered.contact"))).scalar_one()
    assert count == 1, "the audit line for strangers is throttled"


async def test_register_with_invite_confirm_profile_name_and_whoami(harness: Harness) -> None:
    code = await make_invite(harness)
    replies = await harness.send(777, f"/start {code.replace('-', '')}", display_name="Điểu Thị Mai")
    assert "Điểu Thị Mai" in replies[0]["text"]
    assert replies[0]["buttons"][0][0]["payload"] == "reg:ok"
    done = await harness.press(777, "reg:ok", message_id="10")
    assert "Đăng ký thành công" in done[0]["text"]
    assert done[0]["edit_message_id"] == "10"
    me = texts_of(await harness.send(777, "/toi"))
    assert "Điểu Thị Mai" in me and "Báo cáo viên" in me and "Tỉnh A › Xã Một › Thôn 1" in me


async def test_register_typing_a_different_name(harness: Harness) -> None:
    code = await make_invite(harness)
    await harness.send(778, f"/dangky {code.lower()}", display_name="Mai")
    assert "Họ tên cần" in texts_of(await harness.send(778, "M"))
    assert "Đăng ký thành công" in texts_of(await harness.send(778, "Nguyễn Thị Mai"))
    async with harness.uow() as uow:
        names = (await uow.session.execute(select(Person.name))).scalars().all()
    assert names == ["Nguyễn Thị Mai"]


async def test_reused_expired_and_wrong_codes_get_clear_answers(harness: Harness) -> None:
    code = await make_invite(harness)
    await harness.send(1, f"/dangky {code}", display_name="Người Một")
    assert "đã được sử dụng" in texts_of(await harness.send(2, f"/dangky {code}", display_name="Người Hai"))
    old = await make_invite(harness, days=1)
    harness.clock.advance(days=2)
    assert "hết hạn" in texts_of(await harness.send(3, f"/dangky {old}"))
    assert "không đúng" in texts_of(await harness.send(3, "/dangky ZZZZ-ZZZZ"))
    assert "kèm mã mời" in texts_of(await harness.send(3, "/dangky"))


async def test_wrong_codes_are_throttled_even_for_a_valid_code(harness: Harness) -> None:
    code = await make_invite(harness)
    for i in range(5):
        await harness.send(9, f"/dangky WRNG-{i:04d}")
    assert "quá nhiều lần" in texts_of(await harness.send(9, f"/dangky {code}"))
    harness.clock.advance(minutes=16)
    assert "Mã mời hợp lệ" in texts_of(await harness.send(9, f"/dangky {code}", display_name="Hậu Nguyễn"))


async def test_codes_are_stored_hashed(harness: Harness) -> None:
    code = await make_invite(harness)
    async with harness.uow() as uow:
        hashes = (await uow.session.execute(select(Invite.code_hash))).scalars().all()
    assert len(hashes) == 1 and len(hashes[0]) == 64
    assert code.replace("-", "") not in hashes[0] and hashes[0] == hash_code(code)


async def test_help_differs_by_role_and_unknown_commands_are_explained(harness: Harness) -> None:
    await harness.add_person(10, "Báo Cáo Viên", "reporter", "X1-T1")
    await harness.add_person(11, "Cán Bộ", "officer", "P")
    reporter_help = texts_of(await harness.send(10, "/trogiup"))
    officer_help = texts_of(await harness.send(11, "/trogiup"))
    assert "/moi" not in reporter_help and "/moi" in officer_help
    assert "Không có lệnh /abc" in texts_of(await harness.send(10, "/abc"))
    assert "không dành cho vai trò" in texts_of(await harness.send(10, "/moi"))


async def test_officer_creates_invites_only_within_scope(harness: Harness) -> None:
    await harness.add_person(20, "Cán Bộ Xã", "officer", "X1")
    ok = texts_of(await harness.send(20, "/moi X1-T2 reporter 2"))
    assert ok.count("<code>") == 2
    assert "Thôn 2" in ok
    assert "ngoài phạm vi" in texts_of(await harness.send(20, "/moi X2-A1"))
    assert "Chỉ quản trị viên" in texts_of(await harness.send(20, "/moi X1 admin"))
    assert "Không tìm thấy" in texts_of(await harness.send(20, "/moi NOPE"))


async def test_same_update_twice_changes_nothing(harness: Harness) -> None:
    code = await make_invite(harness)
    first = await harness.send(30, f"/dangky {code}", display_name="Lò Văn Tư", update_key="42")
    second = await harness.send(30, f"/dangky {code}", display_name="Lò Văn Tư", update_key="42")
    assert first and second == []
    async with harness.uow() as uow:
        assert (await uow.session.execute(select(func.count(Person.id)))).scalar_one() == 1


async def test_media_sticker_and_edits_get_an_answer(harness: Harness) -> None:
    from handlers.types import Attachment

    await harness.add_person(40, "Báo Cáo Viên", "reporter", "X1-T1")
    assert "nhãn dán" in texts_of(await harness.send(40, None, attachments=[Attachment("sticker", file_id="s")]))
    assert "không hiển thị" in texts_of(await harness.send(40, None, unsupported=True))
    assert "/sua" in texts_of(await harness.send(40, "sửa lại", edited=True))


async def test_group_messages_are_ignored_unless_office_group(harness: Harness) -> None:
    await harness.add_person(50, "Báo Cáo Viên", "reporter", "X1-T1")
    assert await harness.send(50, "/toi", chat_id="-100", chat_type="group") == []
    async with harness.uow() as uow:
        unit = await uow.units.by_code("X1")
        await uow.groups.add("telegram", "-100", unit.id, "Ban")
        await uow.commit()
    assert "Báo Cáo Viên" in texts_of(await harness.send(50, "/toi", chat_id="-100", chat_type="group"))
