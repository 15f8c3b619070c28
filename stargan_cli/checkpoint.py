"""Checkpoints (docs/design.md, contract 3): self-describing safetensors files and the training state.

- `<network>.safetensors`, one per network of the method (its `MODEL.networks`, e.g. `generator` and
  `discriminator`): weights plus string metadata under `stargan.*` keys (method, its model config, label
  space, step, which network, and whether the weights are the trained ones or their moving average), from
  which that network is rebuilt alone. `generator.safetensors` is the entry file of inference; the
  method's other exported networks lie beside it.
- `runs/<run>/checkpoints/step-0000000/`: every network, `optimizer.pt` (optimiser, scaler and RNG
  state; plain tensors and numbers, loaded with weights_only=True) and `state.json` (step, config hash,
  the files' names). With `train.ema`, `<network>.ema.safetensors` beside each generator holds its
  average. Written to a temporary directory and renamed, so a crash never leaves a broken checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from .config import build_dataclass
from .errors import CheckpointError, ConfigError, LabelError
from .files import FILE_MODE, cannot_write, failpoint, replaced
from .labels import LabelSpace
from .methods import Method, registry
from .version import __version__

FORMAT_VERSION = "1"
ENTRY = "generator"  # the entry file of inference: <run>/generator.safetensors
LEGACY_NETWORKS = ("generator", "discriminator")  # checkpoints whose state.json does not list them
WEIGHTS = ("trained", "ema")  # `stargan.weights`: the trained weights, or their moving average (train.ema)
EMA_SUFFIX = ".ema"  # a checkpoint's `<network>.ema.safetensors`
RESIZE_FILTERS = ("bilinear", "bicubic", "lanczos", "box")  # `stargan.resize` (data/decode.py's FILTERS)
# stored averages of norm layers; no network here normalises with them (StarGAN keeps them for its
# reference's files and never reads them)
NORM_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")


@dataclass
class ModelInfo:
    """What the metadata of a model file says."""

    architecture: str  # the method's name (stargan_cli.methods.METHODS)
    config: Any  # the method's model config dataclass
    label_space: LabelSpace
    step: int
    role: str
    weights: str = "trained"  # or "ema"
    # the filter the training images were resized with (the dataset's, e.g. bilinear for CelebA), so that
    # translate cuts faces the same way; "" = unknown (files of earlier versions: translate uses lanczos)
    resize: str = ""

    def metadata(self) -> dict[str, str]:
        return {
            **({"stargan.resize": self.resize} if self.resize else {}),
            "stargan.format_version": FORMAT_VERSION,
            "stargan.architecture": self.architecture,
            "stargan.model_config": json.dumps(asdict(self.config), sort_keys=True),
            "stargan.label_space": self.label_space.to_json(),
            "stargan.image_size": str(self.config.image_size),
            "stargan.step": str(self.step),
            "stargan.role": self.role,
            "stargan.weights": self.weights,
            "stargan.version": __version__,
        }

    @property
    def method(self) -> Method:
        return registry()[self.architecture]

    def build(self) -> nn.Module:
        """This file's network, freshly initialised."""
        return self.method.model.build(self.config, self.label_space)[self.role]

    def at(self, step: int, role: str | None = None, weights: str = "trained") -> ModelInfo:
        return ModelInfo(
            self.architecture, self.config, self.label_space, step, role or self.role, weights, self.resize
        )


def _atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    with replaced(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)
        os.chmod(tmp, FILE_MODE)  # safetensors creates its files readable by their owner only (0o600)


def save_model(path: str | Path, module: nn.Module, info: ModelInfo) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(path, exc) from None
    _atomic_save(module.state_dict(), path, info.metadata())
    return path


