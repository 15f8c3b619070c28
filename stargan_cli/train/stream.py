"""Training batches from prepared datasets: deterministic from (seed, step), sharded by process.

Everything random about a step (which rows, flips, reframing, and the method's own draws such as
StarGAN's target permutation and penalty alphas) is drawn from a generator seeded by (seed, step,
dataset, rank). A resumed run therefore sees exactly the batches
an uninterrupted run would, with no sampler state to save, and processes never share a row in an epoch.
Rows are read straight from the memory-mapped uint8 array: no JPEG decoding, no per-sample Python.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..data.prepared import Split
from ..errors import DatasetError
from ..images import crop_boxes, reframe, resized_crops, to_tensor
from ..objectives.spec import Draw


def step_generator(seed: int, step: int, dataset: int, rank: int) -> np.random.Generator:
    """The random generator of one (step, dataset, process): its draws never depend on earlier steps."""
    return np.random.default_rng([seed, step, dataset, rank])


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
        zoom_out: float = 0.0,
        shift: float = 0.0,
        subset: np.ndarray | None = None,
        key: int | None = None,
        zoom_in: float = 1.0,
        resized_crop: float = 0.0,
    ) -> None:
        """`subset`: the rows of the split this stream draws from (default: all). `key`: the stream's
        number in the seeds (default: `dataset`), so two streams over one dataset draw independently.
        `zoom_in` > 1: each image enlarged by this factor and a random crop of its size taken (load_size).
        `resized_crop`: the probability of StarGAN v2's random resized crop (images.resized_crops)."""
        assert zoom_in >= 1, zoom_in
        self.zoom_in, self.resized_crop = zoom_in, resized_crop
        self.split, self.batch_size, self.seed, self.dataset = split, batch_size, seed, dataset
        self.flip, self.rank, self.world = flip, rank, world
        self.zoom_out, self.shift = zoom_out, shift
        self.subset = subset
        self.key = dataset if key is None else key
        size = len(split) if subset is None else len(subset)
        self.size = size
        self.per_epoch = size // (batch_size * world)
        self._epoch, self._shard = -1, np.empty(0, np.int64)
        if self.per_epoch < 1:
            raise DatasetError(
                f"{name} has {size} training images, fewer than one batch of {batch_size} "
                f"on each of {world} process(es); lower data.batch_size"
            )

    def rows(self, step: int) -> np.ndarray:
        """Row indices of this process's batch at `step` (0-based): epoch permutation, then shard; sorted,
        so the memory map is read front to back (the order inside a batch carries no meaning)."""
        epoch, position = divmod(step, self.per_epoch)
        if self._epoch != epoch:  # one permutation per epoch, cached
            order = np.random.default_rng([self.seed, self.key, epoch]).permutation(self.size)
            if self.subset is not None:
                order = self.subset[order]
            self._epoch, self._shard = epoch, order[self.rank :: self.world]
        return np.sort(self._shard[position * self.batch_size : (position + 1) * self.batch_size])

    def draw(
        self, step: int, device: torch.device, extra: Callable[[np.random.Generator, int], Any] | None = None
    ) -> Draw:
        """The batch of the 0-based `step`. Its generator draws the flips, then `extra(rng, rows)` (the
        objective's own numbers), then the reframing: an order that recorded runs depend on."""
        rows = self.rows(step)
        rng = step_generator(self.seed, step, self.key, self.rank)
        flips = np.flatnonzero(rng.random(len(rows)) < 0.5)
        drawn = extra(rng, len(rows)) if extra is not None else None
        x = self._images(rows, flips, device)
        x = self._reframed(x, rng, device)
        labels = torch.from_numpy(self.split.labels[rows]).to(device)
        return Draw(x, labels, self.dataset, drawn)

    def _images(self, rows: np.ndarray, flips: np.ndarray, device: torch.device) -> torch.Tensor:
        """The rows (B, 3, H, W) in [-1, 1] on the device, those in `flips` mirrored (when data.flip)."""
        images = self.split.images[rows]  # one read of the memory map, in file order
        batch = torch.from_numpy(images)  # (B, H, W, 3) uint8, a fresh copy of the rows
        if self.flip:  # only the chosen images, in place, on uint8: cheaper than flipping a float batch
            for i in flips.tolist():
                batch[i] = batch[i].flip(1)
        if device.type == "cuda":
            batch = batch.pin_memory()
        return to_tensor(batch, device)  # (B, 3, H, W)

    def _reframed(self, x: torch.Tensor, rng: np.random.Generator, device: torch.device) -> torch.Tensor:
        """data.zoom_out / shift, then load_size's random crop, then resized_crop, each drawn only when set."""
        if self.zoom_out or self.shift:  # drawn after the rest: runs without it keep their batches
            scale = 1 - self.zoom_out * rng.random(len(x), dtype=np.float32)
            offset = self.shift * (2 * rng.random((len(x), 2), dtype=np.float32) - 1)
            x = reframe(x, torch.from_numpy(scale).to(device), torch.from_numpy(offset).to(device))
        if self.zoom_in > 1:  # drawn last, for the same reason: a random crop of the enlarged image
            reach = (self.zoom_in - 1) / 2  # the crop stays inside: offsets within +-(zoom - 1) / 2
            offset = reach * (2 * rng.random((len(x), 2), dtype=np.float32) - 1)
            scale = torch.full((len(x),), self.zoom_in, device=device)
            x = reframe(x, scale, torch.from_numpy(offset).to(device))
        if self.resized_crop:  # drawn last, for the same reason
            boxes = crop_boxes(rng, len(x), self.resized_crop)
            x = resized_crops(x, torch.from_numpy(boxes).to(device))
        return x


