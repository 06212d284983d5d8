"""Tests for the topic tagger: quality on labelled reports, look-alike traps, lexicon checks, reload."""

from __future__ import annotations

import json
import os
import shutil
import unicodedata
from pathlib import Path

import pytest

from bot.tagging import DEFAULT_LEXICON, TOPICS, Cue, LexiconError, Tagger, check_lexicon, tag_jsonl

DATA = Path(__file__).parent / "data"
LABELLED = DATA / "tagging_set.jsonl"
HOLDOUT = DATA / "tagging_holdout.jsonl"
DEV = Path(__file__).resolve().parents[2] / "shared" / "examples" / "tagging-dev.jsonl"
TARGET_MACRO_F1 = 0.90
TARGET_URGENT_RECALL = 0.90
TARGET_URGENT_PRECISION = 0.75


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    """Return a tagger on the packaged lexicon."""
    return Tagger()


def load(path: Path) -> list[dict]:
    """Return the records of a JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def strip_marks(text: str) -> str:
    """Return text typed without diacritics, as on a phone without a Vietnamese keyboard."""
    text = text.replace("đ", "d").replace("Đ", "D")
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare)


def f1(tp: int, fp: int, fn: int) -> float:
    """Return the F1 score (1.0 when there is nothing to find and nothing was found)."""
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def evaluate(tagger: Tagger, records: list[dict]) -> dict[str, float]:
    """Return per-topic F1, macro-F1, urgent precision/recall and the share of chatter left untagged."""
    counts = {label: [0, 0, 0] for label in (*TOPICS, "urgent")}  # tp, fp, fn
    chatter = untagged = 0
    for record in records:
        result = tagger.tag(record["text"])
        predicted = set(result.topics) | ({"urgent"} if result.urgent else set())
        gold = set(record["topics"]) | ({"urgent"} if record["urgent"] else set())
        for label, c in counts.items():
            c[0] += label in predicted and label in gold
            c[1] += label in predicted and label not in gold
            c[2] += label in gold and label not in predicted
        if not gold:
            chatter += 1
            untagged += not predicted
    scores = {label: f1(*counts[label]) for label in TOPICS}
    tp, fp, fn = counts["urgent"]
    scores["macro_f1"] = sum(scores[t] for t in TOPICS) / len(TOPICS)
    scores["urgent_precision"] = tp / (tp + fp) if tp + fp else 1.0
    scores["urgent_recall"] = tp / (tp + fn) if tp + fn else 1.0
    scores["chatter_untagged"] = untagged / chatter if chatter else 1.0
    scores["n"] = len(records)
    return scores


def report(name: str, s: dict[str, float]) -> None:
    """Print the figures so that `pytest -s` shows them."""
    per_topic = " ".join(f"{t}={s[t]:.3f}" for t in TOPICS)
    print(
        f"\n[{name}] n={s['n']:.0f} macro-F1={s['macro_f1']:.3f} ({per_topic}) "
        f"urgent P={s['urgent_precision']:.3f} R={s['urgent_recall']:.3f} "
        f"chatter untagged={s['chatter_untagged']:.0%}"
    )


def assert_targets(s: dict[str, float]) -> None:
    """Assert the quality targets."""
    assert s["macro_f1"] >= TARGET_MACRO_F1
    assert s["urgent_recall"] >= TARGET_URGENT_RECALL
    assert s["urgent_precision"] >= TARGET_URGENT_PRECISION
    assert s["chatter_untagged"] == 1.0


# --------------------------------------------------------------------------- quality


def test_labelled_set_is_big_and_varied() -> None:
    records = load(LABELLED)
    holdout = load(HOLDOUT)
    assert len(records) >= 230
    assert 0.25 <= len(holdout) / (len(records) + len(holdout)) <= 0.35
    assert sum(not r["topics"] and not r["urgent"] for r in records) >= 30
    plain = sum(strip_marks(r["text"]) == r["text"] for r in records + holdout)
    assert plain / len(records + holdout) >= 0.28  # about a third typed without diacritics
    for topic in TOPICS:
        assert sum(topic in r["topics"] for r in records) >= 40
    assert sum(r["urgent"] for r in records) >= 40
    if DEV.exists():  # the shared dev sample sits beside the repository in CI and in development
        assert not {r["text"] for r in records} & {r["text"] for r in load(DEV)}
    assert not {r["text"] for r in records} & {r["text"] for r in holdout}


def test_quality_on_labelled_set(tagger: Tagger) -> None:
    scores = evaluate(tagger, load(LABELLED))
    report("labelled set", scores)
    assert_targets(scores)


def test_quality_on_holdout(tagger: Tagger) -> None:
    scores = evaluate(tagger, load(HOLDOUT))
    report("holdout", scores)
    assert_targets(scores)


@pytest.mark.skipif(not DEV.exists(), reason="shared dev sample not checked out beside the repository")
def test_quality_on_dev_sample(tagger: Tagger) -> None:
    scores = evaluate(tagger, load(DEV))
    report("dev sample", scores)
    assert_targets(scores)


def test_unaccented_copies_of_the_set_get_the_same_tags(tagger: Tagger) -> None:
    accented = [r["text"] for r in load(LABELLED) + load(HOLDOUT) if strip_marks(r["text"]) != r["text"]]
    same = 0
    for text in accented:
        a, b = tagger.tag(text), tagger.tag(strip_marks(text))
        same += (a.topics, a.urgent) == (b.topics, b.urgent)
    print(f"\n[diacritics] {same}/{len(accented)} reports tag the same typed without diacritics")
    assert same / len(accented) >= 0.97


# --------------------------------------------------------------------------- behaviour


def tags(tagger: Tagger, text: str) -> tuple[tuple[str, ...], bool]:
    """Return (topics, urgent) of a text."""
    result = tagger.tag(text)
    return result.topics, result.urgent


@pytest.mark.parametrize(
    ("accented", "expected"),
    [
        ("Đồng bào Khmer tổ chức lễ Chôl Chnăm Thmây tại chùa Sóc Ruộng, an toàn", (("dan_toc", "ton_giao"), False)),
        ("Khoảng 50 hộ kéo đến UBND xã đòi tiền đền bù", (("nhan_dan",), True)),
        ("Có người lạ vào ấp truyền đạo trái phép cho bà con S'tiêng", (("dan_toc", "ton_giao"), True)),
        ("Giá phân bón tăng, bà con lo lắng", (("nhan_dan",), False)),
        ("Sạt lở đất vùi 2 nhà, 1 người chết", (("nhan_dan",), True)),
        ("Giáo xứ tổ chức lễ Phục sinh, trật tự tốt", (("ton_giao",), False)),
        ("Người Dao ở bản Nậm Cang làm lễ cấp sắc", (("dan_toc", "ton_giao"), False)),
        ("Già làng vận động bà con không nghe kẻ xấu", (("dan_toc", "nhan_dan"), False)),
        ("Phát hiện tờ rơi của Hội thánh Đức Chúa Trời Mẹ ở chợ", (("ton_giao",), True)),
        ("3 hộ người Mông di cư tự do vào rừng phòng hộ", (("dan_toc",), True)),
    ],
)
def test_with_and_without_diacritics_alike(tagger: Tagger, accented: str, expected: tuple) -> None:
    assert tags(tagger, accented) == expected
    assert tags(tagger, strip_marks(accented)) == expected
    assert tags(tagger, strip_marks(accented).lower()) == expected


def test_old_and_new_tone_placement_alike(tagger: Tagger) -> None:
    assert tags(tagger, "Tín đồ Phật giáo Hoà Hảo phát cơm chay") == tags(tagger, "Tín đồ Phật giáo Hòa Hảo phát cơm chay")
    assert tags(tagger, "Bà con lo thiếu nước, thuỷ lợi xuống cấp") == (("nhan_dan",), False)


def test_decomposed_input_is_normalised(tagger: Tagger) -> None:
    text = "Đồng bào Ê Đê buôn Ea Tul bức xúc vì mất đất"
    assert tags(tagger, unicodedata.normalize("NFD", text)) == tags(tagger, text) == (("dan_toc", "nhan_dan"), False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Dao the people, đạo the religion, dao the knife.
        ("Bà con người Dao ở thôn 5 trồng quế", "dan_toc"),
        ("Một số hộ theo đạo Tin Lành sinh hoạt tại nhà", "ton_giao"),
        ("Đối tượng dùng dao chém hàng xóm bị thương", "urgent"),
        ("ba con nguoi Dao o thon 5 trong que", "dan_toc"),
        ("mot so ho theo dao Tin Lanh sinh hoat tai nha", "ton_giao"),
        ("doi tuong cam dao chem hang xom bi thuong", "urgent"),
        # Thái the people, not thái độ, Thái Lan, Thái Bình.
        ("Đồng bào Thái bản Lác múa xòe đón khách", "dan_toc"),
        ("dong bao Thai ban Lac mua xoe don khach", "dan_toc"),
        # Hoa the people, not hoa the flowers; Mường the people, not mương the ditch.
        ("Người Hoa ở khu phố 3 tổ chức lễ tại miếu Ông Bổn", "dan_toc"),
        ("nguoi Hoa o khu pho 3 to chuc le tai mieu Ong Bon", "dan_toc"),
        ("Đồng bào Mường xóm Bưng vui mừng", "dan_toc"),
        ("dong bao Muong xom Bung vui mung", "dan_toc"),
    ],
)
def test_look_alike_hits(tagger: Tagger, text: str, expected: str) -> None:
    result = tagger.tag(text)
    assert expected in (*result.topics, *(("urgent",) if result.urgent else ()))


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("Đối tượng dùng dao chém hàng xóm bị thương", ("dan_toc", "ton_giao")),
        ("doi tuong cam dao chem hang xom bi thuong", ("dan_toc", "ton_giao")),
        ("Bà con một số hộ theo đạo Tin Lành sinh hoạt tại nhà", ("dan_toc",)),
        ("Lãnh đạo xã chỉ đạo tăng cường đào tạo nghề cho thanh niên", ("ton_giao", "dan_toc")),
        ("lanh dao xa chi dao tang cuong dao tao nghe cho thanh nien", ("ton_giao", "dan_toc")),
        ("Cán bộ có thái độ chưa đúng mực, người dân phản ánh", ("dan_toc",)),
        ("Lao động đi Thái Lan gửi tiền về, đời sống khá lên", ("dan_toc",)),
        ("Thương lái Thái Bình vào mua mật ong giá cao", ("dan_toc",)),
        ("Giá hoa cúc Tết thấp, nhiều hộ trồng hoa lo lỗ", ("dan_toc",)),
        ("Kênh mương nội đồng bị bồi lắng, bà con mong nạo vét", ("dan_toc",)),
        ("kenh muong noi dong bi boi lang, ba con mong nao vet", ("dan_toc",)),
        ("can bo co thai do chua dung muc, nguoi dan phan anh", ("dan_toc",)),
        ("lao dong di Thai Lan gui tien ve", ("dan_toc",)),
        ("gia hoa cuc Tet thap, nhieu ho trong hoa lo lo", ("dan_toc",)),
        ("nguoi dan mong som co song dien thoai", ("dan_toc",)),
        ("ba con phan anh gia phan bon tang", ("dan_toc", "ton_giao")),
        ("Gia đình ông A tổ chức đám cưới, đình công nhân may chưa có", ("ton_giao",)),
        ("Ngày hội Đại đoàn kết toàn dân tộc diễn ra vui tươi, bà con đồng lòng", ("dan_toc",)),
        ("nguoi dan chua dong tinh voi phuong an den bu", ("ton_giao",)),
        ("Dân dán thông báo ở nhà văn hóa", ("dan_toc",)),
    ],
)
def test_look_alike_traps(tagger: Tagger, text: str, absent: tuple[str, ...]) -> None:
    result = tagger.tag(text)
    labels = set(result.topics) | ({"urgent"} if result.urgent else set())
    assert not labels & set(absent), result.reasons


@pytest.mark.parametrize(
    "text",
    [
        "ĐBDTTS xã Thuận Lợi tham gia ngày hội",
        "dbdtts xa Thuan Loi tham gia ngay hoi",
        "DTTS ở thôn 5 tham gia ngày hội",
        "đb Ê Đê tham gia ngày hội",
        "db Ede tham gia ngay hoi",
        "ng dtts tham gia ngay hoi",
    ],
)
def test_abbreviations_expand(tagger: Tagger, text: str) -> None:
    assert "dan_toc" in tagger.tag(text).topics


def test_abbreviations_in_capitals_only(tagger: Tagger) -> None:
    assert tags(tagger, "TG: các cơ sở hoạt động bình thường") == (("ton_giao",), False)
    assert tags(tagger, "Tình hình ND ổn định") == (("nhan_dan",), False)
    assert tagger.tag("CA xã tuần tra").topics == ("nhan_dan",)
    assert tagger.tag("Giá cá tra tăng").topics == ("nhan_dan",)  # "cá", not "công an"


@pytest.mark.parametrize(
    "text",
    [
        "Tình hình ổn định, không có tụ tập đông người",
        "tinh hinh on dinh, ko co tu tap dong nguoi",
        "an ninh trat tu on dinh, k co gi bat thuong",
        "Chưa phát hiện trường hợp truyền đạo trái phép",
        "Lễ hội đua thuyền đông người, trật tự tốt",
        "Nhân dân tập trung sản xuất vụ đông xuân",
        "Hội nghị đánh giá kết quả phong trào, bà con đồng tình",
        "Xã tổ chức diễn tập phòng cháy chữa cháy rừng",
        "Chợ xã bị ngập mỗi lần mưa lớn, tiểu thương phàn nàn",
        "Dưa hấu được mùa được giá, nhiều vườn cháy hàng",
        "Giá lúa tăng 500 đ/kg, bà con vui",
    ],
)
def test_negation_and_calm_are_not_urgent(tagger: Tagger, text: str) -> None:
    result = tagger.tag(text)
    assert not result.urgent, result.reasons
    assert result.topics  # still a report


@pytest.mark.parametrize(
    "text",
    [
        "Khoảng 40 người dân kéo lên huyện phản đối bãi rác",
        "Người dân không đồng tình với đền bù, hơn 60 hộ kéo đến trụ sở xã",
        "Hai nhóm thanh niên đánh nhau, 1 người bị thương",
        "Cháy rừng tại tiểu khu 412, lửa lan nhanh",
        "lu quet cuon troi 3 nha",
        "Có đối tượng kích động người dân không nộp thuế",
        "Nhóm Pháp Luân Công phát tài liệu ở chợ",
        "Phát hiện 4 hộ di cư tự do vào rừng",
    ],
)
def test_urgent_of_every_kind(tagger: Tagger, text: str) -> None:
    assert tagger.tag(text).urgent


def test_hashtags_force_tags_with_their_reason(tagger: Tagger) -> None:
    result = tagger.tag("#khan xe tai mac ket o doc")
    assert result.urgent and result.kind == "report"
    assert any(line.startswith("khẩn: hashtag #khan") for line in result.reasons)
    assert tagger.tag("#khan ok").reasons == ["khẩn: hashtag #khan"]
    assert Cue("urgent", "#khan", "#khan") in result.cues
    assert tagger.tag("#khẩn cần hỗ trợ gấp").urgent
    assert tagger.tag("#dân_tộc đã khám sức khỏe cho bà con").topics == ("dan_toc",)
    assert tagger.tag("#DanToc ok").topics == ("dan_toc",)
    assert tagger.tag("#tongiao chùa đăng ký lễ").topics == ("ton_giao",)
    assert tagger.tag("#nhandan hỏi về tiền hỗ trợ").topics == ("nhan_dan",)
    assert tagger.tag("#abc ok anh").kind == "chatter"  # unknown hashtags force nothing


def test_reasons_name_the_matched_span(tagger: Tagger) -> None:
    result = tagger.tag("Khoảng 50 hộ kéo đến UBND xã, đồng bào Khmer bức xúc")
    assert result.topics == ("dan_toc", "nhan_dan") and result.urgent
    assert Cue("urgent", "kéo đến", "kéo đến") in result.cues
    assert Cue("dan_toc", "khmer", "Khmer") in result.cues  # the span as typed, capital and all
    assert 'khẩn: "kéo đến"' in result.reasons
    assert any(line.startswith("dân tộc: ") and '"Khmer"' in line for line in result.reasons)
    assert [line.split(":")[0] for line in result.reasons] == ["dân tộc", "nhân dân", "khẩn"]
    plain = tagger.tag("khoang 50 ho keo den  UBND xa")
    assert Cue("urgent", "kéo đến", "keo den") in plain.cues
    spaced = tagger.tag("Người dân kéo   đến trụ sở")
    assert any(c.matched == "kéo   đến" for c in spaced.cues)  # the exact span of the text


def test_kinds_and_intents(tagger: Tagger) -> None:
    assert (tagger.tag("hạn nộp báo cáo là ngày nào?").kind, tagger.tag("hạn nộp báo cáo là ngày nào?").intent) == (
        "question",
        "deadline",
    )
    assert tagger.tag("han nop bao cao quy la khi nao a").kind == "question"
    assert tagger.tag("Tháng này có phải báo cáo đột xuất không ạ").kind == "question"
    assert tagger.tag("co phai bao cao dot xuat ko a").kind == "question"
    thanks = tagger.tag("cảm ơn ban")
    assert (thanks.kind, thanks.intent, thanks.topics, thanks.urgent, thanks.cues) == ("chatter", "thanks", (), False, ())
    assert tagger.tag("chào anh").intent == "greeting"
    assert tagger.tag("help").intent == "help"
    assert tagger.tag("Nhờ anh hướng dẫn cách gửi ảnh").intent == "help"
    assert tagger.tag("em gửi sau nhé").kind == "chatter"
    assert tagger.tag("").kind == "chatter"
    report = tagger.tag("Người dân hỏi khi nào có tiền đền bù?")
    assert (report.kind, report.intent) == ("report", None)


@pytest.mark.parametrize(
    "text",
    ["ok anh", "da nhan", "cảm ơn ban", "em gửi sau nhé", "Lãnh đạo xã đang họp, chiều em báo lại",
     "Điện thoại em hết pin, mai em gửi tiếp", "Tuần này bình thường anh ạ, không có gì", "👍"],
)
def test_chatter_is_left_untagged(tagger: Tagger, text: str) -> None:
    result = tagger.tag(text)
    assert (result.topics, result.urgent, result.cues) == ((), False, ())
    assert result.kind in ("chatter", "question")


# --------------------------------------------------------------------------- lexicon


MINI_LEXICON = """\
[abbreviations]
ko = "không"
CA = "công an"

