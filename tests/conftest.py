"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL when DATABASE_URL says so)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from storage.db import upgrade_sync

PG_URL = os.environ.get("DATABASE_URL", "")
USE_PG = PG_URL.startswith("postgresql")


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection to a host other than this machine: the suite must never reach the internet."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ) and self.family in (socket.AF_INET, socket.AF_INET6):
            raise RuntimeError(f"tests must not connect to {host}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate one template database per session; each test gets a copy of it."""
    if USE_PG:
        url = make_url(PG_URL)
        name = f"danvan_tmpl_{uuid.uuid4().hex[:8]}"
        _pg_admin(f'CREATE DATABASE "{name}"')
        upgrade_sync(url.set(database=name).render_as_string(hide_password=False))
        yield name
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
    else:
        path = tmp_path_factory.mktemp("tmpl") / "template.db"
        upgrade_sync(f"sqlite+aiosqlite:///{path}")
        yield str(path)


def _pg_admin(sql: str) -> None:
    import asyncpg

    url = make_url(PG_URL)

    async def run() -> None:
        conn = await asyncpg.connect(
            user=url.username, password=url.password, host=url.host, port=url.port or 5432, database="postgres"
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@contextmanager
def _fresh_database(template: str, tmp_path: Path, label: str) -> Iterator[str]:
    """Copy the template into a new database and return its URL; drop it afterwards."""
    if USE_PG:
        name = f"danvan_t_{uuid.uuid4().hex[:10]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = tmp_path / f"{label}.db"
        shutil.copy(template, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def db_url(_template_db: str, tmp_path: Path) -> Iterator[str]:
    """Return the URL of a fresh, migrated database for this test."""
    with _fresh_database(_template_db, tmp_path, "danvan") as url:
        yield url


@pytest.fixture
def second_db_url(_template_db: str, tmp_path: Path) -> Iterator[str]:
    """Return the URL of another fresh database, for tests that compare two runs."""
    with _fresh_database(_template_db, tmp_path, "second") as url:
        yield url


@pytest.fixture
async def harness(db_url: str) -> AsyncIterator[object]:
    from tests.harness import Harness

    h = Harness(db_url)
    await h.setup()
    yield h
    await h.close()