class BalancedStream(BatchStream):
    """Class-balanced batches over K domains (StarGAN v2's sampler): each row's domain is drawn uniformly,
    then one of that domain's images, with replacement; with `references`, each row also gets a target
    domain drawn uniformly and that many images of it (x_ref, x_ref2), flipped and reframed as the rows are.
    Drawn from the step's own generator in this order: domains, rows, flips, the objective's draws, target
    domains, reference rows, reference flips, then the reframing of the rows and of the references."""

    def __init__(self, split: Split, batch_size: int, seed: int, dataset: int, flip: bool,
                 domains: tuple[np.ndarray, ...], references: int = 0, **options) -> None:  # fmt: skip
        # the rows of all domains: the base class checks there is a batch of them (its epochs are unused)
        super().__init__(split, batch_size, seed, dataset, flip, subset=np.concatenate(domains), **options)
        self.domains, self.references = domains, references

    def draw(self, step, device, extra=None) -> Draw:
        rng = step_generator(self.seed, step, self.key, self.rank)
        b, k = self.batch_size, len(self.domains)
        domain = rng.integers(k, size=b)
        rows = np.array([self.domains[d][i] for d, i in zip(domain, self._picks(rng, domain), strict=True)])
        flips = np.flatnonzero(rng.random(b) < 0.5)
        drawn = extra(rng, b) if extra is not None else None
        x = self._images(rows, flips, device)
        labels = torch.from_numpy(self.split.labels[rows]).to(device)
        target = refs = None
        if self.references:
            target = rng.integers(k, size=b)
            picks = [self._picks(rng, target) for _ in range(self.references)]
            ref_rows = np.array([[self.domains[t][p[i]] for p in picks] for i, t in enumerate(target)])
            ref_flips = np.flatnonzero(rng.random(ref_rows.size) < 0.5)
            refs = self._images(ref_rows.reshape(-1), ref_flips, device)
        x = self._reframed(x, rng, device)
        if refs is not None:
            refs = self._reframed(refs, rng, device).view(b, self.references, *refs.shape[1:])
        return Draw(
            x,
            labels,
            self.dataset,
            drawn,
            domains=torch.from_numpy(domain).to(device),
            target_domains=None if target is None else torch.from_numpy(target).to(device),
            references=refs,
        )

    def _picks(self, rng: np.random.Generator, domain: np.ndarray) -> np.ndarray:
        """An image index within each row's domain, uniformly."""
        sizes = np.array([len(r) for r in self.domains])[domain]
        return (rng.random(len(domain)) * sizes).astype(np.int64)
