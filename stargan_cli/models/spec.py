"""What a method's model file declares (the inference side of a `methods.Method`).

Everything generic that touches networks (checkpoints, export, ONNX, translate, evaluate, training
samples) reads these fields and never a method's own names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from ..labels import LabelSpace

GUIDES = ("reference", "seed")  # what a method may take beside target labels (ModelSpec.guides)


@dataclass(frozen=True)
class Guide:
    """What steers a translation beyond its target labels, for methods that declare it (ModelSpec.guides):
    `reference`, model-size crops (1 or B, 3, S, S) in [-1, 1] whose style the output takes (they are of
    the target's domain), or else a sampled style: the noise of sample `sample` (0-based) of `seed`. The
    noise is the same for every image of a batch, so a seed means one style however the images are
    batched."""

    reference: torch.Tensor | None = None
    seed: int = 0
    sample: int = 0

    def noise(self, dim: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        """(1, dim) standard normal: draw `sample` of a CPU generator seeded with `seed`."""
        gen = torch.Generator().manual_seed(self.seed)
        return torch.randn(self.sample + 1, dim, generator=gen)[self.sample :].to(device, dtype)


class Translator(Protocol):
    """What translates, built from a method's networks (PyTorch modules or ONNX sessions alike).

        `translate` applies one pass: the targets `target` (B, A) of dataset `dataset` of the label space; a
        method that declares guides (ModelSpec.guides) also takes `guide` (a Guide, None for its default: the
        sample 0 of seed 0), the others are never given one.
        `read_source` gives the source attributes (B, A) 0/1 of that dataset as the model reads them from the
        images, or None when the method cannot (the caller then asks the user for them). `targets` names the
        single targets (LabelSpace.single_targets) the model translates to, and `covers` says which rows of
        (source, target) labels are pairs it was trained for: all of them for StarGAN; for a two-domain model,
        a source in one domain and a target in the other (models/domains.py). `attention` gives where the
        generator looks for that translation, a heatmap (B, 1, h, w), for methods that have one (U-GAT-IT's
        CAM), else None. Optionally, `controls(dataset)` gives the serve page's controls for a dataset where the
        method has its own (two-domain models: a choice of direction); without it the page builds them from
        the label space. Optionally, `columns(x, known, attention)` gives the columns of its sample grids
    (inference.sample_columns; default: every single target)."""

    label_space: LabelSpace

    def translate(
        self, x: torch.Tensor, dataset: int, target: torch.Tensor, guide: Guide | None = None
    ) -> torch.Tensor: ...

    def read_source(self, x: torch.Tensor, dataset: int) -> torch.Tensor | None: ...

    def targets(self, dataset: int) -> tuple[str, ...]: ...

    def covers(self, dataset: int, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...

    def attention(self, x: torch.Tensor, dataset: int, target: torch.Tensor) -> torch.Tensor | None: ...


# (model config, label space, batch size, random generator) -> example inputs of one network's forward
ExampleInputs = Callable[[Any, LabelSpace, int, torch.Generator], tuple[torch.Tensor, ...]]


@dataclass(frozen=True)
class Signature:
    """One exported network's call, as its ONNX file names it."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    example: ExampleInputs


@dataclass(frozen=True)
class OnnxGraph:
    """One ONNX file that holds a whole inference path through several exported networks (StarGAN v2's
    mapping network then generator, with an integer domain input), for deployment as a single graph;
    `stargan export --format onnx` writes it as `<name>.onnx` beside the networks' own files."""

    networks: tuple[str, ...]  # the exported networks it runs
    compose: Callable[[Mapping[str, nn.Module]], nn.Module]  # those networks -> one module: the path
    signature: Signature


@dataclass(frozen=True)
class ModelSpec:
    config: type  # the `[model]` section: a frozen dataclass with at least `image_size`
    networks: tuple[str, ...]  # every network's name: checkpoint file `<name>.safetensors`
    build: Callable[[Any, LabelSpace], dict[str, nn.Module]]  # (config, label space) -> networks by name
    # the networks written as inference files; the first is the entry file, so it is named "generator"
    # (`translate --model RUN` opens RUN/generator.safetensors and finds the rest from its metadata)
    exported: tuple[str, ...]
    needed: tuple[str, ...]  # those a translation cannot do without (the others are used when present)
    # (networks, label space, model config) -> what translates
    translator: Callable[[Mapping[str, Callable], LabelSpace, Any], Translator]
    signatures: dict[str, Signature]  # per exported network
    # (model config) -> what an image's height and width must be a multiple of, for `translate --native`
    multiple: Callable[[Any], int] = lambda config: 1
    # (model config) -> the first thing to change when a run does not fit in memory ("" = only the generic
    # advice: batch size, image size, precision), e.g. U-GAT-IT's 'set model.variant = "light", '
    memory_hint: Callable[[Any], str] = lambda config: ""
    # what it takes beside target labels (GUIDES): StarGAN v2 a reference image and a seed, others nothing
    guides: tuple[str, ...] = ()
    onnx_graphs: dict[str, OnnxGraph] = field(default_factory=dict)  # whole paths, by file name

    def __post_init__(self) -> None:
        assert set(self.guides) <= set(GUIDES), self.guides
        for name, graph in self.onnx_graphs.items():
            assert name not in self.networks and set(graph.networks) <= set(self.exported), name
        assert set(self.exported) <= set(self.networks) and set(self.needed) <= set(self.exported)
        assert set(self.signatures) == set(self.exported) and self.exported[0] == "generator"
