"""CycleGAN's datasets as they are shipped (`horse2zebra.zip` and the rest of the reference's downloads):
`trainA/ trainB/ testA/ testB/` (also `valA/ valB/`, used as test when there is no test folder), as a
folder or the zip itself, with or without the top folder inside the zip.

The result is a single-label prepared dataset of two classes, A first, so a CycleGAN recipe needs no
`model.domains`. The class names come from `--domains horse,zebra`, else from the folder's name split
at its first "2" (`horse2zebra` -> horse, zebra; `summer2winter_yosemite` -> summer, winter_yosemite),
else A and B. Files are found recursively with the reference's suffixes, in sorted order; each image's
largest centred square is resized (bicubic) to --size. The reference squashes non-square images to a
square instead; its shipped datasets are square (256 x 256), where the two agree.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ...errors import DatasetError
from ...labels import DatasetLabels
from ..decode import Crop
from .folder import write_image_splits

SUFFIXES = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff"}  # the reference's IMG_EXTENSIONS
SPLITS = {"train": ("train",), "test": ("test", "val")}


def domain_names(source: Path, domains: str | None) -> tuple[str, str]:
    if domains:
        names = tuple(n.strip() for n in domains.split(",") if n.strip())
        if len(names) != 2 or names[0] == names[1]:
            raise DatasetError(f"--domains {domains!r}: give two different names, A first (e.g. horse,zebra)")
        return names
    stem = source.name.removesuffix(".zip")
    a, sep, b = stem.partition("2")
    return (a, b) if sep and a and b else ("A", "B")


def _members(source: Path) -> tuple[str | None, dict[str, list[str]]]:
    """(archive or None, {folder name like "trainA": sorted files}) of a folder or a zip."""
    found: dict[str, list[str]] = {}
    if source.is_file():
        try:
            names = zipfile.ZipFile(source).namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise DatasetError(f"{source} is not a readable zip file ({exc})") from None
        for name in names:
            parts = Path(name).parts
            if Path(name).suffix.lower() in SUFFIXES and len(parts) >= 2:
                folder = next((p for p in parts[:-1] if _is_domain_folder(p)), None)
                if folder is not None:
                    found.setdefault(folder, []).append(name)
        return str(source), {k: sorted(v) for k, v in found.items()}
    for folder in sorted(p for p in source.iterdir() if p.is_dir() and _is_domain_folder(p.name)):
        files = sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
        found[folder.name] = files
    return None, found


def _is_domain_folder(name: str) -> bool:
    return any(name == f"{split}{side}" for names in SPLITS.values() for split in names for side in "AB")


def prepare_cyclegan(
    source: str,
    out: str,
    size: int = 256,
    domains: str | None = None,
    overwrite: bool = False,
    workers: int | None = None,
):
    root = Path(source).expanduser()
    if not root.exists():
        raise DatasetError(f"{root} not found; give the unpacked folder or the .zip of a CycleGAN dataset")
    archive, found = _members(root)
    if not found.get("trainA") or not found.get("trainB"):
        raise DatasetError(
            f"{root} has no images in trainA/ and trainB/ (found: {', '.join(sorted(found)) or 'nothing'}); "
            "a CycleGAN dataset holds trainA/ trainB/ testA/ testB/"
        )
    names = domain_names(root, domains)
    labels = DatasetLabels(root.name.removesuffix(".zip"), names, "single")
    pairs: dict[str, list] = {"train": [], "test": []}
    for split, folders in SPLITS.items():
        for side, label in (("A", (1.0, 0.0)), ("B", (0.0, 1.0))):
            folder = next((f"{n}{side}" for n in folders if found.get(f"{n}{side}")), None)
            pairs[split] += [(f, label) for f in found.get(folder, [])] if folder else []

    return write_image_splits(
        out,
        labels,
        size,
        pairs["train"],
        pairs["test"],
        Crop("square"),
        root,
        {"layout": "cyclegan"},
        overwrite,
        workers,
        archive=archive,
    )
