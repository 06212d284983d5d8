"""Validate Bot API calls against the machine-readable Telegram Bot API specification."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).parent / "data" / "telegram-bot-api-spec.json"

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes, not characters
CALLBACK_ANSWER_LIMIT = 200
COMMANDS_LIMIT = 100
COMMAND_DESCRIPTION_LIMIT = 256
DESCRIPTION_LIMIT = 512
SHORT_DESCRIPTION_LIMIT = 120
COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
PARSE_MODES = {"html", "markdownv2", "markdown"}
TEXT_METHODS = {"sendmessage", "editmessagetext"}
# Dropped from the spec but still honoured by Telegram, and still sent by aiogram 3.31 (for example
# DefaultBotProperties(link_preview_is_disabled=True) adds disable_web_page_preview to every sendMessage).
DEPRECATED_PARAMS = {
    "reply_to_message_id": "reply_parameters",
    "allow_sending_without_reply": "reply_parameters",
    "disable_web_page_preview": "link_preview_options",
}
# Their types in the Bot API versions that had them, so that they decode like any other parameter.
DEPRECATED_TYPES = {
    "reply_to_message_id": ("Integer",),
    "allow_sending_without_reply": ("Boolean",),
    "disable_web_page_preview": ("Boolean",),
}
WIRE_TEXT_TYPES = {"String", "InputFile"}  # parameters whose wire text is the value itself

# Tags Telegram's HTML parse mode accepts; anything else is a 400 "can't parse entities".
HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}


@dataclass(frozen=True)
class Field:
    """One parameter of a method or field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool
    text_only: bool = field(init=False, repr=False, compare=False)  # the wire text is the value
    has_string: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text_only", set(self.types) <= WIRE_TEXT_TYPES)
        object.__setattr__(self, "has_string", "String" in self.types)


Predicate = Callable[[Any], bool]


