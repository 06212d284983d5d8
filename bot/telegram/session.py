"""An aiogram session that posts one JSON body per call, and a multipart form only for uploads."""

from __future__ import annotations

import datetime
import secrets
from enum import Enum
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.default import Default
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile, TelegramObject
from aiohttp import ClientError, ClientTimeout

from bot import jsoncodec

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import TelegramMethod

# Bodies are compact UTF-8 (jsoncodec) rather than \u escapes: Vietnamese is half the size on the wire.
JSON_HEADERS = {"Content-Type": "application/json"}
_PLAIN = frozenset({str, int, float, bool, type(None)})


class JsonAiohttpSession(AiohttpSession):
    """aiogram's ``AiohttpSession`` that sends ``application/json`` unless the call uploads a file.

    aiogram posts every call as a form, re-encoding each value; the Bot API reads a JSON object the
    same way (a top-level string is the parameter's text, anything else its JSON text), so the body
    here is the form's values with their JSON types kept. Responses go through aiogram unchanged.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("json_dumps", jsoncodec.dumps)  # for what aiogram encodes itself (uploads' forms)
        kwargs.setdefault("json_loads", jsoncodec.loads)
        super().__init__(*args, **kwargs)

    def build_json_body(self, bot: Bot, method: TelegramMethod[TelegramType]) -> bytes | None:
        """Return the call as a JSON body, or None when it carries an upload (which needs a form)."""
        if getattr(method, "__plain_json__", False):
            # Every field holds a JSON value already (``SendText``): no dump and no walk needed.
            return jsoncodec.dumps_bytes({k: v for k, v in method.__dict__.items() if v is not None and v != ""})
        files: dict[str, InputFile] = {}
        body: dict[str, Any] = {}
        # None is left out at every level by build_form_data as well; dropping it here saves the walk.
        for key, value in method.model_dump(warnings=False, exclude_none=True).items():
            prepared = self.prepare_json_value(value, bot, files)
            if prepared is None or prepared == "":  # build_form_data leaves out empty values too
                continue
            body[key] = prepared
        if files:
            return None
        return jsoncodec.dumps_bytes(body)

    def prepare_json_value(self, value: Any, bot: Bot, files: dict[str, InputFile]) -> Any:
        """Resolve a value the way ``prepare_value`` does, but keep JSON types instead of form text."""
        kind = type(value)
        if kind in _PLAIN:
            return value
        if kind is dict:
            prepared = {}
            for key, item in value.items():
                if type(item) not in _PLAIN:
                    item = self.prepare_json_value(item, bot, files)
                if item is not None:
                    prepared[key] = item
            return prepared
        if kind is list:
            return [item for item in (v if type(v) in _PLAIN else self.prepare_json_value(v, bot, files) for v in value)
                    if item is not None]
        return self._prepare_other(value, bot, files)

    def _prepare_other(self, value: Any, bot: Bot, files: dict[str, InputFile]) -> Any:
        if isinstance(value, Default):
            return self.prepare_json_value(bot.default[value.name], bot, files)
        if isinstance(value, InputFile):
            key = secrets.token_urlsafe(10)
            files[key] = value
            return f"attach://{key}"
        if isinstance(value, datetime.timedelta):
            return round((datetime.datetime.now() + value).timestamp())  # noqa: DTZ005 - as aiogram does
        if isinstance(value, datetime.datetime):
            return round(value.timestamp())
        if isinstance(value, Enum):
            return self.prepare_json_value(value.value, bot, files)
        if isinstance(value, TelegramObject):
            return self.prepare_json_value(value.model_dump(warnings=False, exclude_none=True), bot, files)
        if isinstance(value, str | int | float):  # subclasses of the plain types
            return value
        if isinstance(value, dict | list):
            return self.prepare_json_value(dict(value) if isinstance(value, dict) else list(value), bot, files)
        return value  # anything else is left to json_dumps, as the form does

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        body = self.build_json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url, data=body, headers=JSON_HEADERS, timeout=ClientTimeout(total=self.timeout if timeout is None else timeout)
            ) as resp:
                raw_result = await resp.text()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        if resp.status == 200 and getattr(method, "__plain_json__", False):
            # The answer of a plain call is read as plain JSON too; anything but a success goes
            # through aiogram's check below, which raises the error it stands for.
            result = self.plain_result(raw_result)
            if result is not None:
                return cast(TelegramType, result)
        response = self.check_response(bot=bot, method=method, status_code=resp.status, content=raw_result)
        return cast(TelegramType, response.result)

    def plain_result(self, content: str) -> dict[str, Any] | None:
        """Return the result object of a successful answer, or None for anything else."""
        try:
            data = self.json_loads(content)
        except ValueError:
            return None
        if isinstance(data, dict) and data.get("ok") is True and isinstance(data.get("result"), dict):
            return cast(dict[str, Any], data["result"])
        return None
