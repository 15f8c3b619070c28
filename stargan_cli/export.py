"""`stargan export`: the self-describing inference files of a run, checked after writing.

The files are those of the method's exported networks (StarGAN: generator and discriminator, whose
classifier `translate` uses to read source attributes), from the run's last complete checkpoint; a
generator trained with `train.ema` is exported as its moving average (metadata `stargan.weights = ema`).
safetensors (default): each network is rebuilt from the written file's metadata alone and must reproduce
the checkpoint's outputs exactly on its example inputs. onnx: `<network>.onnx`, each checked against
PyTorch through onnxruntime (onnx_models.py); the largest difference is reported and must be below 1e-4.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoint import EMA_SUFFIX, ENTRY, latest_checkpoint, load_model, load_network, read_info, save_model
from .errors import CheckpointError
from .files import cannot_write


@dataclass
class Exported:
    files: list[Path]
    step: int
    max_abs_diff: float


FORMATS = ("safetensors", "onnx")


def export(run: str | Path, out: str | Path | None = None, fmt: str = "safetensors") -> Exported:
    """Every exported network of `run` into `out` (default: the run folder). The files are written and
    checked in a temporary folder beside `out` and moved into it only when all of them passed: an export
    that fails part way changes nothing there, and leaves no folder it created."""
    if fmt not in FORMATS:
        raise CheckpointError(f"export format {fmt!r} is not available; use {' or '.join(FORMATS)}")
    run = Path(run)
    source = latest_checkpoint(run) if (run / "checkpoints").is_dir() else run
    folder = Path(out) if out else run
    roles = read_info(source / f"{ENTRY}.safetensors").method.model.exported
    staging = folder.parent / f".{folder.name}.export-{os.getpid()}"
    try:
        staging.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(folder, exc) from None
    try:
        exported = (_export_onnx if fmt == "onnx" else _export_safetensors)(source, staging, roles)
        try:
            folder.mkdir(exist_ok=True)
            files = []
            for file in exported.files:
                os.replace(file, folder / file.name)
                files.append(folder / file.name)
        except OSError as exc:
            raise cannot_write(folder, exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Exported(files, exported.step, exported.max_abs_diff)


def _export_safetensors(source: Path, folder: Path, roles: tuple[str, ...]) -> Exported:
    files, step = [], 0
    for role in roles:
        module, info = load_network(_weights_file(source, role))
        files.append(save_model(folder / f"{role}.safetensors", module, info))
        # rebuild from the written file alone and compare its outputs on the method's example inputs
        rebuilt, _ = load_model(files[-1], role)
        example = info.method.model.signatures[role].example
        inputs = example(info.config, info.label_space, 2, torch.Generator().manual_seed(0))
        with torch.no_grad():
            diff = max(
                (a - b).abs().max().item()
                for a, b in zip(_outputs(rebuilt(*inputs)), _outputs(module(*inputs)), strict=True)
            )
        if diff != 0.0:
            raise CheckpointError(f"the exported {role} differs from the checkpoint (max |diff| {diff:g})")
        step = info.step
    return Exported(files, step, 0.0)


def _weights_file(source: Path, role: str) -> Path:
    """A network's file in a checkpoint or folder: its moving average when there is one."""
    average = source / f"{role}{EMA_SUFFIX}.safetensors"
    return average if average.is_file() else source / f"{role}.safetensors"


def _outputs(out) -> tuple[torch.Tensor, ...]:
    return out if isinstance(out, tuple) else (out,)


def _export_onnx(source: Path, folder: Path, roles: tuple[str, ...]) -> Exported:
    """Each exported network, then each whole path the method declares (ModelSpec.onnx_graphs)."""
    from .onnx_models import export_onnx

    files, worst, step, loaded = [], 0.0, 0, {}
    for role in roles:
        loaded[role] = load_network(_weights_file(source, role))
        module, info = loaded[role]
        path = folder / f"{role}.onnx"
        worst = max(worst, export_onnx(module, info, path))
        files.append(path)
        step = info.step
    for name, graph in info.method.model.onnx_graphs.items():
        module = graph.compose({n: loaded[n][0].eval() for n in graph.networks})
        path = folder / f"{name}.onnx"
        first = loaded[graph.networks[0]][1]  # its metadata: the first network's (its weights: EMA or not)
        worst = max(worst, export_onnx(module, dataclasses.replace(first, role=name), path))
        files.append(path)
    return Exported(files, step, worst)
