"""`stargan import-reference --method cyclegan`: the reference CycleGAN's released generators -> model files.

The reference (`junyanz/pytorch-CycleGAN-and-pix2pix`) releases one `ResnetGenerator` per direction
(`horse2zebra.pth`, `zebra2horse.pth`, `style_monet.pth`, ...) as bare state_dicts whose names our
`models/cyclegan.py` networks use. The file is read with a weights-only load (anything but tensors is
refused, never unpickled); files saved before PyTorch 0.4 carry `running_mean`, `running_var` and
`num_batches_tracked` for instance-norm layers that compute nothing, and those are dropped, as the
reference's own loader does. Widths and block counts are read off the tensors. The model translates
--from -> --to (domain A -> B); `--reverse` adds the other direction's file.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..models.cyclegan import CycleGANConfig, build
from .spec import Importer
from .two_domain import check_domains, write_generators
from .weights import load_reference_state


def generator_state(path: Path) -> tuple[dict[str, torch.Tensor], int, int]:
    """The generator's tensors, its ngf and its residual block count (instance-norm statistics of old files
    are dropped when they are loaded: checkpoint.load_weights)."""
    state = load_reference_state(path)
    first = state.get("model.1.weight")
    if first is None or first.dim() != 4 or tuple(first.shape[1:]) != (3, 7, 7):
        raise CheckpointError(
            f"{path} has no 7x7 first convolution model.1.weight: it is not a reference CycleGAN "
            "ResnetGenerator (the --method stargan files are -G.ckpt)"
        )
    blocks = {
        int(m.group(1)) for k in state if (m := re.fullmatch(r"model\.(\d+)\.conv_block\.1\.weight", k))
    }
    if not blocks:
        raise CheckpointError(
            f"{path} has no residual blocks (model.N.conv_block.1.weight): not a ResnetGenerator"
        )
    return state, first.shape[0], len(blocks)


def import_cyclegan(
    generator: str | Path,
    out: str | Path,
    source: str,
    target: str,
    reverse: str | Path | None = None,
    image_size: int = 256,
) -> list[Path]:
    """Convert; returns the files written (generator.safetensors, and generator_b.safetensors)."""
    check_domains(source, target, "a CycleGAN generator", "--from horse --to zebra")
    files = {"generator": Path(generator)} | ({"generator_b": Path(reverse)} if reverse else {})
    states = {role: generator_state(path) for role, path in files.items()}
    _, ngf, blocks = states["generator"]
    for role, (_, other_ngf, other_blocks) in states.items():
        if (other_ngf, other_blocks) != (ngf, blocks):
            raise CheckpointError(
                f"{files[role]} has {other_blocks} blocks of width {other_ngf}, {files['generator']} "
                f"{blocks} of {ngf}: they are not the two directions of one model"
            )
    config = CycleGANConfig(image_size=image_size, ngf=ngf, n_blocks=blocks, domains=(source, target))
    loaded = {role: (files[role], state) for role, (state, _, _) in states.items()}
    return write_generators("cyclegan", build, config, loaded, out, resize="bicubic")  # its transforms.Resize


IMPORTER = Importer(
    convert=lambda r: import_cyclegan(r.file, r.out, r.source, r.target, r.reverse, r.image_size or 256),
    takes=("image_size", "from", "to", "reverse"),
    holds="a CycleGAN .pth holds one generator (--reverse gives the other direction's)",
    next_flags=lambda r: f"--to {r.target} --no-detect",
)
