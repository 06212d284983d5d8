"""Typed settings read from the environment and `.env`."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/danvan.db"


class Settings(BaseSettings):
    """Every setting of the service; each key is documented in `.env.example`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str | None = None
    zalo_bot_token: SecretStr | None = None
    zalo_api_base: str = "https://bot-api.zaloplatforms.com"
    zalo_monthly_quota: int = Field(default=3000, ge=0)
    webhook_base_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen_host: str = "0.0.0.0"
    webhook_listen_port: int = Field(default=8081, ge=1, le=65535)
    timezone: str = "Asia/Ho_Chi_Minh"
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = Field(default=8080, ge=0, le=65535)
    data_dir: Path = Path("./data")
    lexicon_path: Path | None = None
    telegram_rate: float = Field(default=25.0, gt=0)
    zalo_rate: float = Field(default=5.0, gt=0)
    sender_concurrency: int = Field(default=32, ge=1, le=256)
    delivery_worker: bool = False
    period_cutoff_day: int | None = Field(default=14, ge=1, le=28)
    report_merge_seconds: int = Field(default=120, ge=0, le=3600)
    log_level: str = "INFO"

    @field_validator("telegram_bot_token", "zalo_bot_token", "webhook_secret", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_api_base", "webhook_base_url", mode="before")
    @classmethod
    def _blank_url_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("period_cutoff_day", mode="before")
    @classmethod
    def _calendar_quarters(cls, value: object) -> object:
        # "0" or "" in .env selects calendar quarters.
        return None if value in ("", "0", 0, "none", "None") else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sandbox_mode(self) -> bool:
        """Return True when no real bot token is configured: run the local sandbox."""
        return self.telegram_bot_token is None and self.zalo_bot_token is None