class BotApiSpec:
    """The methods and types of one Bot API version, looked up case-insensitively."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version: str = data.get("version", "")
        self._methods = {name.lower(): (name, _fields(m)) for name, m in data["methods"].items()}
        self._types = {name: (_fields(t) if "fields" in t else None) for name, t in data["types"].items()}
        self._subtypes = {name: list(t.get("subtypes", [])) for name, t in data["types"].items()}
        self._deprecated_fields = {name: Field(name, types, False) for name, types in DEPRECATED_TYPES.items()}
        self._predicates: dict[str, Predicate] = {}
        self._unions: dict[tuple[str, ...], Predicate] = {}
        self._required = {key: tuple(f for f in fields.values() if f.required) for key, (_, fields) in self._methods.items()}

    def method_name(self, method: str) -> str | None:
        """Return the canonical camelCase name of a method, or None when the spec has no such method."""
        found = self._methods.get(method.lower())
        return found[0] if found else None

    def method_fields(self, method: str) -> dict[str, Field]:
        """Return the parameters of a method by name (empty for unknown methods)."""
        found = self._methods.get(method.lower())
        return found[1] if found else {}

    def decode(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Turn wire strings into values: ``"1"`` → 1, ``"true"`` → True, JSON text → objects.

        Values that are not strings come from a JSON body, whose top-level values the Bot API reads as
        their JSON text, as if each were a form field: ``"text": 5`` is the text "5", ``"chat_id": 5``
        is 5 whether or not it is quoted, and ``reply_markup`` may be an object or a string of JSON.
        """
        fields = self.method_fields(method)
        decoded = {}
        for name, value in params.items():
            found = fields.get(name)
            if found is None and name in DEPRECATED_PARAMS:
                found = self._deprecated_fields[name]
            decoded[name] = value if found is None else self._decode_value(found, value)
        return decoded

    def _decode_value(self, field: Field, value: Any) -> Any:
        if isinstance(value, str):
            if field.text_only:
                return value
            try:
                decoded = json.loads(value)
            except ValueError:
                return value
            # chat_id "12" must become 12, but a String-typed file_id "123" must stay a string.
            return decoded if not field.has_string or self.fits_any(field.types, decoded) else value
        if field.text_only or (field.has_string and not self.fits_any(field.types, value)):
            return json.dumps(value, ensure_ascii=False)
        return value

    def deprecated(self, method: str, params: Mapping[str, Any]) -> dict[str, str]:
        """Return the deprecated parameters of a call that Telegram still accepts, with their replacement."""
        fields = self.method_fields(method)
        return {name: DEPRECATED_PARAMS[name] for name in params
                if name in DEPRECATED_PARAMS and name not in fields and DEPRECATED_PARAMS[name] in fields}

    def fits(self, type_name: str, value: Any) -> bool:
        """Return whether ``value`` fits one spec type string: ``not check(...)``, without the messages."""
        predicate = self._predicates.get(type_name)
        return (predicate or self._compile(type_name))(value)

    def fits_any(self, types: tuple[str, ...] | list[str], value: Any) -> bool:
        """Return whether ``value`` fits one of ``types``."""
        key = tuple(types)
        predicate = self._unions.get(key)
        if predicate is None:
            options = [self._predicates.get(t) or self._compile(t) for t in key]
            predicate = self._unions[key] = options[0] if len(options) == 1 else _any_of(options)
        return predicate(value)

    def check(self, type_name: str, value: Any, where: str, *, fast: bool = True) -> list[str]:
        """Return the problems of ``value`` against one spec type string (empty when it fits).

        ``fast`` answers a value that fits from the compiled predicates; ``fast=False`` walks the
        value the long way (the reference the predicates are tested against).
        """
        if fast and self.fits(type_name, value):
            return []
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return [f"{where}: expected {type_name}"]
            inner = type_name.removeprefix("Array of ")
            return [p for i, item in enumerate(value) for p in self.check(inner, item, f"{where}[{i}]", fast=fast)]
        primitive = _PRIMITIVES.get(type_name)
        if primitive is not None:
            return [] if primitive(value) else [f"{where}: expected {type_name}, got {type(value).__name__}"]
        return self._check_object(type_name, value, where, fast)

    def check_union(self, types: tuple[str, ...] | list[str], value: Any, where: str, *, fast: bool = True) -> list[str]:
        """Return [] when ``value`` fits one of ``types``, else the problems of the closest fit."""
        if fast and self.fits_any(types, value):
            return []
        attempts = [self.check(t, value, where, fast=fast) for t in types]
        return min(attempts, key=len) if all(attempts) else []

    # The predicates are compiled once per type and answer every call; only a value that does not
    # fit is walked again by check() to say why. Each predicate is registered before the types it
    # refers to are compiled, so recursive types (Message.reply_to_message) compile.

    def _compile(self, type_name: str) -> Predicate:
        if type_name.startswith("Array of "):
            return self._compile_array(type_name, type_name.removeprefix("Array of "))
        primitive = _PRIMITIVES.get(type_name)
        if primitive is not None:
            self._predicates[type_name] = primitive
            return primitive
        if self._subtypes.get(type_name):
            return self._compile_union(type_name, self._subtypes[type_name])
        fields = self._types.get(type_name)
        if fields is None:  # abstract or empty type (CallbackGame...): any object will do
            predicate: Predicate = _is_dict
            self._predicates[type_name] = predicate
            return predicate
        return self._compile_object(type_name, fields)

    def _compile_array(self, type_name: str, inner_name: str) -> Predicate:
        inner: list[Predicate] = []

        def array(value: Any) -> bool:
            if not isinstance(value, list):
                return False
            item_fits = inner[0]
            for item in value:
                if not item_fits(item):
                    return False
            return True

        self._predicates[type_name] = array
        inner.append(self._predicates.get(inner_name) or self._compile(inner_name))
        return array

    def _compile_union(self, type_name: str, members: list[str]) -> Predicate:
        options: list[Predicate] = []

        def union(value: Any) -> bool:
            for option in options:
                if option(value):
                    return True
            return False

        self._predicates[type_name] = union
        options.extend(self._predicates.get(m) or self._compile(m) for m in members)
        return union

    def _compile_object(self, type_name: str, fields: dict[str, Field]) -> Predicate:
        by_key: dict[str, Predicate] = {}
        required = tuple(f.name for f in fields.values() if f.required)

        def obj(value: Any) -> bool:
            if not isinstance(value, dict):
                return False
            for key, item in value.items():
                field_fits = by_key.get(key)
                if field_fits is None or not field_fits(item):
                    return False
            for name in required:
                if name not in value:
                    return False
            return True

        self._predicates[type_name] = obj
        for name, f in fields.items():
            options = [self._predicates.get(t) or self._compile(t) for t in f.types]
            by_key[name] = options[0] if len(options) == 1 else _any_of(options)
        return obj

    def _check_object(self, type_name: str, value: Any, where: str, fast: bool) -> list[str]:
        if self._subtypes.get(type_name):  # a union, which may include String (RichText)
            return self.check_union(self._subtypes[type_name], value, where, fast=fast)
        if not isinstance(value, dict):
            return [f"{where}: expected {type_name} object, got {type(value).__name__}"]
        fields = self._types.get(type_name)
        if fields is None:  # abstract or empty type (CallbackGame...): any object will do
            return []
        problems = [f"{where}.{key}: unknown field of {type_name}" for key in value if key not in fields]
        problems += [f"{where}.{f.name}: required field of {type_name} is missing"
                     for f in fields.values() if f.required and f.name not in value]
        for key, item in value.items():
            if key in fields:
                problems += self.check_union(fields[key].types, item, f"{where}.{key}", fast=fast)
        return problems

    def validate(self, method: str, params: Mapping[str, Any], *, allow_deprecated: bool = False) -> list[str]:
        """Return every problem Telegram would (or should) reject this call for."""
        if self.method_name(method) is None:
            return [f"unknown method {method!r}"]
        return self.validate_decoded(method, self.decode(method, params), allow_deprecated=allow_deprecated)

    def validate_decoded(self, method: str, values: Mapping[str, Any], *, allow_deprecated: bool = False) -> list[str]:
        """Return the problems of a call whose parameters ``decode`` has already turned into values."""
        if self.method_name(method) is None:
            return [f"unknown method {method!r}"]
        key = method.lower()
        fields = self.method_fields(key)
        tolerated = set(self.deprecated(key, values)) if allow_deprecated else set()
        unknown, wrong = [], []
        for name, value in values.items():
            found = fields.get(name)
            if found is None:
                if name not in tolerated:
                    unknown.append(f"unknown parameter {name!r}")
            elif not _is_empty(value):
                wrong += self.check_union(found.types, value, name)
        missing = [f"missing required parameter {f.name!r}" for f in self._required[key] if _is_empty(values.get(f.name))]
        return unknown + missing + wrong + _limits(key, values)


