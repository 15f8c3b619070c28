"""What the two-domain methods (CycleGAN, U-GAT-IT, UNIT) share on the training side: their data streams, and
the plumbing of an objective whose phases each have one loss."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from ..labels import LabelSpace
from ..models.domains import Domains
from .spec import Stream


def domain_streams(
    model_config, label_space: LabelSpace, train_labels: Mapping[int, np.ndarray]
) -> list[Stream]:
    """The rows of domain A, then those of domain B: two streams, paired at random (unaligned)."""
    domains = Domains.resolve(model_config.domains, label_space)
    rows_a, rows_b = domains.rows(train_labels[domains.dataset])
    name = label_space.datasets[domains.dataset].name
    for domain, rows in ((domains.a, rows_a), (domains.b, rows_b)):
        if len(rows) == 0:
            raise ConfigError(f"{name} has no training images in domain {domain.label}; check model.domains")
    return [Stream(f"{name} {domains.a.label}", 0, rows_a), Stream(f"{name} {domains.b.label}", 0, rows_b)]


class TwoDomainObjective:
    """The objectives/spec.py interface around a method's `discriminator_loss` and `generator_loss`: D then G
    every step (`phases`; CycleGAN's reference does G first), each phase's loss from its own method, no
    constraint on the weights and no state between steps unless a method says otherwise."""

    def phases(self, step: int) -> tuple[str, ...]:
        return ("discriminator", "generator")

    def loss(self, phase: str, networks, batch, state: dict, grad_scale=None):
        if phase == "discriminator":
            return self.discriminator_loss(networks, batch, state)
        return self.generator_loss(networks, batch, state)

    def after_update(self, phase: str, networks: Mapping[str, nn.Module]) -> None:
        pass

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        pass
