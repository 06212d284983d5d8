"""`danvan tag` and `danvan lexicon check` from the command line, and reload without a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from bot.tagging import Tagger

ROOT = Path(__file__).resolve().parents[1]
LEXICON = ROOT / "bot" / "data" / "lexicon.toml"


def test_tag_reads_json_lines_and_answers_in_order() -> None:
    lines = [
        {"text": "Đồng bào Khmer tổ chức lễ Chôl Chnăm Thmây tại chùa"},
        {"text": "cảm ơn anh"},
        {"text": "Khoảng 50 hộ kéo đến UBND xã đòi tiền đền bù"},
    ]
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\nkhông phải json\n"
    done = subprocess.run([sys.executable, "-m", "bot", "tag"], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=True)
    out = [json.loads(x) for x in done.stdout.splitlines()]
    assert len(out) == 4
    assert out[0]["topics"] == ["dan_toc", "ton_giao"] and out[0]["urgent"] is False and out[0]["reasons"]
    assert out[1]["topics"] == [] and out[1]["urgent"] is False
    assert out[2]["topics"] == ["nhan_dan"] and out[2]["urgent"] is True
    assert "error" in out[3]


def test_lexicon_check_accepts_the_shipped_file_and_rejects_a_broken_one(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["lexicon", "check", str(LEXICON)])
    assert ok.exit_code == 0, ok.output
    broken = tmp_path / "broken.toml"
    broken.write_text(LEXICON.read_text(encoding="utf-8") + "\n[topics.khong_co]\nterms = [\"\"]\n", encoding="utf-8")
    bad = runner.invoke(app, ["lexicon", "check", str(broken)])
    assert bad.exit_code == 1 and bad.output.strip()


def test_an_edited_lexicon_is_picked_up_without_restart(tmp_path: Path) -> None:
    own = tmp_path / "lexicon.toml"
    own.write_text(LEXICON.read_text(encoding="utf-8"), encoding="utf-8")
    tagger = Tagger(own)
    assert tagger.tag("Làng mới có lễ hội Pơthi").topics == ()
    source = own.read_text(encoding="utf-8").replace("[topic.dan_toc]\n", '[topic.dan_toc]\n"pơthi" = 1\n', 1)
    own.write_text(source, encoding="utf-8")
    os.utime(own, (own.stat().st_atime + 5, own.stat().st_mtime + 5))
    assert tagger.reload_if_changed() == []
    assert tagger.tag("Làng mới có lễ hội Pơthi").topics == ("dan_toc",)
    own.write_text(source + "\n[topic.dan_toc\n", encoding="utf-8")
    os.utime(own, (own.stat().st_atime + 10, own.stat().st_mtime + 10))
    assert tagger.reload_if_changed() != [], "a broken edit is reported"
    assert tagger.tag("Làng mới có lễ hội Pơthi").topics == ("dan_toc",), "and the previous lexicon stays"
