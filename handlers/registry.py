"""Registries that map commands, button payload prefixes and conversation flows to handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.roles import ADMIN, OFFICER, REPORTER
from handlers.context import Ctx
from handlers.types import Result

Handler = Callable[[Ctx], Awaitable[Result]]
ALL_ROLES = frozenset({REPORTER, OFFICER, ADMIN})
STAFF = frozenset({OFFICER, ADMIN})


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    roles: frozenset[str]
    menu: bool


COMMANDS: dict[str, Command] = {}
BUTTONS: dict[str, Handler] = {}
FLOWS: dict[str, Handler] = {}


def command(*names: str, roles: frozenset[str] = ALL_ROLES, menu: bool = True) -> Callable[[Handler], Handler]:
    """Register a handler for one or more command names (the first is shown in menus)."""

    def wrap(fn: Handler) -> Handler:
        for i, name in enumerate(names):
            COMMANDS[name] = Command(name, fn, roles, menu and i == 0)
        return fn

    return wrap


def button(prefix: str) -> Callable[[Handler], Handler]:
    """Register a handler for button payloads ``prefix:...``."""

    def wrap(fn: Handler) -> Handler:
        BUTTONS[prefix] = fn
        return fn

    return wrap


def flow(name: str) -> Callable[[Handler], Handler]:
    """Register the handler of free text while a person is in conversation flow ``name``."""

    def wrap(fn: Handler) -> Handler:
        FLOWS[name] = fn
        return fn

    return wrap


def menu_for(role: str | None) -> list[str]:
    """Return the command names shown in the menu of a role (None: not registered)."""
    if role is None:
        return ["start", "dangky", "trogiup"]
    return [c.name for c in COMMANDS.values() if c.menu and role in c.roles and c.name not in ("start", "dangky")]
