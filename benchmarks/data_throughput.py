"""Data benchmarks of issue 3, side by side in one run on the same files.

1. prepare: a synthetic CelebA-format download (N aligned 178x218 JPEGs of rendered faces + a real-layout
   list_attr_celeba.txt) -> `prepare_celeba` at 128 px, with every core and with one process.
2. training input at 128 px, batch 16: our stream (memory-mapped uint8 rows -> flip -> [-1, 1]) against the
   reference's per-sample pipeline (PIL decode, CenterCrop 178, Resize 128, RandomHorizontalFlip,
   ToTensor, Normalize, then collate), both in one process.

    python benchmarks/data_throughput.py --count 5000 [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("STARGAN_QUIET", "1")

from stargan_cli.data.readers.celeba import prepare_celeba  # noqa: E402
from stargan_cli.data.readers.toyfaces import render, sample_face  # noqa: E402
from stargan_cli.train.stream import BatchStream  # noqa: E402
from tests.realdata import attribute_text, celeba_values  # noqa: E402


def make_download(root: Path, count: int) -> Path:
    folder = root / "img_align_celeba"
    folder.mkdir(parents=True, exist_ok=True)
    files = [f"{i + 1:06d}.jpg" for i in range(count)]
    for i, name in enumerate(files):
        if not (folder / name).exists():
            face = render(
                sample_face(0, 0, i, "celeba"), 218
            )  # 218x218 -> 178x218 like CelebA's aligned faces
            Image.fromarray(face[:, 20:198]).save(folder / name, quality=90)
    (root / "list_attr_celeba.txt").write_text(
        attribute_text(files, [celeba_values(i) for i in range(count)])
    )
    return root


def time_prepare(source: Path, out: Path, workers: int) -> float:
    start = time.perf_counter()
    ds = prepare_celeba(str(source), str(out), None, 128, test_size=100, overwrite=True, workers=workers)
    elapsed = time.perf_counter() - start
    return sum(ds.split_sizes.values()) / elapsed


def time_stream(prepared: Path, steps: int) -> float:
    from stargan_cli.data.prepared import PreparedDataset

    stream = BatchStream(PreparedDataset(prepared).split("train"), 16, 0, 0, True)
    device = torch.device("cpu")
    stream.draw(0, device)
    start = time.perf_counter()
    for step in range(steps):
        stream.draw(step, device)
    return steps * 16 / (time.perf_counter() - start)


def time_reference(source: Path, steps: int) -> float:
    from torchvision import transforms as T

    transform = T.Compose(
        [
            T.RandomHorizontalFlip(),
            T.CenterCrop(178),
            T.Resize(128),
            T.ToTensor(),
            T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ]
    )
    files = sorted((source / "img_align_celeba").iterdir())
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(steps):
        batch = [transform(Image.open(files[i]).convert("RGB")) for i in rng.integers(0, len(files), 16)]
        torch.stack(batch)
    return steps * 16 / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp())
    source = make_download(work / "celeba", args.count)
    cores = os.cpu_count()
    all_cores = time_prepare(source, work / "prepared", cores)
    one = time_prepare(source, work / "prepared1", 1)
    print(
        f"prepare: {all_cores:.0f} images/s with {cores} processes, {one:.0f} with 1 ({all_cores / one:.2f}x)"
    )
    ours, reference = [], []
    for _ in range(5):  # interleaved repeats; medians, since a shared VM is noisy
        ours.append(time_stream(work / "prepared", 1000))
        reference.append(time_reference(source, 40))
    a, b = float(np.median(ours)), float(np.median(reference))
    print(
        f"training input, 128 px, batch 16, 1 process, median of 5: ours {a:.0f} images/s "
        f"(runs {', '.join(f'{v:.0f}' for v in ours)}), reference per-sample pipeline {b:.0f} images/s "
        f"({a / b:.1f}x)"
    )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, workdir {work}")


if __name__ == "__main__":
    main()
