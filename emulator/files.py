"""Files the emulator holds: what users send (photos, voice, video, documents) and what the bot uploads,
each downloadable through getFile and the file URL like Telegram's."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from emulator.errors import JSON, bad_request
from emulator.world import World


@dataclass
class StoredFile:
    """A file the emulator can serve via getFile and the file URL."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    mime_type: str | None = None


class FileStore(World):
    """Stored files by id; ids, unique ids and paths follow Telegram's shapes."""

    def _init_files(self) -> None:
        self.files: dict[str, StoredFile] = {}
        self._next_file = 0

    def _serial(self) -> int:
        """The next number of the counter files (and poll ids) are named from."""
        with self._lock:
            self._next_file += 1
            return self._next_file

    def _make_file(self, kind: str, data: bytes, mime: str | None = None, ext: str = "bin") -> StoredFile:
        with self._lock:
            n = self._serial()
            uid = hashlib.sha1(data + str(n).encode()).hexdigest()[:16]
            f = StoredFile(
                f"{kind[:3].upper()}-{n}-{uid}", f"U{uid[:10]}", f"{kind}s/file_{n}.{ext}", data, mime
            )
            self.files[f.file_id] = f
            return f

    def _file_object(self, kind: str, data: bytes, mime: str, ext: str, **fields: Any) -> JSON:
        """Store ``data`` and return the Bot API object of a user's file (id, size, mime type, ``fields``)."""
        f = self._make_file(kind, data, mime, ext)
        return {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            **fields,
            "mime_type": mime,
            "file_size": len(data),
        }

    def _photo_sizes(self, data: bytes, width: int, height: int) -> list[JSON]:
        sizes = []
        for scale in (0.07, 1.0):
            part = data if scale == 1.0 else data[: max(1, len(data) // 10)]
            f = self._make_file("photo", part, "image/jpeg", "jpg")
            sizes.append(
                {
                    "file_id": f.file_id,
                    "file_unique_id": f.file_unique_id,
                    "file_size": len(part),
                    "width": max(1, int(width * scale)),
                    "height": max(1, int(height * scale)),
                }
            )
        return sizes

    def file_by_path(self, path: str) -> StoredFile | None:
        """The stored file with this ``file_path``."""
        with self._lock:
            return next((f for f in self.files.values() if f.file_path == path), None)

    def _api_getfile(self, params: JSON, files: Any) -> JSON:
        f = self.files.get(str(params.get("file_id") or ""))
        if f is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": len(f.data),
            "file_path": f.file_path,
        }
