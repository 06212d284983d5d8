"""Unit tree repository."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Unit
from storage.repos.base import get, loaded


class UnitRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._kept: list[Unit] = []  # units loaded ahead; the session only holds weak references

    async def get(self, unit_id: int) -> Unit | None:
        return await get(self.session, Unit, unit_id)

    async def by_code(self, code: str) -> Unit | None:
        return (await self.session.execute(select(Unit).where(Unit.code == code))).scalar_one_or_none()

    async def by_ids(self, ids: set[int] | list[int]) -> Sequence[Unit]:
        if not ids:
            return []
        return (await self.session.execute(select(Unit).where(Unit.id.in_(list(ids))))).scalars().all()

    async def by_codes(self) -> dict[str, Unit]:
        return {u.code: u for u in (await self.session.execute(select(Unit))).scalars()}

    async def add(self, code: str, name: str, level: str, parent: Unit | None) -> Unit:
        unit = Unit(code=code, name=name, level=level, parent_id=parent.id if parent else None, path="")
        self.session.add(unit)
        await self.session.flush()
        unit.path = f"{parent.path if parent else '/'}{unit.id}/"
        await self.session.flush()
        return unit

    async def update(self, unit: Unit, name: str, level: str, parent: Unit | None) -> bool:
        """Update a unit in place; re-root its subtree's paths when the parent changed."""
        changed = unit.name != name or unit.level != level
        unit.name, unit.level = name, level
        new_parent_id = parent.id if parent else None
        if unit.parent_id != new_parent_id:
            changed = True
            old_prefix = unit.path
            new_prefix = f"{parent.path if parent else '/'}{unit.id}/"
            unit.parent_id = new_parent_id
            for node in await self.subtree(unit):
                node.path = new_prefix + node.path[len(old_prefix):]
        await self.session.flush()
        return changed

    async def subtree(self, unit: Unit) -> Sequence[Unit]:
        """Return the unit and all its descendants, parents before children."""
        stmt = select(Unit).where(Unit.path.startswith(unit.path, autoescape=True)).order_by(Unit.path)
        return (await self.session.execute(stmt)).scalars().all()

    async def ancestors(self, unit: Unit) -> list[Unit]:
        """Return the chain from the root down to the unit itself."""
        ids = _path_ids(unit.path)
        by_id = self._loaded(ids)
        if len(by_id) < len(ids):
            rows = (await self.session.execute(select(Unit).where(Unit.id.in_(ids)))).scalars().all()
            by_id = {u.id: u for u in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def prefetch_chains(self, unit_ids: set[int]) -> set[int]:
        """Load units and every unit above them in two queries, for ``get`` and ``ancestors``;
        return the ids of all those units."""
        missing = unit_ids - set(self._loaded(unit_ids))
        self._kept += await self.by_ids(missing)
        above = {i for u in self._loaded(unit_ids).values() for i in _path_ids(u.path)}
        self._kept += await self.by_ids(above - set(self._loaded(above)))
        return above

    def _loaded(self, ids: Iterable[int]) -> dict[int, Unit]:
        """Return the units among ids that this session has loaded already."""
        found = (loaded(self.session, Unit, i) for i in ids)
        return {u.id: u for u in found if u is not None}

    async def path_names(self, unit: Unit) -> str:
        return path_label(await self.ancestors(unit))

    async def children(self, unit: Unit | None) -> Sequence[Unit]:
        stmt = select(Unit).where(Unit.parent_id == (unit.id if unit else None)).order_by(Unit.name)
        if unit is None:
            stmt = select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.name)
        return (await self.session.execute(stmt)).scalars().all()

    async def count(self) -> int:
        return (await self.session.execute(select(func.count(Unit.id)))).scalar_one()

    @staticmethod
    def contains(ancestor: Unit, unit: Unit) -> bool:
        """Return True when ``unit`` is ``ancestor`` or lies in its subtree."""
        return unit.path.startswith(ancestor.path)


def path_label(chain: Iterable[Unit]) -> str:
    """Return the names of a chain of units as one line: "Tỉnh A › Xã Một › Thôn 1"."""
    return " › ".join(u.name for u in chain)


def _path_ids(path: str) -> list[int]:
    """Return the ids in a materialised path, root first: "/1/5/9/" -> [1, 5, 9]."""
    return [int(p) for p in path.strip("/").split("/") if p]
