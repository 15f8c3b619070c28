"""`stargan info PATH`: what a run folder, a checkpoint folder, a model file (.safetensors or .onnx) or a
prepared dataset is, from its own metadata; nothing is trained or translated.

`describe` returns plain data (what `--json` prints); the command renders it as tables, one per section.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from .checkpoint import ENTRY, ModelInfo, checkpoint_networks, complete_checkpoints, read_info
from .data.prepared import PreparedDataset, is_prepared
from .errors import CheckpointError, StarganError
from .methods import registry


def _model(info: ModelInfo) -> dict[str, Any]:
    return {
        "method": info.architecture,
        "network": info.role,
        "weights": "moving average (train.ema)" if info.weights == "ema" else "trained",
        "step": info.step,
        "image size": info.config.image_size,
        "label space": info.label_space.describe(),
        "attributes": {d.name: f"{d.kind}: {', '.join(d.attributes)}" for d in info.label_space.datasets},
        "model config": {k: v for k, v in vars(info.config).items()},
    }


def _parameters(path: Path) -> int:
    """Trained numbers of a model file's network (parameters, not buffers such as norm statistics): its
    network built on the meta device from the file's metadata, so no weights are read."""
    info = read_info(path)
    with torch.device("meta"):
        network = info.build()
    return sum(p.numel() for p in network.parameters())


def model_file(path: Path) -> dict[str, Any]:
    if path.suffix == ".onnx":
        from .onnx_models import load_onnx

        role = _onnx_role(path)
        _, info = load_onnx(path, role)
        return {"kind": "ONNX model file", "path": str(path)} | _model(info) | {"bytes": path.stat().st_size}
    info = read_info(path)
    with safe_open(str(path), "pt") as handle:
        version = (handle.metadata() or {}).get("stargan.version", "?")
    return (
        {"kind": "model file", "path": str(path)}
        | _model(info)
        | {
            "parameters": f"{_parameters(path):,}",
            "written by": f"stargan {version}",
        }
    )


def _onnx_role(path: Path) -> str:
    import onnx

    try:
        meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    except Exception as exc:  # noqa: BLE001 - onnx raises several kinds for damaged files
        raise CheckpointError(f"{path} is not a readable ONNX file ({exc.__class__.__name__})") from None
    return meta.get("stargan.role", "generator")


def dataset(path: Path) -> dict[str, Any]:
    ds = PreparedDataset(path)
    m = ds.manifest
    return {
        "kind": "prepared dataset",
        "path": str(path),
        "name": ds.name,
        "labels": f"{ds.labels.kind}: {', '.join(ds.labels.attributes)}",
        "exclusive groups": [", ".join(g) for g in ds.labels.exclusive] or "none",
        "image size": ds.image_size,
        "splits": ds.split_sizes,
        "source": m.get("source", "?"),
        "preprocessing": m.get("preprocessing", {}),
        "skipped": m.get("skipped") or "none",
        "manifest sha256": ds.manifest_sha256,
        "written by": f"stargan {m.get('stargan_version', '?')}",
    }


def checkpoint_folder(path: Path) -> dict[str, Any]:
    names = checkpoint_networks(path)
    if names is None:
        raise CheckpointError(
            f"{path / 'state.json'} is damaged (not the JSON a checkpoint writes), so this checkpoint is "
            "incomplete; `stargan train --resume` skips it and resumes from the one before"
        )
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    out: dict[str, Any] = {"kind": "checkpoint", "path": str(path), "step": state.get("step")}
    files = {}
    for name in names:
        info = read_info(path / f"{name}.safetensors")
        files[name] = f"{_parameters(path / f'{name}.safetensors'):,} parameters"
        out.setdefault("method", info.architecture)
        for suffix in (".ema",):
            if (path / f"{name}{suffix}.safetensors").is_file():
                files[f"{name}{suffix}"] = "moving average"
    out["networks"] = files
    out["config hash"] = state.get("config_hash")
    losses = state.get("last_losses")
    if isinstance(losses, dict):
        out["last losses"] = {k: _rounded(v) for k, v in losses.items()}
    return out


