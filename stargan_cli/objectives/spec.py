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
- `phases(step)`: the phases run at this 1-based step, in order (e.g. D, then G when due); each phase
  steps the optimisers TrainingSpec.phases names for it (by default a phase is one optimiser, same name).
- `forward(networks, batch, phases)`: work shared by the phases (e.g. G's translation, with its graph
  when G is updated), run once under autocast; returns a state dict that `loss` reads.
- `loss(phase, networks, batch, state, grad_scale)`: that phase's whole loss, to be back-propagated
  once, and its logs (detached scalars, named `D/...`, `G/...` as in metrics.jsonl).
- `after_update(phase, networks)`: called after each optimiser step of a phase, for constraints on the
  weights (U-GAT-IT clips its generators' rho to [0, 1]); most methods do nothing.
- `state_dict()` / `load_state_dict(state)`: what the objective keeps between steps (CycleGAN's image
  pools), plain tensors saved in every checkpoint so that a resumed run continues bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from ..labels import LabelSpace


@dataclass(frozen=True)
class OptimizerSpec:
    """One Adam optimiser of a method: the networks it steps and its settings. Its learning rate is the
    `[train]` setting `lr` (`g_lr` or `d_lr`) times `lr_scale`, on the run's schedule; betas and weight decay
    are `train.beta1`/`beta2` and `train.weight_decay` unless given."""

    networks: tuple[str, ...]
    lr: str = "g_lr"
    lr_scale: float = 1.0
    betas: tuple[float, float] | None = None
    weight_decay: float | None = None
    key: str = ""  # its entry in a checkpoint's optimizer.pt ("" = the optimiser's name)

    def __post_init__(self) -> None:
        assert self.lr in ("g_lr", "d_lr") and self.lr_scale > 0, self


def adversarial(generators: tuple[str, ...], discriminators: tuple[str, ...]) -> dict[str, OptimizerSpec]:
    """The two optimisers of a GAN: "generator" at train.g_lr and "discriminator" at train.d_lr (saved as
    g_opt and d_opt, the keys of every checkpoint written before methods named their optimisers)."""
    return {
        "generator": OptimizerSpec(generators, "g_lr", key="g_opt"),
        "discriminator": OptimizerSpec(discriminators, "d_lr", key="d_opt"),
    }


@dataclass(frozen=True)
class Draw:
    """One batch as the data stream draws it."""

    x_real: torch.Tensor  # (B, 3, H, W) in [-1, 1], on the device
    labels: torch.Tensor  # (B, A) 0/1 labels of the batch's dataset, on the device
    dataset: int  # index into the label space
    extra: Any  # what the objective's `draw` returned
    # a class-balanced stream's (Stream.domains): each image's domain (B,) int64, and with references, each
    # row's target domain (B,) and its references (B, R, 3, H, W), all of that target domain
    domains: torch.Tensor | None = None
    target_domains: torch.Tensor | None = None
    references: torch.Tensor | None = None


@dataclass(frozen=True)
class ObjectiveContext:
    """What an objective may know about the run beyond its own settings."""

    label_space: LabelSpace
    train_labels: Mapping[int, np.ndarray]  # every dataset's training labels
    seed: int
    rank: int  # this process
    processes: int
    device: torch.device
    model: Any = None  # the run's `[model]` config (StarGAN v2 draws noise of its latent_dim)


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


class Stateless:
    """The Objective methods most methods leave as they are: no constraint on the weights after an update,
    nothing kept between steps (a method with state, e.g. CycleGAN's image pools, overrides them)."""

    def after_update(self, phase: str, networks: Mapping[str, nn.Module]) -> None:
        pass

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        pass


@dataclass(frozen=True)
class Stream:
    """One source of training batches: rows of one dataset of the label space."""

    name: str  # for messages, e.g. "toy-celeba" or "toy-celeba Black_Hair"
    dataset: int
    rows: np.ndarray | None = None  # indices into the dataset's training split; None = all
    # class-balanced over these row sets, one per domain (rows is then unused); Draw.domains says which
    domains: tuple[np.ndarray, ...] | None = None
    references: int = 0  # per row, this many images of one random target domain (with `domains` only)


def every_dataset(
    model_config: Any, label_space: LabelSpace, train_labels: Mapping[int, np.ndarray]
) -> list[Stream]:
    """One stream per dataset, all its rows (StarGAN)."""
    return [Stream(d.name, i) for i, d in enumerate(label_space.datasets)]


@dataclass(frozen=True)
class TrainingSpec:
    config: type  # the `[loss]` section: a frozen dataclass of the method's weights and options
    optimizers: dict[str, OptimizerSpec]  # by name; each trained network in exactly one
    objective: Callable[[Any, ObjectiveContext], Objective]  # (loss config, context) -> objective
    # the networks whose weights train.ema averages (the average is what samples, exports and translate
    # use) and train.compile_generator compiles: those that translate
    averaged: tuple[str, ...]
    # (model config, label space, training labels per dataset) -> the data streams, in draw order
    streams: Callable[[Any, LabelSpace, Mapping[int, np.ndarray]], list[Stream]] = every_dataset
    min_batch: int = 1  # the smallest data.batch_size it trains with (StarGAN: 2, targets permute a batch)
    # phase -> the optimisers it steps, for phases that are not simply one optimiser of the same name
    phases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    frozen: tuple[str, ...] = ()  # networks used in training (e.g. a landmark network) and never trained
    # the EMA's decay ramps up from 0.1 (train/ema.py): what the four first methods do; off, it is
    # train.ema from the first update (StarGAN v2)
    ema_ramp: bool = True

    def __post_init__(self) -> None:
        trained = [n for spec in self.optimizers.values() for n in spec.networks]
        assert len(trained) == len(set(trained)), "each network in one optimiser"
        assert not set(trained) & set(self.frozen), "a frozen network in an optimiser"
        assert set(self.averaged) <= set(trained)
        for phase, names in self.phases.items():
            assert names and set(names) <= set(self.optimizers), f"phase {phase} steps unknown optimisers"

    def stepped(self, phase: str) -> tuple[str, ...]:
        """The optimisers `phase` steps."""
        return self.phases.get(phase, (phase,))

    def averaging_phases(self) -> set[str]:
        """The phases after whose batch the EMA updates: those stepping a network it averages."""
        names = set(self.optimizers) | set(self.phases)
        return {
            phase
            for phase in names
            if any(set(self.optimizers[o].networks) & set(self.averaged) for o in self.stepped(phase))
        }

    def optimizer_keys(self) -> dict[str, str]:
        """Each optimiser's entry in a checkpoint's optimizer.pt, by optimiser."""
        return {name: spec.key or name for name, spec in self.optimizers.items()}

    @property
    def networks(self) -> tuple[str, ...]:
        """Every network training builds: the trained ones, then the frozen ones."""
        return (*(n for spec in self.optimizers.values() for n in spec.networks), *self.frozen)