[hashtags]
gap = "urgent"

[sets]
people = ["người", "đồng bào"]

[topic.dan_toc]
"khmer" = 1
"dao" = { before = ["@people"], not_after = ["găm"] }
"buôn" = { after = ["@Proper"] }
"lễ hội" = 0.5
"cồng chiêng" = 0.5

[topic.ton_giao]
"đạo" = { mode = "accented" }
"dao" = { after = ["tin lành"], mode = "plain" }

[topic.nhan_dan]
"giá" = { unless = ["đánh giá"] }
"công an" = 1

[urgent]
"người lạ" = 0.5
"bom" = { in_names = false }

[incident]
"cháy" = 1
"đông người" = 0.5

[negation]
"không" = 2

[phrases]
calm = ["trật tự tốt"]
ignore = ["lãnh đạo"]
question = ["bao giờ"]

[intent]
deadline = ["hạn nộp"]
"""


def test_lexicon_rules_work_as_documented(tmp_path: Path) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(MINI_LEXICON, encoding="utf-8")
    assert check_lexicon(path) == []
    mini = Tagger(path)
    assert tags(mini, "lễ hội ở đây") == ((), False)  # 0.5 alone is not enough
    assert tags(mini, "lễ hội cồng chiêng") == (("dan_toc",), False)  # two halves are
    assert tags(mini, "người Dao trồng quế") == (("dan_toc",), False)  # before
    assert tags(mini, "con dao") == ((), False)  # no context
    assert tags(mini, "người dao găm") == ((), False)  # not_after
    assert tags(mini, "theo đạo ở nhà") == (("ton_giao",), False)  # accented only
    assert tags(mini, "theo dao tin lanh") == (("ton_giao",), False)  # plain, with context
    assert tags(mini, "theo dao o nha") == ((), False)
    assert tags(mini, "lãnh đạo xã") == ((), False)  # ignore shadows the shorter term
    assert tags(mini, "giá lúa tăng") == (("nhan_dan",), False)
    assert tags(mini, "đánh giá giá lúa") == ((), False)  # unless
    assert tags(mini, "Đến buôn Đôn") == (("dan_toc",), False)  # @Proper
    assert tags(mini, "đi buôn bán") == ((), False)
    assert tags(mini, "Bom nổ ở đây") == (("nhan_dan",), True)  # a capital opening a sentence says nothing
    assert tags(mini, "sóc Bom Bo") == ((), False)  # in_names = false
    assert tags(mini, "cháy nhà") == (("nhan_dan",), True)  # incident: urgent and nhan_dan
    assert tags(mini, "ko cháy nhà") == (("nhan_dan",), False)  # negation, via abbreviation
    assert tags(mini, "không có gì, cháy nhà") == (("nhan_dan",), True)  # a clause ends it
    assert tags(mini, "không có ai bị gì cháy") == (("nhan_dan",), True)  # out of reach
    assert tags(mini, "đông người, người lạ") == (("nhan_dan",), True)
    assert tags(mini, "đông người, người lạ, trật tự tốt") == (("nhan_dan",), False)  # calm
    assert tags(mini, "CA xã") == (("nhan_dan",), False)
    assert tags(mini, "ca xã") == ((), False)  # capital abbreviations match as typed only
    assert tags(mini, "#gap ok") == ((), True)
    assert tags(mini, "đồng bào Khmer, khmer") == (("dan_toc",), False)
    assert [c.matched for c in mini.tag("đồng bào Khmer, khmer").cues] == ["Khmer", "khmer"]
    assert mini.tag("bao giờ xong").kind == "question"
    assert mini.tag("hạn nộp").intent == "deadline"


def test_packaged_lexicon_is_valid() -> None:
    assert check_lexicon(DEFAULT_LEXICON) == []


BAD_LEXICON = """\
[sets]
people = ["người"]