def _rounded(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def model_folder(path: Path) -> dict[str, Any]:
    """A folder of model files without a run around it (`import-reference`, `export --out`): its entry
    file described, and every network file beside it."""
    entry = next(path / f"{ENTRY}{s}" for s in (".safetensors", ".onnx") if (path / f"{ENTRY}{s}").is_file())
    described = model_file(entry)
    out = {"kind": "model folder", "path": str(path)}
    out |= {k: v for k, v in described.items() if k not in ("kind", "path", "parameters")}
    if entry.suffix == ".safetensors":
        exported = registry()[described["method"]].model.exported
        roles = [r for r in exported if (path / f"{r}.safetensors").is_file()]
        out["networks"] = {r: f"{_parameters(path / f'{r}.safetensors'):,} parameters" for r in roles}
    else:
        out["networks"] = sorted(p.stem for p in path.glob("*.onnx"))
    return out


def run_folder(path: Path) -> dict[str, Any]:
    from .train.progress import read_metrics
    from .train.rundir import read_config

    recipe = read_config(path)
    checkpoints = complete_checkpoints(path)
    out: dict[str, Any] = {
        "kind": "run",
        "path": str(path),
        "method": recipe.model.architecture,
        "steps": f"{checkpoints[-1].name.removeprefix('step-').lstrip('0') or '0'} of {recipe.train.steps} "
        "(last complete checkpoint)"
        if checkpoints
        else f"no checkpoint yet, of {recipe.train.steps}",
        "precision": recipe.train.precision,
        "batch per process": recipe.data.batch_size,
        "ema": recipe.train.ema or "off",
        "datasets": {},
    }
    for folder in recipe.data.datasets:
        # relative paths are as training saw them: from here, or from the folder above runs/
        found = next((p for p in (Path(folder), path.parent.parent / folder) if is_prepared(p)), None)
        if found is None:
            out["datasets"][folder] = "not found (moved, or relative to another folder)"
            continue
        ds = PreparedDataset(found)
        out["datasets"][folder] = f"{ds.name}, {ds.split_sizes}, manifest sha256 {ds.manifest_sha256[:16]}"
    if checkpoints:
        out["networks"] = checkpoint_folder(checkpoints[-1])["networks"]
    entry = path / "generator.safetensors"
    if entry.is_file():
        out["model"] = model_file(entry)
    records, _ = read_metrics(path / "metrics.jsonl")
    if records:
        out["last logged"] = {k: _rounded(v) for k, v in records[-1].items()}
    return out


def describe(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise StarganError(f"{path} not found")
    if path.is_file():
        if path.suffix not in (".safetensors", ".onnx"):
            raise StarganError(
                f"{path} is not something stargan writes; info reads run folders, checkpoint folders, "
                ".safetensors and .onnx model files and prepared datasets"
            )
        return model_file(path)
    if is_prepared(path):
        return dataset(path)
    if (path / "config.json").is_file():
        return run_folder(path)
    if (path / "state.json").is_file():
        return checkpoint_folder(path)
    if any((path / f"{ENTRY}{suffix}").is_file() for suffix in (".safetensors", ".onnx")):
        return model_folder(path)
    raise StarganError(
        f"{path} is neither a run folder (config.json), a checkpoint (state.json), a folder of model files "
        f"({ENTRY}.safetensors or {ENTRY}.onnx) nor a prepared dataset (manifest.json)"
    )


def lines(value: Any, indent: str = "") -> list[str]:
    """A value of `describe`'s data as text lines, nested mappings indented."""
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if isinstance(v, dict):
                out += [f"{indent}{k}:"] + lines(v, indent + "  ")
            else:
                out.append(f"{indent}{k}: {', '.join(map(str, v)) if isinstance(v, list | tuple) else v}")
        return out
    if isinstance(value, list | tuple):
        return [f"{indent}{v}" for v in value]
    return [f"{indent}{value}"]
