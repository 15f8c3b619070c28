"""Inference building blocks shared by training samples, translate and evaluate (no training code here).

They work on a method's `Translator` (models/spec.py), built from its networks, so every method's
samples, translations and scores go through the same code. A translation is a list of passes, one per
dataset (docs/design.md, contract 1): a label vector with two datasets active was never trained, so "blond and
happy" is a CelebA pass then a RaFD pass.
"""

from __future__ import annotations

import numpy as np
import torch

from .images import heatmap_overlay
from .models.spec import Guide, Translator


@torch.no_grad()
def translate(
    translator: Translator,
    x: torch.Tensor,
    passes: list[tuple[int, torch.Tensor]],
    guide: Guide | None = None,
) -> torch.Tensor:
    """Apply each (dataset, target labels (B, A)) pass in order; `guide` only for a method that takes one."""
    for dataset, labels in passes:
        x = (
            translator.translate(x, dataset, labels)
            if guide is None
            else translator.translate(x, dataset, labels, guide)
        )
    return x


@torch.no_grad()
def single_target_columns(
    translator: Translator, x: torch.Tensor, known: dict[int, torch.Tensor], attention: bool = False
) -> list[tuple[str, torch.Tensor]]:
    """Every single-attribute target of every dataset applied to x: [(attribute, images)].

    `known` gives the source labels of the datasets they are known for; the others are read by the model
    where it can (e.g. StarGAN's discriminator), or taken as all zeros. With `attention`, each translation
    is followed by its attention map over x, for models that have one ("<attribute> attention").
    """
    label_space = translator.label_space
    columns = []
    for d, spec in enumerate(label_space.datasets):
        source = known.get(d)
        if source is None:
            source = translator.read_source(x, d)
        if source is None:
            source = x.new_zeros(x.shape[0], len(spec.attributes))
        for name, target in model_targets(translator, d, source.float()):
            columns.append((name, translator.translate(x, d, target)))
            heat = translator.attention(x, d, target) if attention else None
            if heat is not None:
                columns.append((f"{name} attention", heatmap_overlay(x, heat)))
    return columns


def sample_columns(
    translator: Translator, x: torch.Tensor, known: dict[int, torch.Tensor], attention: bool = False
) -> list[tuple[str, torch.Tensor]]:
    """The columns of a sample grid after the input column (training samples, translate --grid, evaluate's
    picture): the method's own (its translator's optional `columns`, e.g. several sampled styles per
    target), else every single target (single_target_columns)."""
    own = getattr(translator, "columns", None)
    return (
        own(x, known, attention)
        if own is not None
        else single_target_columns(translator, x, known, attention)
    )


def model_targets(
    translator: Translator, dataset: int, source: torch.Tensor
) -> list[tuple[str, torch.Tensor]]:
    """The single-attribute targets of `dataset` (LabelSpace.single_targets) that the model translates to:
    all of them for StarGAN, a two-domain model's own."""
    names = translator.targets(dataset)
    return [(n, t) for n, t in translator.label_space.single_targets(dataset, source) if n in names]


def covered_rows(translator: Translator, dataset: int, labels: np.ndarray) -> np.ndarray:
    """The rows of (N, A) labels of `dataset` that the model has a target for (all of them for StarGAN;
    a two-domain model: the images of its two domains), in order."""
    source = torch.from_numpy(np.asarray(labels, np.float32))
    covered = torch.zeros(len(source), dtype=torch.bool)
    for _, target in model_targets(translator, dataset, source):
        covered |= translator.covers(dataset, source, target).cpu()
    return np.flatnonzero(covered.numpy())
