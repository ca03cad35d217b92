"""Media RSS (<media:content>, also inside <media:group>) as enclosures.

Podcasts and video feeds that publish their files this way, with no <enclosure>,
would otherwise lose them. Both parse paths hand over the same attribute dicts
(keys in lower case), so the choice is made once, here:

- every media file that is not an image (audio, video, documents), in document
  order, a group's isDefault one first: RSS republishes only the first enclosure
  of an item, and that must be the episode, not its artwork;
- then at most one image, the widest: news feeds list an article's picture in
  several sizes, and readers show one picture per item, not an attachment list.

A missing MIME type is guessed from the URL's file name (RSS needs one, and a
reader shows an image only when the type says so).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

__all__ = ["media_enclosures"]

# Python's own table only: the system's mime.types would make the result depend on
# the machine.
_TYPES = mimetypes.MimeTypes(filenames=())


def media_enclosures(
    contents: Iterable[Mapping[str, object]],
) -> list[tuple[object, object, object]]:
    """<media:content> attribute dicts -> (url, type, length) for parse._fields.enclosures."""
    files: list[tuple[object, object, object]] = []
    defaults: list[tuple[object, object, object]] = []
    best_image: tuple[int, tuple[object, object, object]] | None = None
    for attrs in contents:
        url = attrs.get("url")
        if not isinstance(url, str) or not url.strip():
            continue
        mime = _str(attrs.get("type")).strip() or _guess(url)
        found = (url, mime or None, attrs.get("filesize") or attrs.get("length"))
        medium = _str(attrs.get("medium")).strip().lower()
        if medium == "image" or (not medium and mime.lower().startswith("image/")):
            width = _width(attrs.get("width"))
            if best_image is None or width > best_image[0]:
                best_image = (width, found)
        elif _str(attrs.get("isdefault")).strip().lower() == "true":
            defaults.append(found)
        else:
            files.append(found)
    return defaults + files + ([best_image[1]] if best_image else [])


def _guess(url: str) -> str:
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        return ""
    return _TYPES.guess_type(path, strict=False)[0] or ""


def _width(value: object) -> int:
    text = _str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 0


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""
