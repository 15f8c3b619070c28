"""`stargan import-reference --method ugatit`: a U-GAT-IT PyTorch checkpoint -> model files.

The PyTorch reimplementation (`znxlwm/UGATIT-pytorch`) saves `<dataset>_params_<step>.pt` (and
`<dataset>_params_latest.pt`): one dict holding six state_dicts, `genA2B`, `genB2A`, `disGA`, `disGB`,
`disLA`, `disLB`, whose names our `models/ugatit.py` networks use. The file is read with a weights-only
load (anything but tensors is refused, never unpickled). The two generators become the model files
(`generator` = genA2B, A -> B; `generator_b` = genB2A); the discriminators are only read for their
sizes (the model's record of its configuration), since translating does not use them. Widths, residual blocks and the variant are read off the
tensors: a full generator's first MLP layer says its image size, a light one's does not (`--image-size`,
default 256, the reference's).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..models.ugatit import UGATITConfig, build
from .spec import Importer
from .two_domain import check_domains, write_generators
from .weights import as_state_dict, load_pickled_tensors

ROLES = {"generator": "genA2B", "generator_b": "genB2A"}
DISCRIMINATORS = ("disGA", "disGB", "disLA", "disLB")


def generator_sizes(state: dict[str, torch.Tensor], where: str) -> tuple[int, int, str, int | None]:
    """(ngf, residual blocks, variant, image size of a full generator) read off a generator's tensors."""
    first, fc = state.get("DownBlock.1.weight"), state.get("FC.0.weight")
    if first is None or fc is None or tuple(first.shape[1:]) != (3, 7, 7) or fc.dim() != 2 or not len(first):
        raise CheckpointError(
            f"{where} has no DownBlock.1.weight (3 -> ngf, 7x7) and FC.0.weight (a linear layer's 2-D "
            "weight): not a U-GAT-IT generator, or a damaged one"
        )
    ngf = first.shape[0]
    blocks = len({m.group(1) for k in state if (m := re.fullmatch(r"UpBlock1_(\d+)\.conv1\.weight", k))})
    if fc.shape[1] == 4 * ngf:
        return ngf, blocks, "light", None
    side = math.isqrt(fc.shape[1] // (4 * ngf))
    if side * side * 4 * ngf != fc.shape[1]:
        raise CheckpointError(
            f"{where}: FC.0.weight has {fc.shape[1]} inputs, neither light nor a full square map"
        )
    return ngf, blocks, "full", side * 4


def discriminator_sizes(state, where: str) -> tuple[int, int]:
    """(ndf, n_layers) of a discriminator: its `model` holds n_layers - 1 spectral-normed convolutions."""
    first = state.get("model.1.weight_orig") if isinstance(state, dict) else None
    if not isinstance(first, torch.Tensor) or first.dim() != 4:
        raise CheckpointError(
            f"{where} has no model.1.weight_orig (a convolution's 4-D weight): not a U-GAT-IT discriminator"
        )
    convs = sum(1 for k in state if re.fullmatch(r"model\.\d+\.weight_orig", k))
    return first.shape[0], convs + 1


def import_ugatit(
    params: str | Path, out: str | Path, source: str, target: str, image_size: int | None = None
) -> list[Path]:
    """Convert; returns the files written (generator.safetensors, generator_b.safetensors)."""
    path = Path(params)
    check_domains(source, target, "a U-GAT-IT model, as A and B of its training,", "--from selfie --to anime")
    bundle = load_pickled_tensors(path)
    missing = [
        k for k in (*ROLES.values(), *DISCRIMINATORS) if not isinstance(bundle, dict) or k not in bundle
    ]
    if missing:
        raise CheckpointError(
            f"{path} has no {', '.join(missing)}: not a U-GAT-IT *_params_*.pt file (one dict of genA2B, "
            "genB2A, disGA, disGB, disLA, disLB)"
        )
    states = {role: as_state_dict(bundle[key], path, f" [{key}]") for role, key in ROLES.items()}
    sizes = {role: generator_sizes(state, f"{path} [{ROLES[role]}]") for role, state in states.items()}
    if sizes["generator"] != sizes["generator_b"]:
        raise CheckpointError(
            f"{path}: genA2B and genB2A differ in size {sizes['generator']} vs {sizes['generator_b']}"
        )
    ngf, blocks, variant, full_size = sizes["generator"]
    if full_size and image_size and image_size != full_size:
        raise CheckpointError(
            f"{path} is a full U-GAT-IT at {full_size} px; --image-size {image_size} does not fit it"
        )
    ndf, n_global = discriminator_sizes(bundle["disGA"], f"{path} [disGA]")
    _, n_local = discriminator_sizes(bundle["disLA"], f"{path} [disLA]")
    config = UGATITConfig(
        image_size=full_size or image_size or 256,
        ngf=ngf,
        ndf=ndf,
        n_blocks=blocks,
        variant=variant,
        n_layers_global=n_global,
        n_layers_local=n_local,
        domains=(source, target),
    )
    loaded = {role: (path, state) for role, state in states.items()}
    return write_generators("ugatit", build, config, loaded, out, resize="bilinear")  # its transforms.Resize


IMPORTER = Importer(
    convert=lambda r: import_ugatit(r.file, r.out, r.source, r.target, r.image_size),
    takes=("image_size", "from", "to"),
    holds="a ugatit file holds all six networks",
    next_flags=lambda r: f"--to {r.target} --no-detect",
)
