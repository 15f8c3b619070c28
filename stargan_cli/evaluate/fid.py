"""FID and KID per target domain: torchmetrics' estimators over features of the standard FID Inception.

A target domain is one attribute set to 1 (a hair colour, Male, an expression). Its fake images are the test
translations whose target sets it; its real images are training images of the target dataset that have it.
Features come from torch-fidelity's port of the TensorFlow FID Inception (2048-d pool features), whose
weights are read from a local file only: `--fid-weights FILE`, $STARGAN_FID_WEIGHTS, or the torch hub cache.
Any module mapping (N, 3, H, W) images in [-1, 1] to (N, d) features can stand in for it (tests use one).
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..console import progress
from ..data.prepared import PreparedDataset
from ..errors import CheckpointError, StarganError
from ..images import to_tensor

WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{WEIGHTS_FILE}"
ENV_VAR = "STARGAN_FID_WEIGHTS"
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


def hub_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def find_weights(explicit: str | Path | None = None) -> Path | None:
    """The Inception weights file: the explicit path, else $STARGAN_FID_WEIGHTS, else the hub cache."""
    for given, where in ((explicit, "--fid-weights"), (os.environ.get(ENV_VAR), f"${ENV_VAR}")):
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise CheckpointError(
                    f"{where} points to {path}, which is not a file; expected {WEIGHTS_FILE}"
                )
            return path
    return hub_path() if hub_path().is_file() else None


def missing_weights_line() -> str:
    return (
        f"FID/KID skipped: no Inception weights; download {WEIGHTS_URL} and pass --fid-weights FILE, "
        f"set ${ENV_VAR}, or put it at {hub_path()}"
    )


class InceptionFeatures(nn.Module):
    """The FID Inception's 2048-d pool features of images in [-1, 1] (resized to 299 px inside)."""

    num_features = 2048

    def __init__(self, weights: Path) -> None:
        super().__init__()
        try:
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        except ImportError as e:
            raise StarganError("FID/KID need torch-fidelity: pip install torch-fidelity") from e
        try:  # read once; tensors only: bytes holding Python objects are refused before torch-fidelity,
            # which unpickles freely, reads the very same bytes from memory
            data = Path(weights).read_bytes()
            torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - random bytes fail inside the unpickler in many ways
            raise CheckpointError(
                f"{weights} is not a weights-only tensor file ({e.__class__.__name__}); expected {WEIGHTS_FILE} "
                f"from {WEIGHTS_URL}"
            ) from e
        try:
            self.net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], io.BytesIO(data))
        except (RuntimeError, KeyError, TypeError, ValueError) as e:  # wrong keys, shapes or contents
            raise CheckpointError(
                f"{weights} does not hold the FID Inception weights ({WEIGHTS_FILE})"
            ) from e

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u8 = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return self.net(u8)[0]


class _Given(nn.Module):
    """Features passed through: torchmetrics' estimators are fed features we computed batch by batch."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@dataclass
class Distances:
    fid: float
    kid: float  # mean over subsets
    kid_std: float


def distances(real: torch.Tensor, fake: torch.Tensor, seed: int = 0) -> Distances | None:
    """FID and KID between two sets of features; None with fewer than 2 of either."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    if len(real) < 2 or len(fake) < 2:
        return None
    d = real.shape[1]
    # the features are already gathered from every process: no further syncing (it would count them twice)
    fid = FrechetInceptionDistance(feature=_Given(d), sync_on_compute=False)
    fid.update(real.double(), real=True)
    fid.update(fake.double(), real=False)
    size = min(KID_SUBSET_SIZE, len(real), len(fake))
    with warnings.catch_warnings():  # it warns that it keeps every feature: ours are at most a few thousand
        warnings.simplefilter("ignore", UserWarning)
        kid = KernelInceptionDistance(
            feature=_Given(d), subsets=KID_SUBSETS, subset_size=size, sync_on_compute=False
        )
    kid.update(real.double(), real=True)
    kid.update(fake.double(), real=False)
    with torch.random.fork_rng(devices=[]):  # its subsets are drawn from the global generator
        torch.manual_seed(seed)
        kid_mean, kid_std = kid.compute()
    return Distances(float(fid.compute()), float(kid_mean), float(kid_std))


@torch.no_grad()
def real_feature_batches(
    dataset: PreparedDataset,
    attribute: int,
    features: nn.Module,
    limit: int,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    rank: int = 0,
    world: int = 1,
) -> list[tuple[int, torch.Tensor]]:
    """Features of up to `limit` training images of `dataset` that have `attribute`, batch k on process
    k % world. Returns [(k, features)]."""
    train = dataset.split("train")
    rows = np.flatnonzero(train.labels[:, attribute] > 0.5)[:limit]
    starts = list(range(0, len(rows), batch_size))[rank::world]
    out = []
    name = dataset.labels.attributes[attribute]
    with progress() as bar:
        task = bar.add_task(f"real features {dataset.name} {name}", total=len(starts), visible=rank == 0)
        for start in starts:
            x = to_tensor(train.images[rows[start : start + batch_size]], device)
            out.append((start // batch_size, features(x).float().cpu()))
            bar.advance(task)
    return out


def in_order(batches: list[tuple[int, torch.Tensor]]) -> torch.Tensor:
    """Concatenate gathered (k, features) batches in batch order."""
    parts = [f for _, f in sorted(batches, key=lambda b: b[0])]
    return torch.cat(parts) if parts else torch.zeros(0, 0)


def feature_network(
    fid: bool, weights: str | Path | None, given: nn.Module | None
) -> tuple[nn.Module | None, Path | None, str | None]:
    """What FID/KID use: the `given` stand-in, else the Inception when its weights are found. Returns the
    network (None: no distances), the weights file, and the line saying why they are skipped (None when they
    are not, or were not asked for). A --fid-weights path that is not a file fails here, before any work."""
    if given is not None or not fid:
        return given, None, None
    path = find_weights(weights)
    if path is None:
        return None, None, missing_weights_line()
    return InceptionFeatures(path), path, None


def real_features(
    datasets: list[PreparedDataset],
    features: nn.Module,
    limit: int,
    batch_size: int,
    device: torch.device | str,
    rank: int = 0,
    world: int = 1,
    gathered=lambda part: part,
) -> dict[str, dict[str, torch.Tensor]]:
    """Features of each dataset's real training images per attribute having it: {dataset: {attribute: (N, d)}};
    under several processes, `gathered` collects every process's batches."""
    features.eval().to(device)
    return {
        ds.name: {
            name: in_order(
                gathered(real_feature_batches(ds, i, features, limit, batch_size, device, rank, world))
            )
            for i, name in enumerate(ds.labels.attributes)
        }
        for ds in datasets
    }