def _fields(entry: Mapping[str, Any]) -> dict[str, Field]:
    return {f["name"]: Field(f["name"], tuple(f["types"]), bool(f["required"])) for f in entry.get("fields", [])}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_dict(value: Any) -> bool:
    return isinstance(value, dict)


def _any_of(options: list[Predicate]) -> Predicate:
    def union(value: Any) -> bool:
        for option in options:
            if option(value):
                return True
        return False

    return union


_PRIMITIVES = {
    "Integer": _is_int,
    "Float": lambda v: _is_int(v) or isinstance(v, float),
    "Boolean": lambda v: isinstance(v, bool),
    "String": lambda v: isinstance(v, str),
    # An upload appears on the wire as "attach://<part name>".
    "InputFile": lambda v: isinstance(v, str) and v.startswith("attach://"),
}


def _is_empty(value: Any) -> bool:
    return value is None or value == ""


def _limits(method: str, values: Mapping[str, Any]) -> list[str]:
    """Check the documented lengths that the type system of the spec cannot express."""
    problems = _parse_mode_problems(values)
    if method in TEXT_METHODS and isinstance(values.get("text"), str):
        problems += _length_problems("text", values["text"], values.get("parse_mode"), TEXT_LIMIT, minimum=1)
    if isinstance(values.get("caption"), str):
        problems += _length_problems("caption", values["caption"], values.get("parse_mode"), CAPTION_LIMIT)
    problems += _keyboard_problems(values.get("reply_markup"))
    if method == "answercallbackquery":
        problems += _max_length("text", values.get("text"), CALLBACK_ANSWER_LIMIT)
    if method == "setmycommands":
        problems += _command_problems(values.get("commands"))
    if method == "setmydescription":
        problems += _max_length("description", values.get("description"), DESCRIPTION_LIMIT)
    if method == "setmyshortdescription":
        problems += _max_length("short_description", values.get("short_description"), SHORT_DESCRIPTION_LIMIT)
    return problems


def _parse_mode_problems(values: Mapping[str, Any]) -> list[str]:
    mode = values.get("parse_mode")
    if isinstance(mode, str) and mode and mode.lower() not in PARSE_MODES:
        return [f"unsupported parse_mode {mode!r}"]
    return []


def _max_length(name: str, value: Any, limit: int) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"{name} is too long: {len(value)} characters, the limit is {limit}"]
    return []


def _length_problems(name: str, value: str, parse_mode: Any, limit: int, minimum: int = 0) -> list[str]:
    plain = value
    if isinstance(parse_mode, str) and parse_mode.lower() == "html":
        plain, _entities, errors = _parse_html(value)
        if errors:
            return [f"can't parse entities in {name}: {errors[0]}"]
    size = utf16_length(plain)
    if size > limit:
        what = "message" if name == "text" else "message caption"
        return [f"{what} is too long: {name} has {size} characters after entities parsing, the limit is {limit}"]
    if size < minimum or (minimum and not plain.strip()):
        return ["message text is empty"]
    return []


