"""Settings: `.env.example` documents exactly the keys the service reads, and they take effect."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App
from bot.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"


def _example_keys() -> set[str]:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    return {line.split("=", 1)[0].strip() for line in lines if "=" in line and not line.lstrip().startswith("#")}


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    keys = _example_keys()
    assert keys - fields == set(), "keys in .env.example that the service would silently ignore"
    assert fields - keys == set(), "settings missing from .env.example"


def test_sender_concurrency_from_the_environment_reaches_the_sender(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENDER_CONCURRENCY", "3")
    app = App(Settings(_env_file=None, database_url=db_url))  # type: ignore[call-arg]
    assert app.build_sender().concurrency == 3
    monkeypatch.setenv("SENDER_CONCURRENCY", "0")
    with pytest.raises(ValueError, match="sender_concurrency"):
        Settings(_env_file=None, database_url=db_url)  # type: ignore[call-arg]
