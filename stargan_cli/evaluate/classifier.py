"""The evaluator: an attribute classifier trained on the real images of a prepared dataset.

It scores translations (the paper's protocol uses a classifier trained on real data). It is trained once,
cached beside the prepared dataset as `evaluator.safetensors` with its accuracy on the real test images,
and retrained when the dataset's manifest changes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from ..console import info, progress
from ..data.prepared import PreparedDataset
from ..images import to_tensor
from ..labels import DatasetLabels
from ..losses import CLASSIFICATION

CACHE_NAME = "evaluator.safetensors"


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
    """Logits for (N,H,W,3) uint8 images or (N,3,H,W) tensors in [-1, 1]."""
    model.eval()
    outs = []
    for i in range(0, len(images), batch_size):
        chunk = images[i : i + batch_size]
        x = chunk if isinstance(chunk, torch.Tensor) else to_tensor(chunk)
        outs.append(model(x.float()))
    return torch.cat(outs)


def train_classifier(
    dataset: PreparedDataset, epochs: int = 4, batch_size: int = 64, seed: int = 0
) -> tuple[nn.Module, list[float]]:
    torch.manual_seed(seed)
    labels = dataset.labels
    train, test = dataset.split("train"), dataset.split("test")
    model = AttributeClassifier(len(labels.attributes))
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    steps = epochs * (len(train) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=max(steps, 1))
    rng = np.random.default_rng(seed)
    loss_fn = CLASSIFICATION[labels.kind]
    with progress() as bar:
        task = bar.add_task(f"train evaluator ({labels.name})", total=steps)
        for _ in range(epochs):
            model.train()
            order = rng.permutation(len(train))
            for i in range(len(train) // batch_size):
                rows = np.sort(order[i * batch_size : (i + 1) * batch_size])
                x = to_tensor(train.images[rows])
                x = torch.where(torch.rand(len(rows))[:, None, None, None] < 0.5, x.flip(3), x)
                loss = loss_fn(model(x), torch.from_numpy(train.labels[rows]))
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                bar.advance(task)
    model.eval()
    pred = predict(classify(model, test.images), labels)
    return model, attribute_accuracy(pred, torch.from_numpy(test.labels), labels)


def load_or_train(dataset: PreparedDataset, retrain: bool = False) -> tuple[nn.Module, list[float]]:
    """The cached evaluator of `dataset` and its per-attribute accuracy on real test images."""
    path: Path = dataset.root / CACHE_NAME
    key = dataset.manifest_sha256[:16]
    if path.is_file() and not retrain:
        try:
            with safe_open(str(path), "pt") as handle:
                meta = handle.metadata() or {}
            if meta.get("manifest_hash") == key:
                model = AttributeClassifier(len(dataset.labels.attributes))
                model.load_state_dict(load_file(str(path)))
                return model.eval(), json.loads(meta["accuracy"])
        except (SafetensorError, OSError, KeyError, RuntimeError, ValueError):
            pass  # a damaged or stale cache is simply retrained
    model, accuracy = train_classifier(dataset)
    tmp = path.with_name(path.name + ".tmp")
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp), metadata={"manifest_hash": key, "accuracy": json.dumps(accuracy)})
    tmp.replace(path)
    info(f"evaluator for {dataset.name}: real test accuracy {np.mean(accuracy):.2%} (cached at {path})")
    return model, accuracy
