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

from dataclasses import dataclass, field

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
    _pools: dict[str, np.ndarray] = field(default_factory=dict)

    def pool(self, attribute: str) -> np.ndarray:
        """Indices of the target's test images that have the attribute (the references of its domain)."""
        if attribute not in self._pools:
            labels = self.target.split("test").labels
            self._pools[attribute] = np.flatnonzero(labels[:, self.target.labels.index(attribute)] > 0.5)
        return self._pools[attribute]

    def guides(self, batch: int, attribute: str, x: torch.Tensor) -> list[tuple[Guide, list[str] | None]]:
        """The guides of one batch's outputs, with the file names of the references used (reference mode)."""
        if self.mode == "latent":
            return [(Guide(seed=batch, sample=k), None) for k in range(self.outputs)]
        pool = self.pool(attribute)
        if not len(pool):
            raise DatasetError(
                f"{self.target.root} has no test image of {attribute} to take references from; evaluate on a test "
                "split that has every domain"
            )
        test, files = self.target.split("test"), self.target.files("test")
        out = []
        index = self.target.labels.index(attribute)
        for k in range(self.outputs):
            picks = np.random.default_rng([batch, k, index]).choice(pool, len(x))
            refs = to_tensor(test.images[picks], self.device)
            out.append((Guide(reference=refs), [files[i] for i in picks]))
        return out

    def back(self, x: torch.Tensor) -> Guide:
        return Guide(reference=x)
