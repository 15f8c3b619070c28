"""CelebA as it is shipped: img_align_celeba/ (or img_align_celeba.zip) and list_attr_celeba.txt.

The attribute file: line 1 the number of images, line 2 the 40 attribute names, then one row per image,
`000001.jpg -1  1  1 -1 ...` (runs of spaces, +1/-1; CRLF line ends tolerated). The default split is the
reference implementation's: the rows shuffled by Python's random.seed(1234), the first 1,999 for test (an
off-by-one of the intended 2,000, which `--split clean` gives). Images: centre crop 178x178 of the
178x218 aligned faces, then resize (bilinear, as torchvision's Resize on PIL images).
"""

from __future__ import annotations

import difflib
import random
import zipfile
from pathlib import Path

from ...console import warn
from ...errors import DatasetError
from ...labels import DatasetLabels
from ..decode import Crop, ImageItem, decode

PAPER_ATTRIBUTES = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")
TEST_SIZES = {"reference": 1999, "clean": 2000}
ATTR_FILE = "list_attr_celeba.txt"


def _find(root: Path, name: str, directory: bool) -> Path | None:
    """`name` at the top of `root` or up to three folders down (Anno/, Img/, CelebA/...)."""
    for depth in range(4):
        for path in sorted(root.glob("/".join(["*"] * depth + [name]))):
            if path.is_dir() == directory:
                return path
    return None


def locate(source: Path) -> tuple[Path, Path]:
    """(attribute file, image folder or zip) inside a CelebA download."""
    if not source.is_dir():
        raise DatasetError(f"CelebA source {source} is not a folder; pass the folder of the download")
    attr = _find(source, ATTR_FILE, False)
    if attr is None:
        raise DatasetError(
            f"{ATTR_FILE} not found under {source}; CelebA ships it in Anno/ (download the attribute "
            "annotations and put the file beside img_align_celeba/)"
        )
    images = _find(source, "img_align_celeba", True) or _find(source, "img_align_celeba.zip", False)
    if images is None:
        raise DatasetError(
            f"neither img_align_celeba/ nor img_align_celeba.zip found under {source}; CelebA's aligned "
            "images ship as Img/img_align_celeba.zip"
        )
    return attr, images


def read_attributes(path: Path) -> tuple[list[str], list[tuple[str, list[int]]]]:
    """The attribute names and the rows (file name, +1/-1 values) in file order."""
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) < 2:
        raise DatasetError(
            f"{path} is too short to be CelebA's attribute file (a count line and a names line)"
        )
    try:
        count = int(lines[0].strip())
    except ValueError:
        raise DatasetError(
            f"{path}: line 1 should be the number of images, found {lines[0][:40]!r}"
        ) from None
    names = lines[1].split()
    rows = []
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if len(fields) != len(names) + 1:
            raise DatasetError(
                f"{path}, line {number}: {len(fields) - 1} values for {len(names)} attributes; the file is damaged"
            )
        try:
            values = [int(v) for v in fields[1:]]
        except ValueError:
            raise DatasetError(f"{path}, line {number}: values must be 1 or -1") from None
        if any(v not in (1, -1) for v in values):
            raise DatasetError(f"{path}, line {number}: values must be 1 or -1")
        rows.append((fields[0], values))
    if count != len(rows):
        raise DatasetError(
            f"{path}: line 1 says {count} images but the file has {len(rows)} rows; the file is truncated or "
            "edited (fix the count line if you trimmed it on purpose)"
        )
    return names, rows


def select(names: list[str], wanted: list[str]) -> list[int]:
    index = []
    lower = {n.lower(): i for i, n in enumerate(names)}
    for name in wanted:
        if name.lower() not in lower:
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise DatasetError(f"CelebA has no attribute {name!r}.{hint} It has: {', '.join(names)}")
        index.append(lower[name.lower()])
    return index


def reference_order(rows: list) -> list:
    """The reference's order: Python's random.seed(1234) then random.shuffle of the data lines."""
    shuffled = list(rows)
    random.Random(1234).shuffle(shuffled)
    return shuffled


def prepare_celeba(
    source: str,
    out: str,
    attributes: list[str] | None = None,
    size: int = 128,
    split: str = "reference",
    test_size: int | None = None,
    overwrite: bool = False,
    workers: int | None = None,
):
    from ..prepare import write_prepared

    attr_file, images = locate(Path(source))
    names, rows = read_attributes(attr_file)
    listed = {}
    for row in rows:  # a file listed twice would land in both splits: the first listing counts
        listed.setdefault(row[0], row)
    if len(listed) < len(rows):
        warn(
            f"{attr_file} lists {len(rows) - len(listed)} file(s) more than once; each is used once (its first line)"
        )
        rows = list(listed.values())
    chosen = select(names, list(attributes or PAPER_ATTRIBUTES))
    selected = tuple(names[i] for i in chosen)
    hair = tuple(a for a in selected if a in HAIR_COLOURS)
    labels = DatasetLabels("celeba", selected, "multi", (hair,) if len(hair) > 1 else ())
    n_test = TEST_SIZES[split] if test_size is None else test_size
    if n_test >= len(rows):
        raise DatasetError(
            f"{attr_file} lists {len(rows)} images, not more than the {n_test} test images; "
            "pass a smaller --test-size"
        )
    archive, prefix = None, images
    if images.suffix == ".zip":
        archive = str(images)
        members = zipfile.ZipFile(images).namelist()
        prefix = Path(next((m.split("/")[0] for m in members if "/" in m), ""))
    crop = Crop("center", 178)

    def item(row) -> ImageItem:
        path = (prefix / row[0]).as_posix() if archive else str(images / row[0])
        return ImageItem(
            path, tuple(float(row[1][i] == 1) for i in chosen), size, crop, "bilinear", archive, exif=False
        )

    order = reference_order(rows)
    return write_prepared(
        out,
        labels,
        size,
        {"train": [item(r) for r in order[n_test:]], "test": [item(r) for r in order[:n_test]]},
        decode,
        source=str(Path(source).resolve()),
        preprocessing={
            "crop": crop.describe(),
            "resize": "bilinear",
            "split": split if test_size is None else f"first {n_test} of the reference shuffle",
        },
        extra={"celeba": {"attribute_file": str(attr_file), "images": str(images), "rows": len(rows)}},
        overwrite=overwrite,
        workers=workers,
    )
