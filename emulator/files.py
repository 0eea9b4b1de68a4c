"""Stored files: what users and the bot upload, addressable by file_id and by file_path."""

from __future__ import annotations

import io
import itertools
import secrets
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

# getFile refuses bigger files, as the public Bot API does.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# Largest upload the public Bot API accepts; bigger requests get 413.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
THUMBNAIL_SIDE = 90
MEDIUM_SIDE = 320

# Real file_ids start with a type-specific prefix; mimic it so logs look familiar.
_ID_PREFIX = {
    "photo": "AgACAgIAAxkBAA",
    "thumbnail": "AAMCAgADGQEAA",
    "document": "BQACAgIAAxkBAA",
    "voice": "AwACAgIAAxkBAA",
    "sticker": "CAACAgIAAxkBAA",
}
_FOLDER = {
    "photo": ("photos", "jpg"),
    "thumbnail": ("thumbnails", "jpg"),
    "document": ("documents", "bin"),
    "voice": ("voice", "oga"),
    "sticker": ("stickers", "webp"),
}


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    kind: str
    mime_type: str | None = None
    file_name: str | None = None
    width: int | None = None
    height: int | None = None
    duration: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    def photo_size(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "width": self.width or 0,
            "height": self.height or 0,
        }

    def file_info(self) -> dict[str, Any]:
        """The File object getFile answers with (file_path only below the download limit)."""
        info: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.size <= MAX_DOWNLOAD_BYTES:
            info["file_path"] = self.file_path
        return info


class FileStore:
    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        # Every PhotoSize's file_id -> all sizes of that photo, so a re-send returns them all.
        self._photo_groups: dict[str, list[StoredFile]] = {}
        self._counter = itertools.count(1)

    def add(
        self,
        data: bytes,
        kind: str,
        *,
        mime_type: str | None = None,
        file_name: str | None = None,
        width: int | None = None,
        height: int | None = None,
        duration: int | None = None,
    ) -> StoredFile:
        folder, extension = _FOLDER.get(kind, ("documents", "bin"))
        if file_name and "." in file_name and kind == "document":
            extension = file_name.rsplit(".", 1)[1].lower()[:8] or extension
        number = next(self._counter)
        stored = StoredFile(
            file_id=_ID_PREFIX.get(kind, "BQACAgIAAxkBAA") + secrets.token_urlsafe(45),
            file_unique_id="AgAD" + secrets.token_urlsafe(9),
            data=bytes(data),
            file_path=f"{folder}/file_{number}.{extension}",
            kind=kind,
            mime_type=mime_type,
            file_name=file_name,
            width=width,
            height=height,
            duration=duration,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        return self._by_path.get(file_path)

    def add_photo(self, data: bytes) -> list[StoredFile]:
        """Store a photo as Telegram does: PhotoSizes from a thumbnail up to the original.

        The original bytes are kept untouched as the largest size, so tests can inspect exactly
        what was uploaded (for instance that EXIF data was stripped). Raises ValueError for
        bytes that are not an image.
        """
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                width, height = image.size
                smaller = [
                    _scaled_jpeg(image, side)
                    for side in (THUMBNAIL_SIDE, MEDIUM_SIDE)
                    if side == THUMBNAIL_SIDE or max(width, height) > side
                ]
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise ValueError(f"not an image: {error}") from None
        sizes = [
            self.add(jpeg, "photo", mime_type="image/jpeg", width=w, height=h)
            for jpeg, w, h in smaller
        ]
        sizes.append(self.add(data, "photo", mime_type="image/jpeg", width=width, height=height))
        for size in sizes:
            self._photo_groups[size.file_id] = sizes
        return sizes

    def photo_group(self, stored: StoredFile) -> list[StoredFile]:
        return self._photo_groups.get(stored.file_id, [stored])


def _scaled_jpeg(image: Image.Image, side: int) -> tuple[bytes, int, int]:
    copy = image.convert("RGB")
    copy.thumbnail((side, side))
    buffer = io.BytesIO()
    copy.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue(), copy.width, copy.height


def photo_dimensions_ok(width: int, height: int) -> bool:
    """Telegram's rule for photos: width + height <= 10000 and an aspect ratio of at most 20."""
    small, large = sorted((max(width, 1), max(height, 1)))
    return width + height <= 10000 and large / small <= 20
