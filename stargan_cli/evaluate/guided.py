"""The paper's protocol for methods that take guides (ModelSpec.guides; StarGAN v2, Choi et al. 2020, its
metrics/eval.py): every test image translated `outputs` times (10) towards each target domain, in two modes
scored apart:
- latent: output k of test batch b takes the style of noise sample k of seed b (models/spec.Guide: one noise
  per batch, so the numbers do not depend on the number of processes);
- reference: output k of a row takes the style of a test image of the target domain, drawn for (batch,
  output, domain) from a generator seeded with them, so every process draws the same.
Translating back (the reconstruction score) takes the input itself as the reference, as the method's cycle
loss does. Diversity: evaluate/lpips.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import nn

from ..data.prepared import PreparedDataset
from ..errors import DatasetError
from ..images import to_tensor
from ..models.spec import Guide, ModelSpec

OUTPUTS = 10  # the paper's num_outs_per_domain


def modes(model: ModelSpec) -> list[str]:
    """The modes a method is scored in: latent where it takes a seed, reference where it takes a reference."""
    return [m for m, g in (("latent", "seed"), ("reference", "reference")) if g in model.guides]


@dataclass
class Protocol:
    mode: str  # "latent" or "reference"
    distance: nn.Module  # diversity: LPIPS or its stand-in
    target: PreparedDataset  # where references come from: its test split
    outputs: int = OUTPUTS
    device: torch.device | str = "cpu"

    @cached_property
    def _files(self) -> list[str]:
        return self.target.files("test")  # read once, not for every batch

    @cached_property
    def _pools(self) -> dict[str, np.ndarray]:
        """For each attribute, the target's test images that have it (the references of its domain)."""
        labels = self.target.split("test").labels
        return {a: np.flatnonzero(labels[:, i] > 0.5) for i, a in enumerate(self.target.labels.attributes)}

    def guides(self, batch: int, attribute: str, x: torch.Tensor) -> list[tuple[Guide, list[str] | None]]:
        """The guides of one batch's outputs, with the file names of the references used (reference mode)."""
        if self.mode == "latent":
            return [(Guide(seed=batch, sample=k), None) for k in range(self.outputs)]
        pool = self._pools[attribute]
        if not len(pool):
            raise DatasetError(
                f"{self.target.root} has no test image of {attribute} to take references from; evaluate on a test "
                "split that has every domain"
            )
        images, index = self.target.split("test").images, self.target.labels.index(attribute)
        out = []
        for k in range(self.outputs):
            picks = np.random.default_rng([batch, k, index]).choice(pool, len(x))
            out.append(
                (Guide(reference=to_tensor(images[picks], self.device)), [self._files[i] for i in picks])
            )
        return out

    def back(self, x: torch.Tensor) -> Guide:
        return Guide(reference=x)
