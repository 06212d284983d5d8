"""People and their channel identities."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Identity, Person, Unit
from storage.repos.base import get

OFFICER_ROLES = ("officer", "admin")


class PersonRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        # Accounts looked up ahead for a batch of updates: (channel, external user id) -> pair.
        self._accounts: dict[tuple[str, str], tuple[Identity, Person]] = {}
        # Officers of some units looked up ahead (for alerts): the units covered, and the people.
        self._officer_units: set[int] = set()
        self._officers: list[Person] = []
        self._identities: dict[int, list[Identity]] = {}  # accounts of people looked up ahead

    async def prefetch_officers(self, unit_ids: Collection[int]) -> None:
        """Load the officers of many units and their accounts in two queries, for ``officers_of``
        and for delivering alerts to them (``identities``)."""
        self._officers = list(await self.officers_of(set(unit_ids) | self._officer_units))
        self._officer_units |= set(unit_ids)
        wanted = [p.id for p in self._officers if p.id not in self._identities]
        if wanted:
            stmt = select(Identity).where(Identity.person_id.in_(wanted)).order_by(Identity.id)
            found: dict[int, list[Identity]] = {pid: [] for pid in wanted}
            for ident in (await self.session.execute(stmt)).scalars():
                found[ident.person_id].append(ident)
            self._identities.update(found)

    async def prefetch_accounts(self, channel: str, external_user_ids: Collection[str]) -> list[Person]:
        """Load many accounts and their people in one query, for ``identity_and_person``; return the people."""
        if not external_user_ids:
            return []
        stmt = (
            select(Identity, Person)
            .join(Person, Person.id == Identity.person_id)
            .where(Identity.channel == channel, Identity.external_user_id.in_(set(external_user_ids)))
        )
        for ident, person in (await self.session.execute(stmt)).all():
            self._accounts[channel, ident.external_user_id] = (ident, person)
        return [person for _, person in self._accounts.values()]

    def accounts(self, channel: str) -> list[tuple[Identity, Person]]:
        """Return the accounts of a channel looked up ahead so far."""
        return [pair for (ch, _), pair in self._accounts.items() if ch == channel]

    async def get(self, person_id: int) -> Person | None:
        return await get(self.session, Person, person_id)

    async def add(self, name: str, role: str, unit_id: int | None, preferred_channel: str | None = None) -> Person:
        person = Person(name=name, role=role, unit_id=unit_id, active=True, preferred_channel=preferred_channel)
        self.session.add(person)
        await self.session.flush()
        self._officer_units.clear()  # a new officer must not be missed by a list looked up before
        return person

    async def identity(self, channel: str, external_user_id: str) -> Identity | None:
        stmt = select(Identity).where(Identity.channel == channel, Identity.external_user_id == external_user_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def identity_and_person(self, channel: str, external_user_id: str) -> tuple[Identity | None, Person | None]:
        """Return an account and its person in one query (none when looked up ahead)."""
        known = self._accounts.get((channel, external_user_id))
        # Loaded objects stay current within the session; only a move to another person needs a look.
        if known is not None and known[0].person_id == known[1].id:
            return known
        stmt = (
            select(Identity, Person)
            .join(Person, Person.id == Identity.person_id)
            .where(Identity.channel == channel, Identity.external_user_id == external_user_id)
        )
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else (None, None)

    async def identities(self, person_id: int) -> Sequence[Identity]:
        known = self._identities.get(person_id)
        if known is not None and all(i.person_id == person_id for i in known):
            return list(known)
        stmt = select(Identity).where(Identity.person_id == person_id).order_by(Identity.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def add_identity(
        self, person: Person, channel: str, external_user_id: str, chat_id: str, display_name: str = ""
    ) -> Identity:
        ident = Identity(
            person_id=person.id,
            channel=channel,
            external_user_id=external_user_id,
            chat_id=chat_id,
            display_name=display_name[:200],
            active=True,
        )
        self.session.add(ident)
        await self.session.flush()
        self._identities.pop(person.id, None)
        return ident

    async def delivery_identity(self, person: Person, via: str | None = None) -> Identity | None:
        """Return where to reach a person: ``via`` if given and active, else the preferred channel, else any."""
        active = [i for i in await self.identities(person.id) if i.active]
        for wanted in (via, person.preferred_channel):
            for ident in active:
                if wanted and ident.channel == wanted:
                    return ident
        return active[0] if active else None

    async def in_units(
        self, unit_paths: Sequence[str] | None = None, role: str | None = None, *, include_inactive: bool = False
    ) -> Sequence[Person]:
        """Return active people (locked ones too with ``include_inactive``), optionally within the
        subtrees given by unit paths and of one role."""
        stmt = select(Person) if include_inactive else select(Person).where(Person.active.is_(True))
        if role:
            stmt = stmt.where(Person.role == role)
        if unit_paths is not None:
            stmt = stmt.join(Unit, Unit.id == Person.unit_id)
            conds = [Unit.path.startswith(p, autoescape=True) for p in unit_paths]
            stmt = stmt.where(or_(*conds)) if conds else stmt.where(false())
        return (await self.session.execute(stmt.order_by(Person.id))).scalars().all()

    async def officers_of(self, unit_ids: Collection[int]) -> Sequence[Person]:
        """Return the active officers and admins of these units."""
        if unit_ids and self._officer_units.issuperset(unit_ids):
            # Loaded objects stay current: a change of role, unit or activity since is seen here.
            return [p for p in self._officers if p.active and p.role in OFFICER_ROLES and p.unit_id in unit_ids]
        stmt = (
            select(Person)
            .where(Person.active.is_(True), Person.role.in_(OFFICER_ROLES), Person.unit_id.in_(list(unit_ids)))
            .order_by(Person.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def admins(self) -> Sequence[Person]:
        stmt = select(Person).where(Person.active.is_(True), Person.role == "admin").order_by(Person.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def deactivate_identity(self, identity_id: int) -> None:
        """Stop delivering to an identity (the person blocked the bot or left)."""
        await self.session.execute(update(Identity).where(Identity.id == identity_id).values(active=False))

    async def set_menu(self, identity_id: int, payloads: list[str], at: datetime) -> None:
        """Remember the numbered choices last shown on a channel without buttons."""
        await self.session.execute(
            update(Identity).where(Identity.id == identity_id).values(menu=payloads, menu_at=at)
        )
