"""`stargan export`: the self-describing inference files of a run, checked after writing.

safetensors (default): generator.safetensors (and discriminator.safetensors, whose classifier
`translate` uses to read source attributes) from the run's last complete checkpoint; the generator is
rebuilt from the written file's metadata alone and must reproduce the checkpoint's output exactly.
onnx: generator.onnx and discriminator.onnx, each checked against PyTorch through onnxruntime
(onnx_models.py); the largest difference is reported and must be below 1e-4.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoint import latest_checkpoint, load_model, save_model
from .errors import CheckpointError


@dataclass
class Exported:
    files: list[Path]
    step: int
    max_abs_diff: float


FORMATS = ("safetensors", "onnx")


def export(run: str | Path, out: str | Path | None = None, fmt: str = "safetensors") -> Exported:
    if fmt not in FORMATS:
        raise CheckpointError(f"export format {fmt!r} is not available; use {' or '.join(FORMATS)}")
    run = Path(run)
    source = latest_checkpoint(run) if (run / "checkpoints").is_dir() else run
    folder = Path(out) if out else run
    if fmt == "onnx":
        return _export_onnx(source, folder)
    files = []
    modules = {}
    for role in ("generator", "discriminator"):
        module, info = load_model(source / f"{role}.safetensors", role)
        modules[role] = module
        files.append(save_model(folder / f"{role}.safetensors", module, info))
    # rebuild from the written file alone and compare one forward pass
    rebuilt, info = load_model(files[0])
    generator = modules["generator"]
    x = (
        torch.rand(
            2, 3, info.config.image_size, info.config.image_size, generator=torch.Generator().manual_seed(0)
        )
        * 2
        - 1
    )
    c = torch.rand(2, info.label_space.generator_dim, generator=torch.Generator().manual_seed(1)).round()
    with torch.no_grad():
        diff = (rebuilt(x, c) - generator(x, c)).abs().max().item()
    if diff != 0.0:
        raise CheckpointError(f"the exported generator differs from the checkpoint (max |diff| {diff:g})")
    return Exported(files, info.step, diff)


def _export_onnx(source: Path, folder: Path) -> Exported:
    from .onnx_models import export_onnx

    folder.mkdir(parents=True, exist_ok=True)
    files, worst, step = [], 0.0, 0
    for role in ("generator", "discriminator"):
        module, info = load_model(source / f"{role}.safetensors", role)
        path = folder / f"{role}.onnx"
        worst = max(worst, export_onnx(module, info, path))
        files.append(path)
        step = info.step
    return Exported(files, step, worst)
