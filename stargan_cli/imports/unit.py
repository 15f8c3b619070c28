"""`stargan import-reference --method unit`: a UNIT `gen_*.pt` file -> model files.

The reference's master branch (`mingyuliutw/UNIT`, licence CC BY-NC-SA 4.0: non-commercial use only, for
its code and its weights alike) saves `gen_<iteration>.pt`: `{'a': gen_a.state_dict(), 'b':
gen_b.state_dict()}`, each a VAEGen whose `enc.*` and `dec.*` names our `models/unit.py` halves use. The
file is read with a weights-only load (anything but tensors is refused, never unpickled). The directions
are put together from the halves: `generator` (A -> B) = gen_a's encoder + gen_b's decoder, `generator_b`
= gen_b's encoder + gen_a's decoder. Widths, stages and residual blocks are read off the tensors. Master
shares no layers (`shared_layers = 0`). Its files from before PyTorch 0.4 carry the instance norms'
running statistics; the reference's test script drops them (`pytorch03_to_pytorch04`) and normalises
each image by its own statistics, and so does loading here (checkpoint.load_weights), so translations
match the reference's.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..models.unit import UNITConfig, build
from .spec import Importer
from .two_domain import check_domains, write_generators
from .weights import as_state_dict, load_pickled_tensors


def vaegen_sizes(state: dict[str, torch.Tensor], where: str) -> tuple[int, int, int]:
    """(dim, downsampling stages, residual blocks) read off a VAEGen's tensors."""
    first = state.get("enc.model.0.conv.weight")
    if first is None or tuple(first.shape[1:]) != (3, 7, 7) or not len(first):
        raise CheckpointError(
            f"{where} has no enc.model.0.conv.weight (3 -> dim, 7x7): not a UNIT VAEGen (gen_*.pt holds two)"
        )
    convolutions = [k for k in state if re.fullmatch(r"enc\.model\.\d+\.conv\.weight", k)]
    flat = [k for k in convolutions if state[k].dim() != 4]
    if flat:
        raise CheckpointError(
            f"{where}: {flat[0]} is a {state[flat[0]].dim()}-D tensor where a convolution's 4-D weight "
            "belongs: a damaged UNIT VAEGen"
        )
    stages = sum(state[k].shape[-1] == 4 for k in convolutions)  # the 4x4 stride-2 down-sampling layers
    blocks = {
        m.group(1)
        for k in state
        if (m := re.fullmatch(rf"enc\.model\.{stages + 1}\.model\.(\d+)\.model\.0\.conv\.weight", k))
    }
    if not stages or not blocks:
        raise CheckpointError(
            f"{where} has no {'down-sampling convolutions' if not stages else 'residual blocks'} where a "
            "UNIT VAEGen has them (enc.model.*): not a UNIT generator, or a damaged one"
        )
    return first.shape[0], stages, len(blocks)


def import_unit(
    gen: str | Path, out: str | Path, source: str, target: str, image_size: int | None
) -> list[Path]:
    """Convert; returns the files written (generator.safetensors, generator_b.safetensors)."""
    path = Path(gen)
    check_domains(source, target, "a UNIT model, as a and b of its training,", "--from summer --to winter")
    bundle = load_pickled_tensors(path)
    if not isinstance(bundle, dict) or not {"a", "b"} <= set(bundle):
        raise CheckpointError(
            f"{path} is not a UNIT gen_*.pt file (one dict of the two VAEGens 'a' and 'b'; dis_*.pt holds "
            "the discriminators, which translating does not use)"
        )
    states = {key: as_state_dict(bundle[key], path, f" ['{key}']") for key in ("a", "b")}
    sizes = {key: vaegen_sizes(state, f"{path} ['{key}']") for key, state in states.items()}
    if sizes["a"] != sizes["b"]:
        raise CheckpointError(f"{path}: gen a and gen b differ in size {sizes['a']} vs {sizes['b']}")
    dim, stages, blocks = sizes["a"]
    size = image_size or 256
    # the discriminators are not in the file: the reference's (4 layers, 3 scales), fewer below 64 px
    layers, scales = 4, 3
    while 2 ** (layers + scales - 1) > size and layers + scales > 2:
        scales, layers = (scales - 1, layers) if scales > 1 else (scales, layers - 1)
    config = UNITConfig(
        image_size=size,
        dis_layers=layers,
        dis_scales=scales,
        dim=dim,
        n_downsample=stages,
        n_res=blocks,
        shared_layers=0,
        domains=(source, target),
    )

    def direction(encoder: str, decoder: str) -> dict[str, torch.Tensor]:
        halves = {k: v for k, v in states[encoder].items() if k.startswith("enc.")}
        return halves | {k: v for k, v in states[decoder].items() if k.startswith("dec.")}

    loaded = {"generator": (path, direction("a", "b")), "generator_b": (path, direction("b", "a"))}
    return write_generators("unit", build, config, loaded, out, resize="bilinear")  # its transforms.Resize


IMPORTER = Importer(
    convert=lambda r: import_unit(r.file, r.out, r.source, r.target, r.image_size),
    takes=("image_size", "from", "to"),
    holds="a unit file holds both generators",
    next_flags=lambda r: f"--to {r.target} --no-detect",
)
