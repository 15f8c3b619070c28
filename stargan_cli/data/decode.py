"""Decoding one source image into a prepared row: read (file or zip member), fix its mode, crop, resize.

Used by every real-format reader (CelebA, RaFD, folders) as the `write_prepared` worker. A bad file
(missing, truncated, not an image, a decompression bomb) becomes a counted skip, never an exception; a
grayscale, palette, CMYK, RGBA or 16-bit file is converted to RGB and counted.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .prepare import Row

FILTERS = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
}
_ZIPS: dict[tuple[str, int], zipfile.ZipFile] = {}  # one open handle per archive and process


@dataclass(frozen=True)
class Crop:
    """How to cut a square out of the source before resizing.

    kind "center": a side x side square in the middle (CelebA: 178 of 178x218, as the reference does);
    kind "square": the largest square, centred horizontally and at `center_y` (a fraction of the height)
    vertically, clamped inside the image (raw RaFD portraits, any folder).
    """

    kind: str = "square"
    side: int = 0
    center_y: float = 0.5

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        if self.kind == "center":
            side = min(self.side, width, height)
            left, top = int(round((width - side) / 2)), int(round((height - side) / 2))
        else:
            side = min(width, height)
            left = (width - side) // 2
            top = int(round(self.center_y * height - side / 2))
            top = max(0, min(height - side, top))
        return left, top, left + side, top + side

    def describe(self) -> str:
        return f"center {self.side}" if self.kind == "center" else f"largest square at y={self.center_y:g}"


@dataclass(frozen=True)
class ImageItem:
    path: str  # file path, or member name when `archive` is set
    labels: tuple[float, ...]
    size: int
    crop: Crop
    resample: str = "bilinear"
    archive: str | None = None
    exif: bool = True  # apply EXIF orientation (folders of photos); CelebA has none

    @property
    def source(self) -> str:
        return f"{self.archive}:{self.path}" if self.archive else self.path


def _open(item: ImageItem) -> Image.Image:
    if item.archive is None:
        return Image.open(item.path)
    # keyed by process: a worker forked after the main process opened the archive must not read through the
    # inherited handle, whose file offset the processes would share (members read at random went missing)
    key = (item.archive, os.getpid())
    handle = _ZIPS.get(key)
    if handle is None:
        handle = _ZIPS[key] = zipfile.ZipFile(item.archive)
    return Image.open(io.BytesIO(handle.read(item.path)))


def to_rgb(image: Image.Image) -> tuple[Image.Image, str]:
    """Any PIL mode -> RGB; transparent pixels are laid on white. Returns the image and a note."""
    mode = image.mode
    if mode == "RGB":
        return image, ""
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        scale = 65535.0 if mode != "I" or array.max() > 255 else 255.0
        image = Image.fromarray((array / scale * 255).round().astype(np.uint8), "L")
    elif mode == "P" or mode in ("RGBA", "LA", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    return image.convert("RGB"), f"converted from {mode}"


def climbs_out(member: str) -> bool:
    """Whether a zip member's name leaves the archive's folders (`trainA/../../x.png`, `/etc/x.png`): such
    members are skipped, whatever they hold."""
    parts = PurePosixPath(member.replace("\\", "/")).parts
    return member.startswith(("/", "\\")) or ".." in parts


def decode(item: ImageItem) -> Row:
    """The `write_prepared` worker for image files."""
    if item.archive is not None and climbs_out(item.path):
        return Row(None, None, item.source, "path climbs out of its folder in the archive")
    try:
        with _open(item) as image:
            image.load()
            if item.exif:
                image = ImageOps.exif_transpose(image)
            image, note = to_rgb(image)
    except (FileNotFoundError, KeyError):
        return Row(None, None, item.source, "missing file")
    except Image.DecompressionBombError:
        return Row(None, None, item.source, "too large (decompression bomb guard)")
    except UnidentifiedImageError:
        return Row(None, None, item.source, "not an image")
    except (OSError, SyntaxError, ValueError, zipfile.BadZipFile):
        return Row(None, None, item.source, "unreadable (truncated or corrupt)")
    box = item.crop.box(*image.size)
    side = box[2] - box[0]
    if side * 4 < item.size:  # a thumbnail or an icon: nothing of it would survive the upscaling
        return Row(None, None, item.source, f"too small (under a quarter of {item.size} px)")
    if side < item.size:
        note = note or f"upscaled (smaller than {item.size} px)"
    image = image.crop(box)
    if image.size != (item.size, item.size):
        image = image.resize((item.size, item.size), FILTERS[item.resample])
    return Row(np.asarray(image), np.asarray(item.labels, np.float32), item.source, note)
