"""Signed, expiring download links for generated files, for channels that cannot send files (Zalo)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import time
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

DEFAULT_TTL = 7 * 24 * 3600


class FileLinks:
    """Make and serve links to files under the data folder; a link names one file and expires."""

    def __init__(self, base_url: str, secret: str, data_dir: Path | str, ttl: int = DEFAULT_TTL) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = hashlib.sha256(b"danvan-files:" + secret.encode()).digest()
        self.data_dir = Path(data_dir).resolve()
        self.ttl = ttl

    def url(self, path: str, filename: str, now: float | None = None) -> str | None:
        """Return a link to a file under the data folder, or None for any other path."""
        target = Path(path).resolve()
        if not target.is_relative_to(self.data_dir):
            return None
        body = json.dumps({"p": str(target.relative_to(self.data_dir)), "n": filename,
                           "e": int((now or time.time()) + self.ttl)}, ensure_ascii=False).encode()
        token = base64.urlsafe_b64encode(body).decode().rstrip("=")
        return f"{self.base_url}/files/{token}.{self._sign(token)}"

    def _sign(self, token: str) -> str:
        return hmac.new(self.key, token.encode(), hashlib.sha256).hexdigest()[:32]

    def resolve(self, signed: str, now: float | None = None) -> tuple[Path, str] | None:
        """Return the file and its name for a valid, unexpired link; None otherwise."""
        token, _, signature = signed.rpartition(".")
        if not token or not hmac.compare_digest(signature, self._sign(token)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            target = (self.data_dir / data["p"]).resolve()
            expires, name = int(data["e"]), str(data["n"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires < (now or time.time()) or not target.is_relative_to(self.data_dir) or not target.is_file():
            return None
        return target, name

    def route(self) -> web.RouteDef:
        async def serve(request: web.Request) -> web.StreamResponse:
            found = self.resolve(request.match_info["signed"])
            if found is None:
                return web.Response(status=404, text="Liên kết không hợp lệ hoặc đã hết hạn.")
            path, name = found
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
                       "X-Content-Type-Options": "nosniff", "Content-Type": mime}
            return web.FileResponse(path, headers=headers)

        return web.get("/files/{signed}", serve)
