"""StarGAN v2's released networks (`expr/checkpoints/afhq/100000_nets_ema.ckpt`: one torch.save dict of the
EMA generator, mapping_network, style_encoder, and the landmark network `fan`) -> our model files.

The sizes are read from the tensors (first width, depth, whether the high-pass branch is there, style and
noise sizes, the number of domains); the image size is --image-size (the released files: 256). The domains
have no names in the file: --attributes names them in the order of the training folders (sorted: AFHQ's
cat,dog,wild). Files trained before April 2021 have no `hpf.filter` (a constant; rebuilt). A model with the
high-pass branch (CelebA-HQ's, w_hpf 1) translates through masks from the landmark network of wing.ckpt,
which this version does not run: it is refused in one line rather than imported to translate differently.
The released weights are CC BY-NC 4.0 (NAVER Corp.): non-commercial use, with attribution.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

from ..checkpoint import ModelInfo, load_weights, save_model
from ..errors import CheckpointError, ConfigError
from ..labels import DatasetLabels, LabelSpace
from ..models.stargan_v2 import StarGANv2Config, build
from .spec import Importer, ImportRequest
from .weights import as_state_dict, load_pickled_tensors

ROLES = ("generator", "mapping_network", "style_encoder")


def _count(state: dict, pattern: str) -> int:
    return len({m.group(1) for k in state if (m := re.fullmatch(pattern, k))})


def infer_config(states: dict[str, dict], image_size: int, path: Path) -> StarGANv2Config:
    """The model config the tensors describe, at `image_size`."""
    g, f = states["generator"], states["mapping_network"]
    try:
        dim_in = g["from_rgb.weight"].shape[0]
        widths = [
            g[f"encode.{i}.conv2.weight"].shape[0] for i in range(_count(g, r"encode\.(\d+)\.conv2\.weight"))
        ]
        style_dim, latent_dim = g["decode.0.norm1.fc.weight"].shape[1], f["shared.0.weight"].shape[1]
    except KeyError as exc:
        raise CheckpointError(
            f"{path} has no {exc.args[0]}: not a StarGAN v2 generator and mapping network"
        ) from None
    down = len(widths) - 2
    base = int(math.log2(image_size)) - 4
    if down not in (base, base + 1):
        raise CheckpointError(
            f"{path}: its generator downsamples {down} times, which fits no {image_size} px model; pass the "
            "--image-size it was trained at (the released files: 256)"
        )
    return StarGANv2Config(image_size=image_size, style_dim=style_dim, latent_dim=latent_dim,
                           max_conv_dim=max(widths), w_hpf=float(down == base + 1),
                           dim_in=None if dim_in == 2**14 // image_size else dim_in)  # fmt: skip


def import_stargan_v2(request: ImportRequest) -> list[Path]:
    """Convert; returns the files written (generator, mapping_network, style_encoder .safetensors)."""
    path = Path(request.file)
    bundle = load_pickled_tensors(path)
    if not isinstance(bundle, dict) or not set(ROLES) <= set(bundle):
        raise CheckpointError(
            f"{path} is not a StarGAN v2 *_nets_ema.ckpt (one dict of generator, mapping_network, style_encoder "
            "and fan)"
        )
    states = {role: as_state_dict(bundle[role], path, f" ['{role}']") for role in ROLES}
    config = infer_config(states, request.image_size or 256, path)
    if config.w_hpf > 0:
        raise CheckpointError(
            f"{path} is a model with the high-pass branch (w_hpf 1, as CelebA-HQ's): its translations use masks "
            "from the landmark network of wing.ckpt, which this stargan does not run yet; AFHQ-style files import"
        )
    heads = _count(states["mapping_network"], r"unshared\.(\d+)\.0\.weight")
    names = request.attributes
    if len(names) != heads:
        raise ConfigError(
            f"{path} translates between {heads} domains; name them with --attributes in the order of its "
            f"training folders, sorted (AFHQ: --attributes cat,dog,wild)"
        )
    space = LabelSpace((DatasetLabels(path.parent.name or "domains", names, "single"),))
    config = replace(config, domains=names)
    networks = build(config, space)
    step = int(m.group(1)) if (m := re.match(r"(\d+)_", path.name)) else 0
    written = []
    for role in ROLES:
        load_weights(networks[role], path, states[role], model=f"{path}['{role}']")
        info = ModelInfo("stargan_v2", config, space, step, role, weights="ema")
        written.append(save_model(Path(request.out) / f"{role}.safetensors", networks[role], info))
    return written


IMPORTER = Importer(
    convert=import_stargan_v2,
    takes=("image_size", "attributes"),
    holds="a StarGAN v2 *_nets_ema.ckpt holds the generator, mapping network and style encoder",
    next_flags=lambda r: f"--to {r.attributes[0] if r.attributes else 'dog'} --seed 0 --no-detect",
)
