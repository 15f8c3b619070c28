"""Training batches from prepared datasets: deterministic from (seed, step), sharded by process.

Everything random about a step (which rows, flips, target permutation, gradient-penalty alpha) is drawn
from a generator seeded by (seed, step, dataset, rank). A resumed run therefore sees exactly the batches
an uninterrupted run would, with no sampler state to save, and processes never share a row in an epoch.
Rows are read straight from the memory-mapped uint8 array: no JPEG decoding, no per-sample Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data.prepared import Split
from ..errors import DatasetError
from ..images import to_tensor


def step_generator(seed: int, step: int, dataset: int, rank: int) -> torch.Generator:
    """A torch.Generator for one (step, dataset, process): its draws never depend on earlier steps."""
    mixed = np.random.SeedSequence([seed, step, dataset, rank]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(mixed))


@dataclass
class Draw:
    x_real: torch.Tensor  # (B, 3, H, W) in [-1, 1], on the device
    labels_org: torch.Tensor  # (B, A)
    labels_trg: torch.Tensor  # (B, A): a permutation of labels_org
    alpha: torch.Tensor  # (B, 1, 1, 1) U(0, 1) for the gradient penalty


class BatchStream:
    def __init__(
        self,
        split: Split,
        batch_size: int,
        seed: int,
        dataset: int,
        flip: bool,
        rank: int = 0,
        world: int = 1,
        name: str = "",
    ) -> None:
        self.split, self.batch_size, self.seed, self.dataset = split, batch_size, seed, dataset
        self.flip, self.rank, self.world = flip, rank, world
        self.per_epoch = len(split) // (batch_size * world)
        if self.per_epoch < 1:
            raise DatasetError(
                f"dataset {name} has {len(split)} training images, fewer than one batch of {batch_size} "
                f"on each of {world} process(es); lower data.batch_size"
            )

    def rows(self, step: int) -> np.ndarray:
        """Row indices of this process's batch at `step` (0-based): epoch permutation, then shard."""
        epoch, position = divmod(step, self.per_epoch)
        order = np.random.default_rng([self.seed, self.dataset, epoch]).permutation(len(self.split))
        shard = order[self.rank :: self.world]
        return shard[position * self.batch_size : (position + 1) * self.batch_size]

    def draw(self, step: int, device: torch.device) -> Draw:
        rows = self.rows(step)
        gen = step_generator(self.seed, step, self.dataset, self.rank)
        flips = torch.rand(len(rows), generator=gen) < 0.5
        permutation = torch.randperm(len(rows), generator=gen)
        alpha = torch.rand(len(rows), 1, 1, 1, generator=gen)
        order = np.argsort(rows)  # read the memory map in file order, keep the batch order
        images = np.empty((len(rows),) + self.split.images.shape[1:], np.uint8)
        images[order] = self.split.images[rows[order]]
        if device.type == "cuda":
            images = torch.from_numpy(images).pin_memory()
        x = to_tensor(images, device)
        if self.flip:
            x = torch.where(flips.to(device)[:, None, None, None], x.flip(3), x)
        labels = torch.from_numpy(self.split.labels[rows]).to(device)
        return Draw(x, labels, labels[permutation.to(device)], alpha.to(device))
