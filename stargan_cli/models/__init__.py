"""Registry of architectures: name -> how to size and build its networks.

The training loop, checkpoints and CLI only go through `ARCHITECTURES`; they never name a model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from . import stargan


@dataclass(frozen=True)
class Architecture:
    name: str
    config_class: type
    # (config, generator label dim, classifier outputs) -> (generator, discriminator)
    build: Callable[[Any, int, int], tuple[nn.Module, nn.Module]]


ARCHITECTURES: dict[str, Architecture] = {
    "stargan": Architecture("stargan", stargan.StarGANConfig, stargan.build),
}


def get_architecture(name: str) -> Architecture:
    from ..config import did_you_mean
    from ..errors import ConfigError

    if name not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture {name!r}.{did_you_mean(name, ARCHITECTURES)}")
    return ARCHITECTURES[name]
