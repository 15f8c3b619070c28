"""Any labelled folder: one sub-folder per domain (single-label, e.g. AFHQ's cat/dog/wild), or a CSV of
multi-label attributes beside the images.

Split folders are recognised: `DIR/train/<class>/` with `DIR/test/` (or `val/`) become the train and test
splits instead of two classes called "train" and "test" (the most common mistake with ImageFolder-style
code). Without split folders, a seeded fraction of the images (per class) goes to test.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ...console import info
from ...errors import DatasetError
from ...labels import DatasetLabels
from ..decode import Crop, ImageItem, decode

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
TRAIN_NAMES, TEST_NAMES = ("train", "training"), ("test", "val", "valid", "validation")
TRUE, FALSE = {"1", "true", "yes", "y", "t"}, {"0", "-1", "false", "no", "n", "f", ""}


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def split_folders(source: Path) -> dict[str, Path] | None:
    """{"train": DIR/train, "test": DIR/test or DIR/val} when DIR holds split folders, else None."""
    names = {p.name.lower(): p for p in subfolders(source)}
    train = next((names[n] for n in TRAIN_NAMES if n in names), None)
    test = next((names[n] for n in TEST_NAMES if n in names), None)
    if train is None:
        return None
    if not subfolders(train):
        raise DatasetError(
            f"{train} holds images directly, but train/ and test/ are split folders: each must hold one folder "
            f"per class ({train}/<class>/*.jpg). Or pass the folder whose sub-folders are the classes"
        )
    found = {"train": train} | ({"test": test} if test is not None else {})
    info(
        f"{source}: {' and '.join(p.name + '/' for p in found.values())} are split folders, not classes; "
        f"the classes are their sub-folders"
    )
    return found


def by_class(folder: Path, classes: list[str] | None = None) -> dict[str, list[Path]]:
    found = {p.name: image_files(p) for p in subfolders(folder)}
    found = {k: v for k, v in found.items() if v}
    if classes is not None:
        unknown = sorted(set(found) - set(classes))
        if unknown:
            raise DatasetError(f"{folder} has class folders {unknown} that are not in {list(classes)}")
    return found


def holdout(files: list, fraction: float, seed: int, key=lambda f: f) -> tuple[list, list]:
    """Seeded split: the groups named by `key` (a file, or a person) go wholly to train or to test."""
    groups = sorted({key(f) for f in files})
    order = np.random.default_rng(seed).permutation(len(groups))
    n_test = int(round(fraction * len(groups))) if fraction > 0 else 0
    if fraction > 0 and len(groups) > 1:
        n_test = min(max(n_test, 1), len(groups) - 1)
    test_groups = {groups[i] for i in order[:n_test]}
    return [f for f in files if key(f) not in test_groups], [f for f in files if key(f) in test_groups]


def one_hot(index: int, count: int) -> tuple[float, ...]:
    return tuple(float(i == index) for i in range(count))


def write_image_splits(
    out: str,
    labels: DatasetLabels,
    size: int,
    train: list,
    test: list,
    crop: Crop,
    root: Path,
    preprocessing: dict,
    overwrite: bool,
    workers: int | None,
    extra: dict | None = None,
    archive: str | None = None,
):
    """(path, labels) pairs of both splits -> decoded, cropped, resized prepared dataset (bicubic). With
    `archive`, the paths are members of that zip file."""
    from ..prepare import write_prepared

    def items(pairs) -> list[ImageItem]:
        return [ImageItem(str(p), tuple(v), size, crop, "bicubic", archive) for p, v in pairs]

    return write_prepared(
        out,
        labels,
        size,
        {"train": items(train), "test": items(test)},
        decode,
        source=str(root.resolve()),
        preprocessing={"crop": crop.describe(), "resize": "bicubic", **preprocessing},
        extra=extra,
        overwrite=overwrite,
        workers=workers,
    )


def read_label_csv(path: Path) -> tuple[list[str], list[tuple[Path, tuple[float, ...]]]]:
    """A CSV with a header `file,attr1,attr2,...` and 0/1 (or -1/1, true/false) values."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if len(rows) < 2 or len(rows[0]) < 2:
        raise DatasetError(f"{path}: expected a header `file,attribute,...` and one row per image")
    names = [n.strip() for n in rows[0][1:]]
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if not row or not row[0].strip():
            continue
        if len(row) != len(names) + 1:
            raise DatasetError(f"{path}, line {number}: {len(row) - 1} values for {len(names)} attributes")
        values = []
        for value in row[1:]:
            v = value.strip().lower()
            if v not in TRUE | FALSE:
                raise DatasetError(f"{path}, line {number}: {value!r} is not 0/1, -1/1 or true/false")
            values.append(float(v in TRUE))
        out.append((path.parent / row[0].strip(), tuple(values)))
    return names, out


def prepare_folder(
    source: str,
    out: str,
    size: int = 128,
    labels_csv: str | None = None,
    name: str | None = None,
    test_fraction: float = 0.1,
    seed: int = 0,
    crop_center: float = 0.5,
    overwrite: bool = False,
    workers: int | None = None,
):
    root = Path(source)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    crop = Crop("square", center_y=crop_center)
    if labels_csv:
        names, rows = read_label_csv(Path(labels_csv))
        labels = DatasetLabels(name or root.name, tuple(names), "multi")
        train, test = holdout(rows, test_fraction, seed, key=lambda r: str(r[0]))
    else:
        splits = split_folders(root) or {"all": root}
        found = {k: by_class(v) for k, v in splits.items()}
        classes = sorted({c for per in found.values() for c in per})
        if len(classes) < 2:
            raise DatasetError(
                f"{root} needs at least two class folders with images (found {classes or 'none'})"
            )
        labels = DatasetLabels(name or root.name, tuple(classes), "single")
        pairs = {
            k: [(f, one_hot(classes.index(c), len(classes))) for c, files in per.items() for f in files]
            for k, per in found.items()
        }
        if "all" in pairs:
            train, test = [], []
            for c in classes:  # per class, so every class is in both splits
                a, b = holdout(
                    [p for p in pairs["all"] if p[1][classes.index(c)]],
                    test_fraction,
                    seed,
                    key=lambda r: str(r[0]),
                )
                train, test = train + a, test + b
        else:
            train, test = pairs["train"], pairs.get("test", [])
    return write_image_splits(
        out,
        labels,
        size,
        train,
        test,
        crop,
        root,
        {"test_fraction": test_fraction, "seed": seed},
        overwrite,
        workers,
    )
