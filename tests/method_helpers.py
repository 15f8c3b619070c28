"""Building the StarGAN method's parts by hand, as the training loop does, for unit tests."""

from __future__ import annotations

import torch

from stargan_cli.labels import LabelSpace
from stargan_cli.models.stargan import StarGANConfig, build
from stargan_cli.objectives.spec import ObjectiveContext
from stargan_cli.objectives.stargan import StarGANLoss, StarGANObjective


def context(space: LabelSpace, processes: int = 1, train_labels=None, seed: int = 0) -> ObjectiveContext:
    return ObjectiveContext(space, train_labels or {}, seed, 0, processes, torch.device("cpu"))


def objective(space: LabelSpace, separate_penalty: bool | None = None, **loss) -> StarGANObjective:
    return StarGANObjective(StarGANLoss(**loss), context(space), separate_penalty)


def networks(config: StarGANConfig, space: LabelSpace) -> tuple[torch.nn.Module, torch.nn.Module]:
    built = build(config, space)
    return built["generator"], built["discriminator"]


def phases(g_due: bool) -> tuple[str, ...]:
    return ("discriminator", "generator") if g_due else ("discriminator",)
