"""User photos for `stargan translate`: which files, how to read them, where their results go.

- Inputs are files, folders (searched recursively, `--pattern` filters names) or list files (`.txt`,
  one path per line, relative to the list; `#` starts a comment).
- Reading applies EXIF orientation and converts any mode (grayscale, palette, RGBA, CMYK, 16-bit) to
  RGB, as preparing a dataset does. Images above `max_pixels` are refused before they are decoded;
  `--max-side` scales large inputs down, a JPEG while it is decoded. A 90-megapixel photo costs about
  2.5 times its RGB array at the peak of reading (Pillow's 4-byte pixels plus the array).
- Results mirror the input tree under `--out` (a file given directly lands at the top), with the targets
  in the file name, in the input's format (PNG, JPEG or WebP) unless `--format` says otherwise. Writes are
  atomic and never replace an input.
"""

from __future__ import annotations

import fnmatch
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .data.decode import to_rgb
from .errors import ImageError
from .images import save_image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
WRITABLE = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
MAX_PIXELS = 100_000_000  # 100 megapixels: far above any camera photo, far below a decompression bomb


@dataclass(frozen=True)
class InputFile:
    path: Path
    relative: Path  # its place under --out: the path below the folder or list it came from


def _from_folder(folder: Path, pattern: str | None) -> list[InputFile]:
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        if pattern and not fnmatch.fnmatch(path.name, pattern):
            continue
        found.append(InputFile(path, path.relative_to(folder)))
    return found


def _from_list(list_file: Path) -> list[InputFile]:
    found = []
    for number, line in enumerate(list_file.read_text(encoding="utf-8").splitlines(), 1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        path = Path(name).expanduser()
        path = path if path.is_absolute() else list_file.parent / path
        if not path.is_file():
            raise ImageError(f"{list_file}, line {number}: {path} not found; fix the list or remove the line")
        try:
            relative = path.resolve().relative_to(list_file.parent.resolve())
        except ValueError:
            relative = Path(path.name)
        found.append(InputFile(path, relative))
    return found


def collect_inputs(inputs: list[str], pattern: str | None = None) -> list[InputFile]:
    """Expand files, folders and list files into image files, each with its place under --out."""
    files: list[InputFile] = []
    for name in inputs:
        path = Path(name).expanduser()
        if path.is_dir():
            found = _from_folder(path, pattern)
            if not found:
                what = f"matching {pattern!r} " if pattern else ""
                raise ImageError(
                    f"no images {what}in {path} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
                )
            files += found
        elif path.suffix.lower() == ".txt" and path.is_file():
            files += _from_list(path)
        elif not path.exists():
            raise ImageError(f"{path} not found")
        else:
            files.append(InputFile(path, Path(path.name)))
    if not files:
        raise ImageError(f"no images found in {', '.join(inputs)}")
    return files


def declared_size(source: Path | BinaryIO) -> tuple[int, int]:
    """(width, height) as a file's (or stream's) header says; (0, 0) when it cannot be read: the decoder will
    say why."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                return image.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return 0, 0


def declared_pixels(path: Path) -> int:
    """Width x height as the file's header says (0 when it cannot be read)."""
    width, height = declared_size(path)
    return width * height


def _to_array(image: Image.Image) -> np.ndarray:
    """An RGB image -> a writable (H, W, 3) uint8 array, converted a band of rows at a time: a whole-image
    conversion holds a second full copy in bytes (90 MP: +270 MB) before the array exists."""
    width, height = image.size
    array = np.empty((height, width, 3), np.uint8)
    band = max(1, (1 << 24) // (3 * width))  # about 16 MB of rows
    for top in range(0, height, band):
        array[top : top + band] = np.asarray(image.crop((0, top, width, min(height, top + band))))
    return array


def read_photo(
    path: Path | BinaryIO, max_pixels: int = MAX_PIXELS, max_side: int | None = None, name: str | None = None
) -> np.ndarray:
    """A file (or an open binary stream, called `name` in errors) -> (H, W, 3) uint8 RGB, upright (EXIF
    orientation applied). With `max_side`, an image whose longest side is larger is scaled down to it: a
    JPEG is decoded at 1/2, 1/4 or 1/8 of its size directly (DCT scaling, a fraction of the time and
    memory), other formats are decoded whole and resized."""
    label = name or path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below instead
            image = Image.open(path)
        with image:
            if max_side and max(image.size) > max_side and image.format == "JPEG":
                scale = max_side / max(image.size)
                image.draft("RGB", (int(image.width * scale) + 1, int(image.height * scale) + 1))
            width, height = image.size
            if width * height > max_pixels:
                jpeg = image.format == "JPEG" and not max_side
                raise ImageError(
                    f"{label} is {width}x{height} ({width * height / 1e6:.0f} megapixels), above the "
                    f"{max_pixels / 1e6:.0f}-megapixel guard against decompression bombs; downscale it first"
                    + (" or pass --max-side 4000 (a JPEG then decodes at reduced size)" if jpeg else "")
                )
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            image, _ = to_rgb(image)
            if max_side and max(image.size) > max_side:
                scale = max_side / max(image.size)
                size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
                image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
            return _to_array(image)
    except FileNotFoundError:
        raise ImageError(f"{label} not found") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{label} is too large to decode safely ({exc}); downscale it first") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(
            f"{label} is not a readable image ({exc.__class__.__name__}); pass PNG, JPEG or WebP files"
        ) from None


def output_path(item: InputFile, out: str | None, tag: str, fmt: str | None = None) -> Path:
    """Where the result of `item` with `tag` (e.g. 'blond_male-0') goes."""
    suffix = f".{fmt.lower().lstrip('.')}" if fmt else item.path.suffix.lower()
    if suffix not in WRITABLE:
        suffix = ".png"
    folder = Path(out) / item.relative.parent if out else item.path.parent
    return folder / f"{item.path.stem}_{tag}{suffix}"


def photo_format(suffix: str) -> tuple[str, dict]:
    """The format a result with this suffix is written in, and its options: JPEG and WebP at quality 95,
    PNG (lossless) for the rest."""
    fmt = WRITABLE.get(suffix.lower(), "PNG")
    return fmt, ({"quality": 95} if fmt in ("JPEG", "WEBP") else {})


def write_photo(array: np.ndarray, path: Path) -> Path:
    """Write atomically in the format the suffix names (photo_format)."""
    fmt, options = photo_format(path.suffix)
    return save_image(array, path, fmt, **options)