def utf16_length(text: str) -> int:
    """Count UTF-16 code units, the conservative reading of Telegram's "characters"."""
    return len(text.encode("utf-16-le")) // 2


def _keyboard_problems(markup: Any) -> list[str]:
    if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
        return []
    problems = []
    for row in markup["inline_keyboard"]:
        for button in row if isinstance(row, list) else []:
            data = button.get("callback_data") if isinstance(button, dict) else None
            if isinstance(data, str) and not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                problems.append(
                    f"BUTTON_DATA_INVALID: callback_data of button {button.get('text')!r} is "
                    f"{len(data.encode())} bytes, it must be 1-{CALLBACK_DATA_LIMIT}"
                )
    return problems


def _command_problems(commands: Any) -> list[str]:
    if not isinstance(commands, list):
        return []
    problems = [f"too many commands: {len(commands)}, the limit is {COMMANDS_LIMIT}"] if len(commands) > COMMANDS_LIMIT else []
    for item in commands:
        if not isinstance(item, dict):
            continue
        command, description = item.get("command"), item.get("description")
        if not isinstance(command, str) or not COMMAND_RE.fullmatch(command):
            problems.append(f"BOT_COMMAND_INVALID: {command!r} must be 1-32 of a-z, 0-9 and _")
        if not isinstance(description, str) or not 1 <= len(description) <= COMMAND_DESCRIPTION_LIMIT:
            problems.append(f"command {command!r}: description must be 1-{COMMAND_DESCRIPTION_LIMIT} characters")
    return problems


ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "span": "spoiler",
    "tg-spoiler": "spoiler", "a": "text_link", "code": "code", "pre": "pre", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


@dataclass
class ParsedHtml:
    """Telegram-HTML split the way Telegram stores it: plain text plus entities (UTF-16 offsets)."""

    text: str
    entities: list[dict[str, Any]]
    errors: list[str]


class _TelegramHtml(HTMLParser):
    """Collect the plain text, the entities and the parse errors of a Telegram-HTML string."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.utf16_offset = 0
        self.entities: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.stack: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in HTML_TAGS:
            self.errors.append(f"unsupported start tag {tag!r}")
        elif tag == "a" and not attributes.get("href"):
            self.errors.append("tag 'a' needs an href")
        entity: dict[str, Any] = {"type": ENTITY_TYPES.get(tag), "offset": self.utf16_offset}
        if tag == "a":
            entity["url"] = attributes.get("href")
        if tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id")
        language = (attributes.get("class") or "").removeprefix("language-")
        if tag == "code" and self.stack and self.stack[-1]["tag"] == "pre":
            # <pre><code class="language-x"> is one pre entity with a language, not two entities.
            entity["type"] = None
            if language:
                self.stack[-1]["entity"]["language"] = language
        self.stack.append({"tag": tag, "entity": entity})

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(f"unsupported self-closing tag {tag!r}")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1]["tag"] != tag:
            self.errors.append(f"unexpected end tag {tag!r}")
            return
        entity = self.stack.pop()["entity"]
        length = self.utf16_offset - entity["offset"]
        if entity["type"] and length > 0:
            self.entities.append({**entity, "length": length})

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        self.utf16_offset += utf16_length(data)


def parse_telegram_html(text: str) -> ParsedHtml:
    """Split a Telegram-HTML string into plain text and entities, with the reasons Telegram would reject it."""
    plain, entities, errors = _parse_html(text)
    return ParsedHtml(plain, [dict(e) for e in entities], list(errors))


@lru_cache(maxsize=256)
def _parse_html(text: str) -> tuple[str, tuple[dict[str, Any], ...], tuple[str, ...]]:
    # Cached because a call's text is parsed when it is validated and again when the message is stored.
    if "<" not in text and "&" not in text:  # no markup at all: HTMLParser would hand back the text as is
        return text, (), ()
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    errors = parser.errors + [f"unclosed start tag {item['tag']!r}" for item in parser.stack]
    entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.text), tuple(entities), tuple(errors)


@lru_cache(maxsize=4)
def load_spec(path: str | Path = SPEC_PATH) -> BotApiSpec:
    """Load (once) the Bot API spec shipped with the sandbox or the file at ``path``."""
    with open(path, encoding="utf-8") as fh:
        return BotApiSpec(json.load(fh))


def validate_call(
    method: str, params: Mapping[str, Any], spec: BotApiSpec | None = None, *, allow_deprecated: bool = False
) -> list[str]:
    """Return the problems of one Bot API call; wire strings and decoded values are both accepted."""
    return (spec or load_spec()).validate(method, params, allow_deprecated=allow_deprecated)
