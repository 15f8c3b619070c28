"""Inference building blocks shared by training samples, translate and evaluate (no training code here).

A translation is a list of passes, one per dataset, each with that dataset's mask (DESIGN.md contract 1):
a vector with two datasets active was never trained, so "blond and happy" is a CelebA pass then a RaFD pass.
"""

from __future__ import annotations

import torch
from torch import nn

from .labels import LabelSpace


@torch.no_grad()
def source_labels(
    discriminator: nn.Module, x: torch.Tensor, label_space: LabelSpace, dataset: int
) -> torch.Tensor:
    """The discriminator's classifier's reading of `dataset`'s attributes of x: (B, A) 0/1."""
    _, logits = discriminator(x)
    logits = logits[:, label_space.slice(dataset)].float()
    if label_space.datasets[dataset].kind == "single":
        return torch.nn.functional.one_hot(logits.argmax(1), logits.shape[1]).float()
    return (logits > 0).float()


@torch.no_grad()
def translate(
    generator: nn.Module, x: torch.Tensor, label_space: LabelSpace, passes: list[tuple[int, torch.Tensor]]
) -> torch.Tensor:
    """Apply each (dataset, target labels (B, A)) pass in order with that dataset's mask."""
    for dataset, labels in passes:
        x = generator(x, label_space.generator_label(dataset, labels.to(x.device, x.dtype)))
    return x


@torch.no_grad()
def single_target_columns(
    generator: nn.Module,
    discriminator: nn.Module | None,
    x: torch.Tensor,
    label_space: LabelSpace,
    known: dict[int, torch.Tensor],
) -> list[tuple[str, torch.Tensor]]:
    """Every single-attribute target of every dataset applied to x: [(attribute, images)].

    `known` gives the source labels of the datasets they are known for; the others are read by the
    discriminator's classifier (or taken as all zeros when there is none).
    """
    columns = []
    for d, spec in enumerate(label_space.datasets):
        source = known.get(d)
        if source is None:
            if discriminator is not None:
                source = source_labels(discriminator, x, label_space, d)
            else:
                source = x.new_zeros(x.shape[0], len(spec.attributes))
        for name, target in label_space.single_targets(d, source.float()):
            columns.append((name, translate(generator, x, label_space, [(d, target)])))
    return columns
