"""`stargan import-reference`: the reference implementation's released `.ckpt` weights -> our model files.

The reference saves bare state_dicts (`200000-G.ckpt`, `200000-D.ckpt`) whose key names our StarGAN
modules already use, so conversion is: a weights-only load (a file holding anything but tensors and
plain containers is refused and never unpickled), reading the sizes off the tensors, checking them
against the attributes and image size the user names, and writing self-describing safetensors files.
The released CelebA models know 5 attributes in this order: Black_Hair, Blond_Hair, Brown_Hair, Male,
Young; 128 and 256 pixel versions exist.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ..checkpoint import ModelInfo, load_weights, save_model
from ..data.readers.celeba import HAIR_COLOURS
from ..errors import CheckpointError
from ..labels import DatasetLabels, LabelSpace
from ..models.stargan import StarGANConfig, build
from .spec import Importer
from .weights import load_reference_state

CELEBA_RELEASED = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")


def _need(state: dict[str, torch.Tensor], key: str, path: Path, what: str) -> torch.Tensor:
    if key not in state:
        raise CheckpointError(f"{path} has no {key!r}: it is not a reference StarGAN {what} checkpoint")
    return state[key]


def generator_sizes(state: dict[str, torch.Tensor], path: Path) -> tuple[int, int, int, int]:
    """(label count, g_conv_dim, g_down, g_repeat_num) read off the generator's tensors."""
    first = _need(state, "main.0.weight", path, "generator")
    if first.dim() != 4 or first.shape[1] <= 3:
        raise CheckpointError(
            f"{path}: main.0.weight has shape {tuple(first.shape)}, not a generator's first conv"
        )
    blocks = sorted(
        {int(m.group(1)) for k in state if (m := re.fullmatch(r"main\.(\d+)\.main\.0\.weight", k))}
    )
    if not blocks:
        raise CheckpointError(
            f"{path} has no residual blocks (main.N.main.0.weight): not a reference generator"
        )
    down = (blocks[0] - 3) // 3  # after conv-IN-ReLU (main.0..2), each down-sampling layer takes three
    return first.shape[1] - 3, first.shape[0], down, len(blocks)


def discriminator_sizes(state: dict[str, torch.Tensor], path: Path) -> tuple[int, int, int, int]:
    """(label count, image size, d_conv_dim, d_repeat_num) read off the discriminator's tensors."""
    classes = _need(state, "conv2.weight", path, "discriminator")
    first = _need(state, "main.0.weight", path, "discriminator")
    repeat = len([k for k in state if re.fullmatch(r"main\.\d+\.weight", k)])
    return classes.shape[0], classes.shape[-1] * 2**repeat, first.shape[0], repeat


def _label_space(attributes: tuple[str, ...], name: str) -> LabelSpace:
    hair = tuple(a for a in attributes if a in HAIR_COLOURS)
    return LabelSpace((DatasetLabels(name, attributes, "multi", (hair,) if len(hair) > 1 else ()),))


def import_reference(
    generator: str | Path,
    out: str | Path,
    discriminator: str | Path | None = None,
    image_size: int | None = None,
    attributes: tuple[str, ...] = CELEBA_RELEASED,
    dataset: str = "celeba",
) -> list[Path]:
    """Convert; returns the files written (generator.safetensors, and discriminator.safetensors)."""
    g_path = Path(generator)
    g_state = load_reference_state(g_path)
    labels, g_dim, g_down, g_repeat = generator_sizes(g_state, g_path)
    names = ", ".join(attributes)
    if labels != len(attributes):
        raise CheckpointError(
            f"{g_path} was trained on {labels} labels (its first conv takes 3 + {labels} channels), but "
            f"{len(attributes)} attributes were given ({names}); pass --attributes with {labels} names in "
            "the training order"
        )
    d_state, d_sizes = None, None
    if discriminator is not None:
        d_path = Path(discriminator)
        d_state = load_reference_state(d_path)
        d_sizes = discriminator_sizes(d_state, d_path)
        if d_sizes[0] != labels:
            raise CheckpointError(
                f"{d_path} classifies {d_sizes[0]} labels, the generator {g_path} takes {labels}: "
                "they are not from the same model"
            )
        if image_size is not None and image_size != d_sizes[1]:
            raise CheckpointError(
                f"--image-size {image_size} was given, but {d_path} was trained at {d_sizes[1]}x{d_sizes[1]} "
                f"(its conv2 kernel is {d_sizes[1] // 2 ** d_sizes[3]} after {d_sizes[3]} halvings); "
                f"pass --image-size {d_sizes[1]}"
            )
        image_size = d_sizes[1]
    if image_size is None:
        raise CheckpointError(
            "a generator alone does not tell its image size (it is fully convolutional); pass --image-size "
            "(128 or 256 for the released CelebA models) or --discriminator"
        )
    config = StarGANConfig(
        image_size=image_size,
        g_conv_dim=g_dim,
        g_down=g_down,
        g_repeat_num=g_repeat,
        d_conv_dim=d_sizes[2] if d_sizes else 64,
        d_repeat_num=d_sizes[3] if d_sizes else 6,
    )
    label_space = _label_space(tuple(attributes), dataset)
    step = int(m.group(1)) if (m := re.match(r"(\d+)-[GD]\.ckpt$", g_path.name)) else 0
    networks = build(config, label_space)
    g_module, d_module = networks["generator"], networks["discriminator"]
    out = Path(out)
    written = []
    for role, module, state, path in (
        ("generator", g_module, g_state, g_path),
        ("discriminator", d_module, d_state, Path(discriminator) if discriminator else None),
    ):
        if state is None:
            continue
        load_weights(module, path, state)
        written.append(
            save_model(
                out / f"{role}.safetensors",
                module,
                ModelInfo("stargan", config, label_space, step, role, resize="bilinear"),
            )
        )
    return written


IMPORTER = Importer(
    convert=lambda r: import_reference(
        r.file, r.out, r.discriminator, r.image_size, r.attributes or CELEBA_RELEASED
    ),
    takes=("discriminator", "image_size", "attributes"),
    holds="a StarGAN -G.ckpt is one multi-domain generator; --attributes names its domains",
    next_flags=lambda r: "--to blond",
)
