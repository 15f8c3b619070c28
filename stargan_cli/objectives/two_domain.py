"""What the domain methods share on the training side: their data streams (a stream per domain for the
two-domain family, CycleGAN, U-GAT-IT and UNIT; one class-balanced stream with paired references for a
K-domain method), and the plumbing of an objective whose phases each have one loss."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import ConfigError
from ..labels import LabelSpace
from ..models.domains import Domains
from .spec import Stateless, Stream


def domain_streams(
    model_config, label_space: LabelSpace, train_labels: Mapping[int, np.ndarray]
) -> list[Stream]:
    """The rows of each domain, a stream each (two-domain methods: A, then B, paired at random, unaligned)."""
    domains = Domains.resolve(model_config.domains, label_space)
    return [
        Stream(f"{_name(label_space, domains)} {d.label}", 0, rows)
        for d, rows in _domain_rows(domains, label_space, train_labels)
    ]


def balanced_stream(
    domains: Domains, label_space: LabelSpace, train_labels: Mapping[int, np.ndarray], references: int = 0
) -> list[Stream]:
    """One class-balanced stream over K domains (each row's domain uniform, then one of its images; the
    domain index of each image in Draw.domains), with `references` images of one random target domain per
    row (StarGAN v2: 2, its x_ref and x_ref2)."""
    rows = tuple(r for _, r in _domain_rows(domains, label_space, train_labels))
    name = f"{_name(label_space, domains)} ({domains.count} domains)"
    return [Stream(name, domains.dataset, domains=rows, references=references)]


def _name(label_space: LabelSpace, domains: Domains) -> str:
    return label_space.datasets[domains.dataset].name


def _domain_rows(domains: Domains, label_space: LabelSpace, train_labels) -> list:
    rows = domains.rows(train_labels[domains.dataset])
    for domain, found in zip(domains.members, rows, strict=True):
        if len(found) == 0:
            raise ConfigError(
                f"{_name(label_space, domains)} has no training images in domain {domain.label}; check model.domains"
            )
    return list(zip(domains.members, rows, strict=True))


class TwoDomainObjective(Stateless):
    """The objectives/spec.py interface around a method's `discriminator_loss` and `generator_loss`: D then G
    every step (`phases`; CycleGAN's reference does G first), each phase's loss from its own method, no
    constraint on the weights and no state between steps unless a method says otherwise."""

    def phases(self, step: int) -> tuple[str, ...]:
        return ("discriminator", "generator")

    def loss(self, phase: str, networks, batch, state: dict, grad_scale=None):
        if phase == "discriminator":
            return self.discriminator_loss(networks, batch, state)
        return self.generator_loss(networks, batch, state)
