"""RaFD (Radboud Faces Database): 8 expressions, from raw file names or the reference's folders.

Raw names look like `Rafd090_01_Caucasian_female_angry_frontal.jpg`: camera angle, person, ethnicity,
gender, expression, gaze. The reference implementation instead reads `RaFD/train/<expression>/*.jpg`
(pre-cropped 256x256 faces). Both are accepted. Classes follow the reference's (alphabetical) order. The
split is by person, so no identity is in both splits; split folders (train/, test/) are used as given.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...console import info
from ...errors import DatasetError
from ...labels import DatasetLabels
from ..decode import Crop
from .folder import by_class, holdout, image_files, one_hot, split_folders, subfolders, write_image_splits

EXPRESSIONS = ("angry", "contemptuous", "disgusted", "fearful", "happy", "neutral", "sad", "surprised")
NAME = re.compile(r"^Rafd(\d{3})_(\d+)_([^_]+)_([^_]+)_([^_]+)_([^_]+)$", re.IGNORECASE)


def parse_name(path: Path) -> dict | None:
    """The fields of a raw RaFD file name, or None when the name is not one."""
    match = NAME.match(path.stem)
    if match is None:
        return None
    angle, person, ethnicity, gender, expression, gaze = match.groups()
    return {
        "angle": angle,
        "person": person,
        "ethnicity": ethnicity,
        "gender": gender,
        "expression": expression.lower(),
        "gaze": gaze.lower(),
    }


def _person(path: Path) -> str:
    fields = parse_name(path)
    return fields["person"] if fields else path.stem  # unknown names: each file its own group


def _from_expression_folders(folder: Path) -> list[tuple[Path, int]]:
    found = by_class(folder)
    unknown = sorted(set(found) - set(EXPRESSIONS))
    if unknown:
        raise DatasetError(
            f"{folder} has folders {unknown}, which are not RaFD expressions {list(EXPRESSIONS)}"
        )
    return [(f, EXPRESSIONS.index(e)) for e, files in found.items() for f in files]


def _from_raw_names(root: Path, angles: tuple[str, ...]) -> list[tuple[Path, int]]:
    pairs, unknown = [], set()
    for f in image_files(root):
        fields = parse_name(f)
        if fields is None or fields["angle"] not in angles:
            continue
        if fields["expression"] not in EXPRESSIONS:
            unknown.add(fields["expression"])
            continue
        pairs.append((f, EXPRESSIONS.index(fields["expression"])))
    if unknown:
        raise DatasetError(
            f"{root}: expressions {sorted(unknown)} in file names are not RaFD's {list(EXPRESSIONS)}"
        )
    if not pairs:
        raise DatasetError(
            f"no RaFD images found under {root} for camera angle(s) {', '.join(angles)}: expected raw names like "
            "Rafd090_01_Caucasian_female_angry_frontal.jpg or folders train/<expression>/"
        )
    return pairs


def prepare_rafd(
    source: str,
    out: str,
    size: int = 128,
    angles: tuple[str, ...] = ("090",),
    test_fraction: float = 0.1,
    seed: int = 0,
    crop_center: float = 0.42,
    overwrite: bool = False,
    workers: int | None = None,
):
    root = Path(source)
    if not root.is_dir():
        raise DatasetError(f"RaFD source {root} is not a folder")
    splits = split_folders(root)
    if splits is not None:
        train = _from_expression_folders(splits["train"])
        test = _from_expression_folders(splits["test"]) if "test" in splits else []
        layout = "reference folders " + " + ".join(p.name for p in splits.values())
        if "test" not in splits:
            train, test = holdout(train, test_fraction, seed, key=lambda r: _person(r[0]))
    else:
        names = {p.name.lower() for p in subfolders(root)}
        pairs = _from_expression_folders(root) if names & set(EXPRESSIONS) else _from_raw_names(root, angles)
        layout = (
            "expression folders" if names & set(EXPRESSIONS) else f"raw file names, angles {list(angles)}"
        )
        train, test = holdout(pairs, test_fraction, seed, key=lambda r: _person(r[0]))
    info(f"RaFD from {layout}: {len(train)} train, {len(test)} test images")
    crop = Crop("square", center_y=crop_center)
    labels = DatasetLabels("rafd", EXPRESSIONS, "single")

    def pairs(rows) -> list:
        return [(f, one_hot(k, len(EXPRESSIONS))) for f, k in rows]

    split = f"by person, {test_fraction:g} to test, seed {seed}"
    return write_image_splits(
        out,
        labels,
        size,
        pairs(train),
        pairs(test),
        crop,
        root,
        {"layout": layout, "split": split},
        overwrite,
        workers,
        {"rafd": {"angles": list(angles)}},
    )
