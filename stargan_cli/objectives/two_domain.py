"""What the two-domain methods (CycleGAN, U-GAT-IT) share on the training side: their data streams."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

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
