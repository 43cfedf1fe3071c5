"""Residents' and workers' photos for the ticket page: fetched once through the Bot API (``getFile``, then
the file URL) and kept in a cache directory, so later views never call Telegram. The token is only in the
request URLs and never logged; a failed fetch shows no photo rather than an error."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import httpx

from bot.ptb import file_base_url

log = logging.getLogger(__name__)
MAX_BYTES = 20 * 1024 * 1024


class PhotoCache:
    """Photo bytes by Telegram ``file_id``, downloaded at most once per cache directory."""

    def __init__(self, directory: Path, api_base_url: str, token: str) -> None:
        self.directory, self.api, self.token = directory, api_base_url.rstrip("/"), token

    def _path(self, file_id: str) -> Path:
        return self.directory / hashlib.sha256(file_id.encode()).hexdigest()

    def get(self, file_id: str) -> bytes | None:
        """The photo's bytes, from the cache or fetched now; None when Telegram does not give it."""
        path = self._path(file_id)
        if path.exists():
            return path.read_bytes()
        try:
            with httpx.Client(timeout=20) as client:
                meta = client.get(f"{self.api}{self.token}/getFile", params={"file_id": file_id}).json()
                file_path = (meta.get("result") or {}).get("file_path") if meta.get("ok") else None
                if not file_path:
                    return None
                response = client.get(f"{file_base_url(self.api)}{self.token}/{file_path}")
                if response.status_code != 200 or len(response.content) > MAX_BYTES:
                    return None
                data = response.content
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("photo fetch failed: %s", type(exc).__name__)  # never the URL: it holds the token
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
        return data
