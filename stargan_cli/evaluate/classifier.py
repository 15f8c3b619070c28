"""The evaluator: an attribute classifier trained on the real images of a prepared dataset.

It scores translations: the paper's protocol trains a ResNet-18 on real images (99.55% on real RaFD) and
reads the translations with it. Two architectures:
- "resnet18": torchvision's ResNet-18 from scratch (the paper's protocol);
- "small": four stride-2 conv blocks, about 10x faster to train on a CPU; at 32 px ResNet-18's stem leaves
  a 1x1 map, so "auto" (the default) picks "small" below 64 px and "resnet18" from 64 px up.
It is trained once, cached beside the prepared dataset as `evaluator-<arch>.safetensors` with its accuracy
on the real test images, and retrained when the dataset's manifest or the training recipe changes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from ..console import info, progress, warn
from ..data.prepared import PreparedDataset
from ..errors import ConfigError, StarganError
from ..files import FILE_MODE, replaced
from ..images import to_tensor
from ..labels import DatasetLabels
from ..losses import CLASSIFICATION

VERSION = "3"  # part of the cache key: a change to how evaluators are trained retrains cached ones
ARCHITECTURES = ("auto", "resnet18", "small")


class AttributeClassifier(nn.Module):
    """Four stride-2 conv blocks with batch norm, global average pooling, a linear layer of logits."""

    def __init__(self, num_outputs: int, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for i in range(4):
            out = width * 2**i
            layers += [
                nn.Conv2d(channels, out, 3, 2, 1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


def resolve(arch: str, image_size: int) -> str:
    if arch not in ARCHITECTURES:
        raise ConfigError(f"unknown evaluator {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    if arch == "auto":
        return "resnet18" if image_size >= 64 else "small"
    return arch


def build(arch: str, num_outputs: int) -> nn.Module:
    """A freshly initialised evaluator of a resolved architecture."""
    if arch == "resnet18":
        from torchvision.models import resnet18

        return resnet18(weights=None, num_classes=num_outputs)
    return AttributeClassifier(num_outputs)


def cache_path(dataset: PreparedDataset, arch: str) -> Path:
    return dataset.root / f"evaluator-{arch}.safetensors"


def predict(logits: torch.Tensor, labels: DatasetLabels) -> torch.Tensor:
    """Logits -> 0/1 predictions: per attribute for multi-label, one-hot argmax for single-label."""
    if labels.kind == "single":
        return nn.functional.one_hot(logits.argmax(1), logits.shape[1]).float()
    return (logits > 0).float()


def attribute_accuracy(pred: torch.Tensor, target: torch.Tensor, labels: DatasetLabels) -> list[float]:
    if labels.kind == "single":
        correct = (pred.argmax(1) == target.argmax(1)).float().mean().item()
        return [correct] * len(labels.attributes)
    return (pred == target).float().mean(0).tolist()


@torch.no_grad()
def classify(model: nn.Module, images: np.ndarray | torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Logits, on the model's device, for (N,H,W,3) uint8 images or (N,3,H,W) tensors in [-1, 1]."""
    model.eval()
    device = next(model.parameters()).device
    outs = []
    for i in range(0, len(images), batch_size):
        chunk = images[i : i + batch_size]
        x = chunk if isinstance(chunk, torch.Tensor) else to_tensor(chunk)
        outs.append(model(x.to(device, torch.float32)))
    return torch.cat(outs)


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random framing and colour, so the evaluator reads attributes, not one dataset's framing.

    Each image is flipped at random, scaled by 0.7..1.05 and shifted by up to 8% of its side (uncovered
    pixels get a random colour), and its brightness scaled by 0.9..1.1 (hues are left alone: hair colour
    is an attribute). Without this, an
    evaluator trained on studio portraits cannot read the same expression on a differently framed face
    (measured on toyfaces: 22% on exact renders of CelebA-style faces with each expression).
    """
    b = x.shape[0]

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return torch.rand(b, *shape, generator=generator) * (high - low) + low

    flip = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    inv_scale = 1.0 / uniform(0.7, 1.05)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = inv_scale * flip, inv_scale
    theta[:, :, 2] = uniform(-0.16, 0.16, 2)  # grid units: the image spans [-1, 1]
    grid = nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    fill = uniform(-1.0, 1.0, 3, 1, 1)
    x = nn.functional.grid_sample(x - fill, grid, align_corners=False, padding_mode="zeros") + fill
    return ((x + 1) * uniform(0.9, 1.1, 1, 1, 1) - 1).clamp(-1, 1)  # brightness only: hues are attributes


def train_classifier(
    dataset: PreparedDataset,
    arch: str = "small",
    epochs: int = 12,
    batch_size: int = 64,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[nn.Module, list[float]]:
    torch.manual_seed(seed)
    labels = dataset.labels
    train, test = dataset.split("train"), dataset.split("test")
    model = build(arch, len(labels.attributes)).to(device)
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    steps = epochs * (len(train) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=max(steps, 1))
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    loss_fn = CLASSIFICATION[labels.kind]
    with progress() as bar:
        task = bar.add_task(f"train {arch} evaluator ({labels.name})", total=steps)
        for _ in range(epochs):
            model.train()
            order = rng.permutation(len(train))
            for i in range(len(train) // batch_size):
                rows = np.sort(order[i * batch_size : (i + 1) * batch_size])
                x = to_tensor(train.images[rows])
                x = augment(x, generator).to(device)
                loss = loss_fn(model(x), torch.from_numpy(train.labels[rows]).to(device))
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                bar.advance(task)
    model.eval()
    pred = predict(classify(model, test.images), labels).cpu()
    return model, attribute_accuracy(pred, torch.from_numpy(test.labels), labels)


def load_or_train(
    dataset: PreparedDataset, retrain: bool = False, arch: str = "auto", device: torch.device | str = "cpu"
) -> tuple[nn.Module, list[float]]:
    """The cached evaluator of `dataset` (on `device`) and its per-attribute accuracy on real test images."""
    arch = resolve(arch, dataset.image_size)
    path = cache_path(dataset, arch)
    key = f"{dataset.manifest_sha256[:16]}-v{VERSION}"
    if path.is_file() and not retrain:
        try:
            with safe_open(str(path), "pt") as handle:
                meta = handle.metadata() or {}
            if meta.get("manifest_hash") == key:
                model = build(arch, len(dataset.labels.attributes))
                model.load_state_dict(load_file(str(path)))
                return model.to(device).eval(), json.loads(meta["accuracy"])
        except (SafetensorError, OSError, KeyError, RuntimeError, ValueError):
            pass  # a damaged or stale cache is simply retrained
    model, accuracy = train_classifier(dataset, arch, device=device)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"manifest_hash": key, "accuracy": json.dumps(accuracy), "architecture": arch}
    where = f"cached at {path}"
    try:
        with replaced(path) as tmp:
            save_file(state, str(tmp), metadata=meta)
            os.chmod(tmp, FILE_MODE)  # safetensors writes 0o600
    except StarganError as exc:  # a read-only dataset folder: the evaluator is simply not cached
        warn(f"{exc}; the evaluator is retrained next time")
        where = "not cached"
    info(f"{arch} evaluator for {dataset.name}: real test accuracy {np.mean(accuracy):.2%} ({where})")
    return model, accuracy
