"""Builders of small datasets in the exact formats the real ones ship in (for reader tests)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

CELEBA_NAMES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()


def aligned_face(index: int) -> Image.Image:
    """A 178x218 image: 20 red rows on top, 20 blue at the bottom, a coloured middle (what the crop keeps)."""
    array = np.zeros((218, 178, 3), np.uint8)
    array[:20] = (255, 0, 0)
    array[-20:] = (0, 0, 255)
    array[20:-20] = (40 + index % 200, 180, 60)
    return Image.fromarray(array)


def celeba_values(index: int) -> list[int]:
    rng = np.random.default_rng(index)
    values = [int(v) for v in rng.choice([-1, 1], len(CELEBA_NAMES))]
    hair = index % 3  # exactly one of Black, Blond, Brown
    for k, name in enumerate(("Black_Hair", "Blond_Hair", "Brown_Hair")):
        values[CELEBA_NAMES.index(name)] = 1 if k == hair else -1
    return values


def attribute_text(
    files: list[str], values: list[list[int]], count: int | None = None, crlf: bool = False
) -> str:
    """list_attr_celeba.txt: count, names, then `000001.jpg -1  1 ...` (a 1 is padded to line up with -1)."""
    lines = [str(len(files) if count is None else count), " ".join(CELEBA_NAMES) + " "]
    for name, row in zip(files, values, strict=True):
        lines.append(name + " " + " ".join(f"{v:2d}" for v in row))
    end = "\r\n" if crlf else "\n"
    return end.join(lines) + end


def make_celeba(
    root: Path,
    count: int,
    *,
    crlf: bool = False,
    as_zip: bool = False,
    layout: str = "flat",
    count_line: int | None = None,
) -> Path:
    """A CelebA download with `count` faces; layout "flat" or "official" (Anno/ and Img/ folders)."""
    anno = root / "Anno" if layout == "official" else root
    img_parent = root / "Img" if layout == "official" else root
    anno.mkdir(parents=True, exist_ok=True)
    img_parent.mkdir(parents=True, exist_ok=True)
    files = [f"{i + 1:06d}.jpg" for i in range(count)]
    if as_zip:
        with zipfile.ZipFile(img_parent / "img_align_celeba.zip", "w") as archive:
            for i, name in enumerate(files):
                path = root / "tmp.jpg"
                aligned_face(i).save(path, quality=90)
                archive.write(path, f"img_align_celeba/{name}")
                path.unlink()
    else:
        folder = img_parent / "img_align_celeba"
        folder.mkdir(exist_ok=True)
        for i, name in enumerate(files):
            aligned_face(i).save(folder / name, quality=90)
    text = attribute_text(files, [celeba_values(i) for i in range(count)], count_line, crlf)
    (anno / "list_attr_celeba.txt").write_bytes(text.encode())
    return root


def rafd_name(angle: str, person: int, expression: str, gender: str = "female", gaze: str = "frontal") -> str:
    return f"Rafd{angle}_{person:02d}_Caucasian_{gender}_{expression}_{gaze}.jpg"


def portrait(seed: int, size: tuple[int, int] = (68, 102)) -> Image.Image:
    """A small stand-in of RaFD's 681x1024 portrait frames (same aspect ratio)."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
