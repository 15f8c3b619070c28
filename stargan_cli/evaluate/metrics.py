"""Translation metrics on a prepared test split, per target attribute.

For every test image and every single-attribute target that changes it (set a hair colour it does not
have, flip a binary attribute, another expression):
- target accuracy: the evaluator reads the target on the translation (for an exclusive group, the whole
  group must match: the new colour on, the others off);
- preservation: the attributes the target does not touch keep the source value;
- reconstruction L1: |x - G(G(x, c_trg), c_org)|, in [0, 1] pixel units;
- counterfactual L1 (toyfaces only): |G(x, c_trg) - the exactly rendered face with the target|, with the
  L1 of doing nothing (the input against the counterfactual) beside it as the baseline to beat.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ..console import progress
from ..data.prepared import PreparedDataset
from ..data.readers.toyfaces import face_of_source, render, with_labels
from ..images import to_tensor
from ..inference import translate
from ..labels import LabelSpace
from .classifier import classify, predict


@dataclass
class AttributeScore:
    dataset: str
    attribute: str
    pairs: int  # (image, target) pairs that change the image
    target_accuracy: float
    preservation: float | None  # None for single-label datasets (nothing else to preserve)
    reconstruction_l1: float
    counterfactual_l1: float | None = None
    identity_l1: float | None = None
    evaluator_accuracy: float | None = None  # the evaluator's accuracy on real images: the ceiling

    def to_dict(self) -> dict:
        return asdict(self)


def _touched(labels: LabelSpace, dataset: int, attribute: str) -> list[int]:
    spec = labels.datasets[dataset]
    if spec.kind == "single":
        return list(range(len(spec.attributes)))
    group = spec.group_of(attribute)
    return [spec.index(a) for a in (group or (attribute,))]


def _counterfactuals(sources: list[str], targets: np.ndarray, size: int) -> torch.Tensor:
    rendered = []
    for source, target in zip(sources, targets, strict=True):
        face, style = face_of_source(source)
        rendered.append(render(with_labels(face, style, target), size))
    return to_tensor(np.stack(rendered))


@torch.no_grad()
def score_dataset(
    generator: nn.Module,
    label_space: LabelSpace,
    dataset: PreparedDataset,
    evaluator: nn.Module,
    evaluator_accuracy: list[float],
    batch_size: int = 64,
    limit: int | None = None,
    device: torch.device | str = "cpu",
) -> list[AttributeScore]:
    d = label_space.dataset_index(dataset.name)
    spec = label_space.datasets[d]
    test = dataset.split("test")
    n = min(len(test), limit) if limit else len(test)
    sources = dataset.files("test")[:n]
    toy = dataset.manifest.get("toyfaces") is not None
    sums: dict[str, dict[str, float]] = {a: {} for a in spec.attributes}
    with progress() as bar:
        task = bar.add_task(f"evaluate {dataset.name}", total=n)
        for start in range(0, n, batch_size):
            rows = slice(start, min(n, start + batch_size))
            x = to_tensor(test.images[rows], device)
            org = torch.from_numpy(test.labels[rows]).to(device)
            for name, trg in label_space.single_targets(d, org):
                changed = (trg != org).any(1)
                if not changed.any():
                    continue
                x_c, org_c, trg_c = x[changed], org[changed], trg[changed]
                fake = translate(generator, x_c, label_space, [(d, trg_c)])
                rec = translate(generator, fake, label_space, [(d, org_c)])
                pred = predict(classify(evaluator, fake.cpu()), spec).to(device)
                touched = _touched(label_space, d, name)
                kept = [i for i in range(len(spec.attributes)) if i not in touched]
                s = sums[name]
                s["pairs"] = s.get("pairs", 0) + len(x_c)
                s["hit"] = s.get("hit", 0) + (pred[:, touched] == trg_c[:, touched]).all(1).sum().item()
                if kept:
                    s["kept"] = s.get("kept", 0) + (pred[:, kept] == org_c[:, kept]).float().sum().item()
                    s["kept_n"] = s.get("kept_n", 0) + len(x_c) * len(kept)
                s["rec"] = s.get("rec", 0) + (rec - x_c).abs().mean((1, 2, 3)).sum().item() / 2
                if toy:
                    idx = [sources[i] for i in range(rows.start, rows.stop) if changed[i - rows.start]]
                    truth = _counterfactuals(idx, trg_c.cpu().numpy(), dataset.image_size).to(device)
                    s["cf"] = s.get("cf", 0) + (fake - truth).abs().mean((1, 2, 3)).sum().item() / 2
                    s["id"] = s.get("id", 0) + (x_c - truth).abs().mean((1, 2, 3)).sum().item() / 2
            bar.advance(task, rows.stop - rows.start)
    scores = []
    for i, name in enumerate(spec.attributes):
        s = sums[name]
        pairs = int(s.get("pairs", 0))
        if not pairs:
            continue
        scores.append(
            AttributeScore(
                dataset=dataset.name,
                attribute=name,
                pairs=pairs,
                target_accuracy=s["hit"] / pairs,
                preservation=s["kept"] / s["kept_n"] if s.get("kept_n") else None,
                reconstruction_l1=s["rec"] / pairs,
                counterfactual_l1=s["cf"] / pairs if toy else None,
                identity_l1=s["id"] / pairs if toy else None,
                evaluator_accuracy=evaluator_accuracy[i],
            )
        )
    return scores