def read_info(path: str | Path) -> ModelInfo:
    """Parse and check the metadata of a model file (no weights are read)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"model file {path} not found")
    try:
        with safe_open(str(path), "pt") as handle:
            meta = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors file ({exc})") from None
    return parse_info(meta, path)


def parse_info(meta: dict[str, str], path: Path) -> ModelInfo:
    """The `stargan.*` metadata of a model file (safetensors or ONNX) -> ModelInfo, checked."""
    version = meta.get("stargan.format_version")
    if version is None:
        raise CheckpointError(
            f"{path} has no stargan metadata; reference .ckpt files are converted with `stargan import-reference`"
        )
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format {version}; this stargan reads {FORMAT_VERSION}")
    name = meta.get("stargan.architecture", "")
    if name not in registry():
        raise CheckpointError(
            f"{path} holds a {name!r} model; this stargan knows {', '.join(registry())}. Upgrade stargan, or install "
            "the package that defines the method (or name it in $STARGAN_METHODS)"
        )
    method = registry()[name]
    try:
        config = build_dataclass(method.model.config, json.loads(meta["stargan.model_config"]), "")
        label_space = LabelSpace.from_json(meta["stargan.label_space"])
        step = int(meta.get("stargan.step", "0"))
    except (KeyError, ValueError, TypeError, AttributeError, ConfigError, LabelError) as exc:
        raise CheckpointError(
            f"{path} has damaged stargan metadata ({exc.__class__.__name__}: {exc})"
        ) from None
    role = meta.get("stargan.role", ENTRY)
    if role not in method.model.networks and role not in method.model.onnx_graphs:  # a network, or a path
        raise CheckpointError(
            f"{path} holds a network {role!r} that a {name} model does not have "
            f"({', '.join(method.model.networks)}); it was written by another stargan version"
        )
    weights = meta.get("stargan.weights", "trained")  # 0.1.0 files have no EMA
    if weights not in WEIGHTS:
        raise CheckpointError(f"{path} has damaged stargan metadata (weights {weights!r})")
    resize = meta.get("stargan.resize", "")
    if resize and resize not in RESIZE_FILTERS:
        raise CheckpointError(f"{path} has damaged stargan metadata (resize {resize!r})")
    return ModelInfo(name, config, label_space, step, role, weights, resize)


def load_weights(
    module: nn.Module,
    path: str | Path,
    state: dict[str, torch.Tensor] | None = None,
    model: str = "the model its metadata describes",
) -> None:
    """Load weights by name; a missing, unexpected or mis-shaped tensor is a CheckpointError naming it (and
    `model`, what the network was built from)."""
    try:
        state = load_file(str(path)) if state is None else state
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors file ({exc})") from None
    expected = module.state_dict()
    # stored averages the network does not keep: files saved before PyTorch 0.4, and UNIT models imported by
    # earlier versions, carry them for instance norms that normalise every image by its own statistics;
    # the references' own loaders drop them too
    state = {k: v for k, v in state.items() if k in expected or k.rsplit(".", 1)[-1] not in NORM_STATISTICS}
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong:
        parts = [
            f"missing {missing[:3]}" if missing else "",
            f"unexpected {unexpected[:3]}" if unexpected else "",
            f"wrong shapes {wrong[:3]}" if wrong else "",
        ]
        raise CheckpointError(f"{path} does not fit {model}: {'; '.join(p for p in parts if p)}")
    broken = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:
        raise CheckpointError(
            f"{path} holds non-finite weights (NaN or infinity) in {', '.join(broken[:3])}: its training "
            "diverged; use an earlier checkpoint"
        )
    module.load_state_dict(state, strict=False)


def model_file(path: str | Path, role: str = ENTRY) -> Path:
    """A run directory or a model file -> the model file of `role` (the entry file's sibling)."""
    path = Path(path)
    if path.is_dir():
        candidate = path / f"{role}.safetensors"
        if role == ENTRY and not candidate.is_file():
            raise CheckpointError(
                f"{path} has no {role}.safetensors; finish training or run `stargan export {path}` first"
            )
        return candidate
    if role != ENTRY:
        return path.with_name(f"{role}{path.suffix}")
    return path


def load_network(file: str | Path) -> tuple[nn.Module, ModelInfo]:
    """Rebuild the network of one model file from its metadata alone and load its weights."""
    info = read_info(file)
    module = info.build()
    load_weights(module, file)
    return module.eval(), info


def load_model(path: str | Path, role: str = ENTRY) -> tuple[nn.Module, ModelInfo]:
    """The network `role` of a run directory or beside a model file."""
    file = model_file(path, role)
    module, info = load_network(file)
    if info.role != role:
        raise CheckpointError(f"{file} holds a {info.role}, expected a {role}")
    return module, info


def load_exported(path: str | Path, optional: bool = True, loader=None) -> tuple[dict, ModelInfo]:
    """The entry file of `path` (a run directory or a model file) and its method's other exported networks
    beside it: {name: network}, and the entry file's info. A network the method needs must be there; the
    others are read when present (and `optional`). `loader` (path, role) -> (network, info) reads
    another format (ONNX)."""
    loader = loader or load_model
    entry, info = loader(path, ENTRY)
    model = info.method.model
    networks = {ENTRY: entry}
    for role in model.exported[1:]:
        if not optional and role not in model.needed:
            continue
        file = model_file(path, role)
        if not file.is_file():
            if role in model.needed:
                raise CheckpointError(
                    f"{file} is missing; a {info.architecture} model needs it beside {ENTRY}"
                )
            continue
        networks[role], other = loader(path, role)
        if other.label_space != info.label_space or other.architecture != info.architecture:
            raise CheckpointError(
                f"{file} belongs to another model than {model_file(path, ENTRY)} (trained on "
                f"{other.label_space.describe()}, not {info.label_space.describe()}); export them together "
                "with `stargan export`"
            )
    return networks, info


# ----- training state ------------------------------------------------------------------------------------
def step_dir(run_dir: Path, step: int) -> Path:
    return run_dir / "checkpoints" / f"step-{step:07d}"


def save_training_state(
    run_dir: Path,
    step: int,
    networks: dict[str, tuple[nn.Module, ModelInfo]],
    optimizer_state: dict[str, Any],
    state: dict[str, Any],
    keep: int,
) -> Path:
    final = step_dir(run_dir, step)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for role, (module, info) in networks.items():
        save_model(tmp / f"{role}.safetensors", module, info)
    torch.save(optimizer_state, tmp / "optimizer.pt")
    state = {"step": step, "networks": list(networks), **state}
    (tmp / "state.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
    failpoint(f"checkpoint-{step}-written")  # everything written, not yet renamed
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in complete_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def complete_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoint directories with every file present, oldest first."""
    found = []
    for path in sorted((run_dir / "checkpoints").glob("step-???????")):
        names = checkpoint_networks(path)
        needed = ["optimizer.pt", *(f"{n}.safetensors" for n in names or ())]
        if names and all((path / n).is_file() for n in needed):
            found.append(path)
    return found


def checkpoint_networks(path: Path) -> tuple[str, ...] | None:
    """The networks a checkpoint directory holds, from its state.json (None: unreadable or missing)."""
    try:
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict):
        return None
    names = state.get("networks", LEGACY_NETWORKS)
    return (
        tuple(names) if isinstance(names, list | tuple) and all(isinstance(n, str) for n in names) else None
    )


def latest_checkpoint(run_dir: Path) -> Path:
    found = complete_checkpoints(run_dir)
    if not found:
        raise CheckpointError(
            f"{run_dir} has no complete checkpoint to resume from (checkpoints/step-*/ with every network, "
            "optimizer.pt and state.json); start a new run instead"
        )
    return found[-1]


def resume_point(run_dir: Path) -> Path | None:
    """The checkpoint to resume `run_dir` from, or None for a run stopped before it completed one (killed
    during set-up, or while its first checkpoint was still a temporary folder): that one starts again from
    step 0. A damaged checkpoint newer than the last complete one is skipped with a warning."""
    from .console import warn

    complete = complete_checkpoints(run_dir)
    saved = [p for p in sorted((run_dir / "checkpoints").glob("step-???????")) if p.is_dir()]
    damaged = [p for p in saved if p not in complete]
    if not complete:
        if damaged:
            raise CheckpointError(
                f"{run_dir} has checkpoints but none complete ({', '.join(p.name for p in damaged)}: a network, "
                "optimizer.pt or a readable state.json missing); start a new run instead"
            )
        return None
    newer = [p.name for p in damaged if p.name > complete[-1].name]
    if newer:
        warn(f"{', '.join(newer)} in {run_dir}/checkpoints is damaged; resuming from {complete[-1].name}")
    return complete[-1]


def load_optimizer_state(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path / "optimizer.pt", map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure here means a damaged file
        raise CheckpointError(
            f"{path / 'optimizer.pt'} cannot be read safely ({exc}); resume from an older step"
        ) from None
