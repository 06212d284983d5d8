"""Periodic digests for the office: one Digest object, rendered as chat text, chart, Word draft and workbook.

Public entry points: ``build_digest`` (the numbers), ``DigestService`` (build, render, replies).
"""

from __future__ import annotations

from bot.digest.build import build_digest, digest_keys, window_keys
from bot.digest.model import Digest
from bot.digest.service import DigestService, Rendered, UnknownUnit

__all__ = ["Digest", "DigestService", "Rendered", "UnknownUnit", "build_digest", "digest_keys", "window_keys"]
