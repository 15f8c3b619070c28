"""Reading a reference implementation's `torch.save` files safely: torch's weights-only unpickler (tensors
and plain containers only; anything else is refused without being unpickled), with one clear error line for
files that are not checkpoints at all."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from ..errors import CheckpointError


def load_pickled_tensors(path: Path):
    """A torch.save file -> its object, through torch's weights-only unpickler (tensors and plain
    containers only; anything else is refused without being unpickled)."""
    if path.is_dir():
        files = sorted(p.name for p in path.iterdir() if p.suffix in (".ckpt", ".pt", ".pth"))[:3]
        raise CheckpointError(
            f"{path} is a folder; give the checkpoint file itself"
            + (f" (it holds {', '.join(files)})" if files else "")
        )
    if not path.is_file():
        raise CheckpointError(f"{path} not found")
    with path.open("rb") as handle:
        pickled = handle.read(1) == b"\x80"  # a legacy torch.save file starts with a pickle PROTO opcode
    if not (pickled or zipfile.is_zipfile(path)):
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint (neither torch's zip format nor a pickle)"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise CheckpointError(
            f"{path} holds Python objects other than tensors, so it was refused without unpickling it "
            f"({first[:160]}); only the reference's plain state_dicts are imported"
        ) from None
    except Exception as exc:  # noqa: BLE001 - random bytes fail inside the unpickler in many ways
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint ({exc.__class__.__name__})"
        ) from None


def as_state_dict(state, path: Path, what: str = "") -> dict[str, torch.Tensor]:
    """{name: tensor} in fp32, a DataParallel `module.` prefix dropped; anything else is an error."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}{what} is not a state_dict (a mapping of names to tensors)")
    return {k.removeprefix("module."): v.float() if v.is_floating_point() else v for k, v in state.items()}


def load_reference_state(path: Path) -> dict[str, torch.Tensor]:
    """A reference .ckpt -> {name: tensor}, through torch's weights-only unpickler."""
    state = load_pickled_tensors(path)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    return as_state_dict(state, path)
