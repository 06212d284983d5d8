"""The JSON codec of the hot paths, and the event loop of the delivery worker."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot import eventloop, jsoncodec


def test_vietnamese_text_is_compact_utf8_and_reads_back_the_same() -> None:
    value = {"text": "Bà con phản ánh giá phân bón tăng", "n": [1, 2.5, None, True], "nested": {"k": "đạo"}}
    encoded = jsoncodec.dumps_bytes(value)
    assert encoded.startswith('{"text":"Bà con phản ánh'.encode())  # no escapes, no spaces
    assert jsoncodec.loads(encoded) == value
    assert jsoncodec.loads(jsoncodec.dumps(value)) == value
    assert json.loads(encoded) == value  # plain JSON for any other reader


def test_integer_keys_become_strings_as_with_the_json_module() -> None:
    assert jsoncodec.loads(jsoncodec.dumps({1: "a", 2: {3: "b"}})) == json.loads(json.dumps({1: "a", 2: {3: "b"}}))


def test_what_orjson_refuses_still_goes_through() -> None:
    # A lone surrogate (a broken client's message) and an integer past 64 bits: the json module
    # took both before, so an update carrying one must not become unreadable.
    for value in ({"text": "giá \ud800 tăng"}, {"id": 2**70}):
        assert jsoncodec.loads(jsoncodec.dumps(value)) == value
        assert jsoncodec.loads(jsoncodec.dumps_bytes(value)) == value
    assert jsoncodec.loads('{"text": "\\ud800"}') == {"text": "\ud800"}


def test_errors_keep_their_kind() -> None:
    with pytest.raises(TypeError):
        jsoncodec.dumps({"when": object()})
    with pytest.raises(ValueError):
        jsoncodec.loads("{not json")
    with pytest.raises(ValueError):
        jsoncodec.loads(b"")


def test_the_delivery_worker_runs_on_uvloop() -> None:
    # `python -m bot.delivery` runs its main coroutine through eventloop.run.
    async def loop_module() -> str:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()).__module__

    assert eventloop.run(loop_module()).startswith("uvloop")
