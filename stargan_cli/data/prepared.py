"""The prepared dataset (docs/design.md, contract 2): what training and evaluation read.

A directory with `manifest.json` and, per split, `images-<split>.npy` (N,H,W,3 uint8, memory-mapped),
`labels-<split>.npy` (N,A float32 0/1) and `files-<split>.txt` (the source of every row). The manifest is
written last and the directory renamed into place, so a directory without a manifest is never complete.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..labels import DatasetLabels

FORMAT_VERSION = 1
SPLITS = ("train", "test")


@dataclass
class Split:
    images: np.ndarray  # (N, H, W, 3) uint8, memory-mapped
    labels: np.ndarray  # (N, A) float32 0/1

    def __len__(self) -> int:
        return self.images.shape[0]


class PreparedDataset:
    """Opens and validates a prepared dataset; splits are memory-mapped on first use."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        manifest_path = self.root / "manifest.json"
        if not self.root.is_dir():
            raise DatasetError(
                f"prepared dataset {self.root} not found; create it with `stargan prepare <format> --out {self.root}`"
            )
        if not manifest_path.is_file():
            raise DatasetError(
                f"{self.root} is not a complete prepared dataset (no manifest.json: preparation was interrupted "
                f"or this is a raw download); run `stargan prepare <format> --out {self.root} --overwrite`"
            )
        try:
            self.manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            version = self.manifest["format_version"]
            self.labels = DatasetLabels.from_dict(self.manifest["labels"])
            self.image_size = int(self.manifest["image_size"])
            self.split_sizes = {k: int(v) for k, v in self.manifest["splits"].items()}
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{manifest_path} is damaged ({exc}); prepare the dataset again") from None
        if version != FORMAT_VERSION:
            raise DatasetError(
                f"{self.root} has prepared-dataset format {version}, this stargan reads {FORMAT_VERSION}; "
                "prepare it again with this version"
            )

    @property
    def name(self) -> str:
        return self.labels.name

    @cached_property
    def _splits(self) -> dict[str, Split]:
        return {}

    def split(self, name: str) -> Split:
        if name not in self.split_sizes:
            raise DatasetError(f"{self.root} has no {name!r} split (it has {sorted(self.split_sizes)})")
        if name not in self._splits:
            self._splits[name] = self._open(name)
        return self._splits[name]

    def _open(self, name: str) -> Split:
        count, size, attrs = self.split_sizes[name], self.image_size, len(self.labels.attributes)
        try:
            images = np.load(self.root / f"images-{name}.npy", mmap_mode="r")
            labels = np.load(self.root / f"labels-{name}.npy")
        except (OSError, ValueError) as exc:
            raise DatasetError(
                f"{self.root}: the {name} split is unreadable ({exc}); prepare the dataset again with --overwrite"
            ) from None
        if images.shape != (count, size, size, 3) or images.dtype != np.uint8:
            raise DatasetError(
                f"{self.root}: images-{name}.npy is {images.shape} {images.dtype}, the manifest says "
                f"({count}, {size}, {size}, 3) uint8; prepare the dataset again with --overwrite"
            )
        if labels.shape != (count, attrs):
            raise DatasetError(
                f"{self.root}: labels-{name}.npy is {labels.shape}, expected ({count}, {attrs}); prepare it again"
            )
        return Split(images, labels.astype(np.float32, copy=False))

    @cached_property
    def manifest_sha256(self) -> str:
        """Identifies this preparation: caches beside it and reports refer to it."""
        return hashlib.sha256((self.root / "manifest.json").read_bytes()).hexdigest()

    def files(self, name: str) -> list[str]:
        return (self.root / f"files-{name}.txt").read_text(encoding="utf-8").splitlines()


def is_prepared(path: Path) -> bool:
    return (path / "manifest.json").is_file()
