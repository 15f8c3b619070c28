"""An exponential moving average of the generator's weights (`train.ema`), as StarGAN v2 and most GAN
toolkits ship: samples, the exported generator, translate, evaluate and ONNX use the average when it is on.

After each generator update: ema = d * ema + (1 - d) * weights, with d = min(decay, (1 + n) / (10 + n)) and n
the updates so far (with `ramp` off, as StarGAN v2 does: d = decay from the first update). The ramp matters for short runs: with a plain 0.999 from the start, the average after
1,500 updates would still hold 0.999^1500 = 22% of the initial random weights; with it, the average covers
about the last tenth of training until n reaches 9,000 (d = 0.999) and the last thousand updates after.
Buffers (InstanceNorm's unused running statistics) are copied. Under several processes DDP keeps the
weights identical on every process, so every process computes the same average.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import nn


class EMA:
    def __init__(
        self, networks: Mapping[str, nn.Module], decay: float, updates: int = 0, ramp: bool = True
    ) -> None:
        self.decay, self.updates, self.ramp = decay, updates, ramp
        self.networks = {name: copy.deepcopy(net).requires_grad_(False) for name, net in networks.items()}

    def rate(self) -> float:
        """The decay of the next update."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates)) if self.ramp else self.decay

    @torch.no_grad()
    def update(self, sources: Mapping[str, nn.Module]) -> None:
        weight = 1 - self.rate()
        for name, average in self.networks.items():
            source = sources[name]
            torch._foreach_lerp_(
                list(average.parameters()), [p.detach() for p in source.parameters()], weight
            )
            for mine, theirs in zip(average.buffers(), source.buffers(), strict=True):
                mine.copy_(theirs)
        self.updates += 1
