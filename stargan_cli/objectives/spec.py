"""What a method's objective file declares (the training side of a `methods.Method`).

The training loop owns devices, optimisers, schedules, checkpoints, logging, samples and resume; it asks
the objective for everything that depends on the method:

- `streams` (a field of TrainingSpec): where the batches come from, one data stream each (StarGAN: every
  dataset; a two-domain method: the rows of domain A and those of domain B).
- `draw(rng, rows)`: the method's random numbers for one stream's batch, from the batch's own seeded
  generator (train/stream.py), drawn on the host after the data's flips and before its reframing, in a
  fixed order: a resumed run draws the same numbers, and no method shares a stream with another's data.
- `batches(draws, step)`: the method's batches (dataclasses whose tensors are on the device) from one
  draw of every stream: StarGAN one per dataset, CycleGAN one from the two domains' draws.
- `phases(step)`: the optimiser groups updated at this 1-based step, in order (e.g. D, then G when due).
- `forward(networks, batch, phases)`: work shared by the phases (e.g. G's translation, with its graph
  when G is updated), run once under autocast; returns a state dict that `loss` reads.
- `loss(phase, networks, batch, state, grad_scale)`: that group's whole loss, to be back-propagated
  once, and its logs (detached scalars, named `D/...`, `G/...` as in metrics.jsonl).
- `after_update(phase, networks)`: called after each optimiser step of a phase, for constraints on the
  weights (U-GAT-IT clips its generators' rho to [0, 1]); most methods do nothing.
- `state_dict()` / `load_state_dict(state)`: what the objective keeps between steps (CycleGAN's image
  pools), plain tensors saved in every checkpoint so that a resumed run continues bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from ..labels import LabelSpace

GROUPS = ("generator", "discriminator")  # optimiser groups: learning rates train.g_lr and train.d_lr


@dataclass(frozen=True)
class Draw:
    """One batch as the data stream draws it."""

    x_real: torch.Tensor  # (B, 3, H, W) in [-1, 1], on the device
    labels: torch.Tensor  # (B, A) 0/1 labels of the batch's dataset, on the device
    dataset: int  # index into the label space
    extra: Any  # what the objective's `draw` returned


@dataclass(frozen=True)
class ObjectiveContext:
    """What an objective may know about the run beyond its own settings."""

    label_space: LabelSpace
    train_labels: Mapping[int, np.ndarray]  # every dataset's training labels
    seed: int
    rank: int  # this process
    processes: int
    device: torch.device


class Objective(Protocol):
    def draw(self, rng: np.random.Generator, rows: int) -> Any: ...

    def batches(self, draws: list[Draw], step: int) -> list[Any]: ...

    def phases(self, step: int) -> tuple[str, ...]: ...

    def forward(self, networks: Mapping[str, nn.Module], batch: Any, phases: tuple[str, ...]) -> dict: ...

    def loss(
        self,
        phase: str,
        networks: Mapping[str, nn.Module],
        batch: Any,
        state: dict,
        grad_scale: float | torch.Tensor | None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...

    def after_update(self, phase: str, networks: Mapping[str, nn.Module]) -> None: ...

    def state_dict(self) -> dict[str, torch.Tensor]: ...

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None: ...


@dataclass(frozen=True)
class Stream:
    """One source of training batches: rows of one dataset of the label space."""

    name: str  # for messages, e.g. "toy-celeba" or "toy-celeba Black_Hair"
    dataset: int
    rows: np.ndarray | None = None  # indices into the dataset's training split; None = all


def every_dataset(
    model_config: Any, label_space: LabelSpace, train_labels: Mapping[int, np.ndarray]
) -> list[Stream]:
    """One stream per dataset, all its rows (StarGAN)."""
    return [Stream(d.name, i) for i, d in enumerate(label_space.datasets)]


@dataclass(frozen=True)
class TrainingSpec:
    config: type  # the `[loss]` section: a frozen dataclass of the method's weights and options
    groups: dict[str, tuple[str, ...]]  # optimiser group (GROUPS) -> the networks it updates
    objective: Callable[[Any, ObjectiveContext], Objective]  # (loss config, context) -> objective
    # (model config, label space, training labels per dataset) -> the data streams, in draw order
    streams: Callable[[Any, LabelSpace, Mapping[int, np.ndarray]], list[Stream]] = every_dataset
    min_batch: int = 1  # the smallest data.batch_size it trains with (StarGAN: 2, targets permute a batch)

    def __post_init__(self) -> None:
        assert set(self.groups) <= set(GROUPS)