[topic.dan_toc]
"khmer" = 1
"Khmer" = 1
"" = 1
"tày" = 0
"thái" = { weight = "high" }
"dao" = { before = ["@nobody"] }
"mông" = { colour = "red" }

[topic.chinh_tri]
"bầu cử" = 1

[urgent]
"cháy" = { mode = "sometimes" }

[negation]
"không" = 0

[phrases]
calm = ["ổn định", "ổn định"]
"""


def test_check_lexicon_reports_every_error(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.toml"
    path.write_text(BAD_LEXICON, encoding="utf-8")
    errors = check_lexicon(path)
    text = "\n".join(errors)
    assert "line 6:" in text and "duplicate term" in text  # "Khmer" repeats "khmer"
    assert "line 7:" in text and "empty term" in text
    assert "line 8:" in text and "bad weight 0" in text
    assert "line 9:" in text and "bad weight 'high'" in text
    assert "line 10:" in text and "unknown set '@nobody'" in text
    assert "line 11:" in text and "unknown key(s) colour" in text
    assert "line 13:" in text and "unknown topic 'chinh_tri'" in text
    assert "bad mode 'sometimes'" in text
    assert "bad reach 0" in text
    assert "line 23:" in text and "[phrases]" in text and "duplicate term" in text
    assert len(errors) == 10


def test_check_lexicon_reports_syntax_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.toml"
    path.write_text('[topic.dan_toc]\n"khmer" = \n', encoding="utf-8")
    (error,) = check_lexicon(path)
    assert "TOML syntax error" in error and "line 2" in error
    assert "cannot read" in check_lexicon(tmp_path / "missing.toml")[0]
    path.write_text("[topic]\n[weather]\nsunny = 1\n", encoding="utf-8")
    assert check_lexicon(path) == ["line 2: [weather]: unknown section (known: abbreviations, hashtags, incident, "
                                   "intent, negation, phrases, sets, topic, urgent, version)"]


def test_broken_lexicon_refuses_to_start(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.toml"
    path.write_text('[topic.dan_toc]\n"" = 1\n', encoding="utf-8")
    with pytest.raises(LexiconError) as excinfo:
        Tagger(path)
    assert "empty term" in excinfo.value.errors[0]


def edit(path: Path, after: str, line: str) -> None:
    """Insert a line after the first line equal to `after`, and move the mtime on."""
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(lines.index(after) + 1, line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_reload_picks_up_an_added_term_and_keeps_it_after_a_broken_edit(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.toml"
    shutil.copy(DEFAULT_LEXICON, path)
    tagger = Tagger(path)
    text = "Bà con xôn xao về chuyện cá sấu xổng chuồng"
    assert "urgent" not in str(tagger.tag(text).reasons)
    assert tagger.reload_if_changed() == []  # nothing changed yet

    edit(path, "[urgent]", '"cá sấu" = 1')
    assert tagger.reload_if_changed() == []
    result = tagger.tag(text)
    assert result.urgent and Cue("urgent", "cá sấu", "cá sấu") in result.cues
    assert tagger.tag("ca sau xong chuong").urgent  # the new term works without diacritics too

    edit(path, "[urgent]", '"lũ quét mạnh" = -1')
    errors = tagger.reload_if_changed()
    assert errors and "bad weight -1" in errors[0] and errors[0].startswith("line ")
    assert tagger.errors == errors
    assert tagger.tag(text).urgent  # the last good lexicon is still in use
    assert tagger.reload_if_changed() == []  # a bad edit is reported once

    path.write_text("this is [not toml", encoding="utf-8")
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 4_000_000_000))
    assert "TOML syntax error" in tagger.reload_if_changed()[0]
    assert tagger.tag(text).urgent


def test_tag_jsonl_keeps_order_and_reports_bad_lines(tagger: Tagger) -> None:
    lines = [
        json.dumps({"text": "Sạt lở đất ở thôn 3"}, ensure_ascii=False),
        "{not json",
        json.dumps({"text": "ok anh", "id": 7}),
        json.dumps(["text"]),
        json.dumps({"txt": "wrong key"}),
        json.dumps({"text": "đồng bào Khmer phấn khởi"}, ensure_ascii=False),
    ]
    out = [json.loads(line) for line in tag_jsonl(lines, tagger)]
    assert len(out) == len(lines)
    assert out[0] == {"topics": ["nhan_dan"], "urgent": True, "reasons": ['nhân dân: "Sạt lở đất"', 'khẩn: "Sạt lở đất"']}
    assert "error" in out[1] and "line 2" in out[1]["error"]
    assert out[2] == {"topics": [], "urgent": False, "reasons": []}
    assert "error" in out[3] and "error" in out[4]
    assert out[5]["topics"] == ["dan_toc", "nhan_dan"] and out[5]["urgent"] is False
    assert "Sạt lở" in next(tag_jsonl(lines[:1], tagger))  # Vietnamese stays readable
