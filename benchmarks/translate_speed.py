"""Translation speed of `stargan translate` with the paper's 128 px networks (random weights: speed only).

1. A folder of 128 px face crops (--no-detect): images/s batched (--batch-size 16) against one at a time
   (--batch-size 1), interleaved repeats, medians, and their ratio.
2. One 1024x768 JPEG photo with a face: seconds for read + detect + cut + translate + paste + save (the
   model already loaded), split into stages; and the whole CLI process (Python start and model load too).

    python benchmarks/translate_speed.py [--images 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from stargan_cli.checkpoint import ModelInfo, save_model
from stargan_cli.data.readers.toyfaces import render, sample_face
from stargan_cli.faces import FaceDetector, cut, paste
from stargan_cli.imports.stargan import CELEBA_RELEASED, _label_space
from stargan_cli.models.stargan import StarGANConfig, build
from stargan_cli.photos import read_photo, write_photo
from stargan_cli.translate import LoadedModel, run

TARGETS = "blond,young=0"


def paper_model(folder: Path) -> Path:
    config = StarGANConfig()  # 128 px, G 64 channels / 6 blocks, D 64 / 6
    labels = _label_space(CELEBA_RELEASED, "celeba")
    torch.manual_seed(0)
    for role, module in build(config, labels).items():
        save_model(folder / f"{role}.safetensors", module, ModelInfo("stargan", config, labels, 0, role))
    return folder


def photo_with_face(path: Path) -> Path:
    canvas = np.full((768, 1024, 3), 90, np.uint8)
    canvas[200:520, 360:680] = render(sample_face(0, 1, 5, "celeba"), 320)
    Image.fromarray(canvas).save(path, quality=95)
    return path


def time_folder(folder: Path, model: Path, out: Path, batch: int) -> float:
    start = time.perf_counter()
    result = run([str(folder)], str(model), TARGETS, str(out), batch_size=batch, detect=False)
    elapsed = time.perf_counter() - start
    return len(result.written) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = paper_model(root / "model")
        crops = root / "crops"
        crops.mkdir()
        for i in range(args.images):
            Image.fromarray(render(sample_face(1, 1, i, "celeba"), 128)).save(crops / f"{i:04d}.png")
        time_folder(crops, model, root / "warm", 16)  # warm-up
        speeds: dict[int, list[float]] = {1: [], 16: []}
        for r in range(args.repeats):
            for batch in (16, 1) if r % 2 else (1, 16):
                speeds[batch].append(time_folder(crops, model, root / f"out{batch}", batch))
        one, batched = statistics.median(speeds[1]), statistics.median(speeds[16])
        print(f"folder of {args.images} 128 px crops, --no-detect, source read by D:")
        print(f"  batch 1:  {one:6.1f} img/s   (runs: {', '.join(f'{v:.1f}' for v in speeds[1])})")
        print(f"  batch 16: {batched:6.1f} img/s   (runs: {', '.join(f'{v:.1f}' for v in speeds[16])})")
        print(f"  ratio batched / one at a time: {batched / one:.2f}x")

        photo = photo_with_face(root / "photo.jpg")
        translator = LoadedModel.load(model)
        targets = translator.label_space.parse_targets(TARGETS)
        detector = FaceDetector()
        stages: dict[str, list[float]] = {
            k: [] for k in ("read", "detect", "cut", "translate", "paste", "save")
        }
        totals = []
        for _ in range(args.repeats + 1):
            t = [time.perf_counter()]
            image = read_photo(photo)
            t.append(time.perf_counter())
            regions = detector(image)
            t.append(time.perf_counter())
            crops_ = np.stack([cut(image, r, 128) for r in regions])
            t.append(time.perf_counter())
            from stargan_cli.images import to_tensor, to_uint8

            translated = to_uint8(translator.apply(to_tensor(crops_), targets, {}))
            t.append(time.perf_counter())
            result = image.copy()
            for region, before, after in zip(regions, crops_, translated, strict=True):
                paste(result, region, before, after)
            t.append(time.perf_counter())
            write_photo(result, root / "photo_out.jpg")
            t.append(time.perf_counter())
            for name, a, b in zip(stages, t, t[1:], strict=False):
                stages[name].append(b - a)
            totals.append(t[-1] - t[0])
        print(
            f"one 1024x768 JPEG, {len(regions)} face(s) found, model loaded (median of {args.repeats + 1}):"
        )
        print("  " + ", ".join(f"{k} {statistics.median(v) * 1000:.0f} ms" for k, v in stages.items()))
        print(f"  total {statistics.median(totals):.3f} s")
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "stargan_cli", "translate", str(photo), "--model", str(model), "--to", TARGETS,
             "--out", str(root / "cli")],
            check=True, capture_output=True,
        )  # fmt: skip
        print(
            f"  whole CLI process (Python start, imports, model load, the above): {time.perf_counter() - start:.2f} s"
        )


if __name__ == "__main__":
    main()
