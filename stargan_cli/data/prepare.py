"""Write a prepared dataset from a reader's work items: parallel, with a progress bar, crash-safe.

A reader supplies, per split, a list of picklable work items and a top-level `worker(item)` returning a
`Row`: the image (S,S,3) uint8, its labels (A,) float32, its source and a note. A bad source file gives
`image=None` and the reason as the note: it is skipped and counted in the manifest (with a few examples);
a note on a good row (e.g. "converted from CMYK") is counted too. Rows go into `.<out>.partial-<pid>/`, the manifest is written last
and the directory renamed to `out` at the end: an interrupted preparation never looks complete.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..console import info, progress
from ..errors import DatasetError
from ..files import cannot_write, locked
from ..labels import DatasetLabels
from ..version import __version__
from .prepared import FORMAT_VERSION, PreparedDataset


class Row(NamedTuple):
    image: np.ndarray | None
    labels: np.ndarray | None
    source: str
    note: str = ""


Worker = Callable[[Any], Row]
EXAMPLES = 20  # skipped files listed by name in the manifest
PARALLEL_THRESHOLD = 256  # fewer items than this are processed in-process


def check_output(out: Path, overwrite: bool) -> None:
    """Refuse to replace anything that is there unless asked to; never touch it before the end."""
    if not out.exists() or overwrite:
        return
    if (out / "manifest.json").is_file():
        try:
            name = PreparedDataset(out).name
        except DatasetError:
            name = "a prepared dataset"
        raise DatasetError(
            f"{out} already holds {name}; pass --overwrite to replace it or choose another --out"
        )
    if any(out.iterdir()) if out.is_dir() else True:
        raise DatasetError(
            f"{out} exists and is not an empty directory; choose another --out or pass --overwrite"
        )


def _run(items: Sequence[Any], worker: Worker, workers: int, description: str):
    with progress() as bar:
        task = bar.add_task(description, total=len(items))
        if workers <= 1 or len(items) < PARALLEL_THRESHOLD:
            for item in items:
                yield worker(item)
                bar.advance(task)
            return
        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with context.Pool(workers) as pool:
            for result in pool.imap(worker, items, chunksize=max(1, min(64, len(items) // (workers * 8)))):
                yield result
                bar.advance(task)


def _write_split(
    tmp: Path,
    split: str,
    items: Sequence[Any],
    worker: Worker,
    size: int,
    attrs: int,
    workers: int,
    report: dict,
) -> int:
    images = np.lib.format.open_memmap(
        tmp / f"images-{split}.npy", "w+", np.uint8, (len(items), size, size, 3)
    )
    labels = np.zeros((len(items), attrs), np.float32)
    sources, row = [], 0
    for image, label, source, note in _run(items, worker, workers, f"prepare {split}"):
        if image is None:
            report["skipped"][note] += 1
            if len(report["examples"]) < EXAMPLES:
                report["examples"].append([source, note])
            continue
        if note:
            report["converted"][note] += 1
        images[row], labels[row] = image, label
        sources.append(source)
        row += 1
    images.flush()
    del images
    if row < len(items):  # compact: rewrite without the skipped rows
        full = np.load(tmp / f"images-{split}.npy", mmap_mode="r")
        np.save(tmp / f"images-{split}.tmp.npy", np.ascontiguousarray(full[:row]))
        del full
        os.replace(tmp / f"images-{split}.tmp.npy", tmp / f"images-{split}.npy")
    np.save(tmp / f"labels-{split}.npy", labels[:row])
    (tmp / f"files-{split}.txt").write_text("".join(s + "\n" for s in sources), encoding="utf-8")
    return row


def write_prepared(
    out: str | Path,
    labels: DatasetLabels,
    image_size: int,
    splits: dict[str, Sequence[Any]],
    worker: Worker,
    *,
    source: str,
    preprocessing: dict,
    extra: dict | None = None,
    overwrite: bool = False,
    workers: int | None = None,
) -> PreparedDataset:
    out = Path(out)
    check_output(out, overwrite)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(out, exc) from None
    needed = sum(len(items) for items in splits.values()) * image_size * image_size * 3
    free = shutil.disk_usage(out.parent).free
    if needed * 1.05 + 2**26 > free:  # the arrays are preallocated: a full disk would kill the process
        raise DatasetError(
            f"{out} needs about {needed / 2**30:.2f} GiB and its disk has {free / 2**30:.2f} GiB free; free some "
            "space or choose another --out"
        )
    busy = f"another stargan prepare is writing {out}; wait for it to finish or choose another --out"
    with locked(out.parent / f".{out.name}.lock", wait=False, busy=busy, remove=True, destination=out):
        return _write_locked(out, labels, image_size, splits, worker, source, preprocessing, extra, workers)


def _write_locked(out, labels, image_size, splits, worker, source, preprocessing, extra, workers):
    """write_prepared's work, under the destination's lock: every partial folder left there is stale."""
    for stale in out.parent.glob(f".{out.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    workers = workers or os.cpu_count() or 1
    report: dict = {"skipped": Counter(), "examples": [], "converted": Counter()}
    try:
        tmp.mkdir()
        sizes = {
            split: _write_split(
                tmp, split, items, worker, image_size, len(labels.attributes), workers, report
            )
            for split, items in splits.items()
        }
        if sizes.get("train", 0) == 0:
            raise DatasetError(
                f"no usable training images from {source} ({dict(report['skipped']) or 'no input files'})"
            )
        manifest = {
            "format_version": FORMAT_VERSION,
            "name": labels.name,
            "source": source,
            "labels": labels.to_dict(),
            "image_size": image_size,
            "preprocessing": preprocessing,
            "splits": sizes,
            "skipped": dict(report["skipped"]),
            "skipped_examples": report["examples"],
            "converted": dict(report["converted"]),
            "stargan_version": __version__,
            **(extra or {}),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except OSError as exc:  # the disk filled up, the folder went away: one line, nothing half-written left
        shutil.rmtree(tmp, ignore_errors=True)
        raise cannot_write(out, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    skipped = report["skipped"]
    info(
        f"prepared {labels.name} at {out}: "
        + ", ".join(f"{k} {v}" for k, v in sizes.items())
        + (f"; skipped {sum(skipped.values())}" if skipped else "")
    )
    return PreparedDataset(out)
