"""Translation metrics on a prepared test split, per target attribute.

For every test image and every single-attribute target that changes it (set a hair colour it does not
have, flip a binary attribute, another expression), among the pairs the model translates (its translator's
`targets` and `covers`: every pair for StarGAN; for a two-domain model, its two domains' images, each
towards the other):
- target accuracy: the evaluator reads the target on the translation (for an exclusive group, the whole
  group must match: the new colour on, the others off);
- preservation: the attributes the target does not touch keep the source value;
- reconstruction L1: |x - G(G(x, c_trg), c_org)|, in [0, 1] pixel units;
- counterfactual L1 (toyfaces only): |G(x, c_trg) - the exactly rendered face with the target|, with the
  L1 of doing nothing (the input against the counterfactual) beside it as the baseline to beat.

A method that takes guides (StarGAN v2) is scored as its paper does, once per mode (evaluate/guided.py):
`outputs` translations of every pair, each from a sampled style (latent) or from a reference image of the
target domain (reference); the scores above are means over all outputs, the FID/KID of a domain take every
output, diversity is the mean distance between the outputs of one input, reconstruction translates back with
the input itself as the reference, and on toyfaces the exact answer of reference mode is the source face with
the reference's hair (latent mode has no single right answer: no truth).

Across datasets (joint training: a CelebA face given a RaFD expression, with RaFD's mask), the target is
read by the target dataset's evaluator, preservation covers all of the source dataset's attributes (read
by the source's evaluator), and a multi-label target dataset's source values are read by its evaluator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ..console import progress
from ..data.prepared import PreparedDataset
from ..data.readers.toyfaces import HAIR, face_of_source, render, with_labels, with_style_of
from ..images import to_tensor
from ..inference import model_targets, translate
from ..labels import LabelSpace
from ..models.spec import Translator
from .classifier import classify, predict
from .fid import distances
from .guided import Protocol
from .lpips import diversity


@dataclass
class AttributeScore:
    dataset: str  # the dataset whose attribute is the target
    attribute: str
    pairs: int  # (image, target) pairs that change the image
    target_accuracy: float
    preservation: float | None  # None when nothing else is there to preserve
    reconstruction_l1: float
    counterfactual_l1: float | None = None
    identity_l1: float | None = None
    fid: float | None = None  # translations setting the attribute vs real images having it
    kid: float | None = None
    evaluator_accuracy: float | None = None  # the evaluator's accuracy on real images: the ceiling
    source: str = ""  # the dataset of the translated images (= dataset unless across datasets)
    guide: str = ""  # a guided method's mode: "latent" or "reference" (evaluate/guided.py)
    diversity: float | None = None  # guided: mean distance between the outputs of one input

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ScoreBatch:
    """What one test batch adds: sums per target attribute, and translation features per target."""

    index: int
    sums: dict[str, dict[str, float]]
    features: dict[str, torch.Tensor]


@dataclass
class Evaluator:
    model: nn.Module
    accuracy: list[float]  # per attribute, on real test images


def _touched(labels: LabelSpace, dataset: int, attribute: str) -> list[int]:
    spec = labels.datasets[dataset]
    if spec.kind == "single":
        return list(range(len(spec.attributes)))
    group = spec.group_of(attribute)
    return [spec.index(a) for a in (group or (attribute,))]


def _counterfactuals(
    sources: list[str], style: str, targets: np.ndarray, size: int, references: list[str] | None = None
) -> torch.Tensor:
    """The exactly rendered faces with the targets; with `references` (reference mode, hair-colour targets),
    each with its reference's hair too (shade and cut: what a reference of that domain carries)."""
    rendered = []
    for i, (source, target) in enumerate(zip(sources, targets, strict=True)):
        face = with_labels(face_of_source(source)[0], style, target)
        if references is not None:
            face = with_style_of(face, face_of_source(references[i])[0])
        rendered.append(render(face, size))
    return to_tensor(np.stack(rendered))


def _counterfactual_style(source: PreparedDataset, target: PreparedDataset) -> str | None:
    """The toyfaces style to render exact counterfactuals in, when both datasets are toyfaces renders."""
    if source.manifest.get("toyfaces") is None:
        return None
    return (target.manifest.get("toyfaces") or {}).get("style")


def _add(sums: dict, key: str, value: float) -> None:
    sums[key] = sums.get(key, 0.0) + value


@torch.no_grad()
def pair_sums(
    translator: Translator,
    source: PreparedDataset,
    target: PreparedDataset,
    evaluators: dict[str, Evaluator],
    batch_size: int = 64,
    limit: int | None = None,
    device: torch.device | str = "cpu",
    rank: int = 0,
    world: int = 1,
    features: nn.Module | None = None,
    common: Callable[[str, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    protocol: Protocol | None = None,
) -> list[ScoreBatch]:
    """Sums per target attribute for each test batch this process handles: batch k belongs to process
    k % world, so every batch is computed exactly as one process computes it. With `features`, also the
    features of the translations whose target sets each attribute to 1 (for FID/KID). With `common`
    (target name, source labels, target labels) -> rows, only those rows of the pairs the model covers
    are scored (`stargan compare`: the pairs every model with that target covers). With `protocol`, a
    guided method's outputs of one mode (see the module's text)."""
    label_space = translator.label_space
    s, t = label_space.dataset_index(source.name), label_space.dataset_index(target.name)
    s_spec, t_spec = label_space.datasets[s], label_space.datasets[t]
    same = s == t
    test = source.split("test")
    n = min(len(test), limit) if limit else len(test)
    files = source.files("test")[:n]
    style = _counterfactual_style(source, target)
    label = source.name if same else f"{source.name} -> {target.name}"
    starts = list(range(0, n, batch_size))[rank::world]
    out = []
    with progress() as bar:
        task = bar.add_task(f"evaluate {label}", total=len(starts), visible=rank == 0)
        for start in starts:
            sums: dict[str, dict[str, float]] = {a: {} for a in t_spec.attributes}
            feats: dict[str, torch.Tensor] = {}
            rows = slice(start, min(n, start + batch_size))
            x = to_tensor(test.images[rows], device)
            org = torch.from_numpy(test.labels[rows]).to(device)
            if same:
                base = org
            elif t_spec.kind == "single":
                base = x.new_zeros(len(org), len(t_spec.attributes))
            else:  # the target dataset's attributes of these images, as its evaluator reads them
                base = predict(classify(evaluators[target.name].model, x), t_spec).to(device)
            for name, trg in model_targets(translator, t, base):
                changed = (
                    (trg != base).any(1)
                    if same or t_spec.kind == "multi"
                    else torch.ones_like(org[:, 0]).bool()
                )
                changed &= translator.covers(t, base, trg).to(changed.device)
                if common is not None:
                    changed &= common(name, base, trg).to(changed.device)
                if not changed.any():
                    continue
                x_c, org_c, trg_c = x[changed], org[changed], trg[changed]
                names = [files[i] for i in range(rows.start, rows.stop) if changed[i - rows.start]]
                touched = _touched(label_space, t, name)
                into = trg_c[:, t_spec.index(name)] > 0.5
                acc, fakes, parts = sums[name], [], []
                plans = (
                    [(None, None)] if protocol is None else protocol.guides(start // batch_size, name, x_c)
                )
                back = None if protocol is None else protocol.back(x_c)
                for guide, references in plans:
                    fake = translate(translator, x_c, [(t, trg_c)], guide)
                    rec = translate(translator, fake, [(s, org_c)], back)
                    pred = predict(classify(evaluators[target.name].model, fake), t_spec).to(device)
                    if features is not None and into.any():
                        parts.append(features(fake[into]).float().cpu())
                    _add(acc, "pairs", len(x_c))
                    _add(acc, "hit", (pred[:, touched] == trg_c[:, touched]).all(1).sum().item())
                    if same:
                        kept = [i for i in range(len(t_spec.attributes)) if i not in touched]
                        kept_pred, kept_org = pred[:, kept], org_c[:, kept]
                    else:
                        kept = list(range(len(s_spec.attributes)))
                        kept_pred = predict(classify(evaluators[source.name].model, fake), s_spec).to(device)
                        kept_org = org_c
                    if kept:
                        _add(acc, "kept", (kept_pred == kept_org).float().sum().item())
                        _add(acc, "kept_n", len(x_c) * len(kept))
                    _add(acc, "rec", (rec - x_c).abs().mean((1, 2, 3)).sum().item() / 2)
                    if style is not None and (protocol is None or references is not None):  # latent: none
                        carried = references if style == "celeba" and name in HAIR else None
                        truth = _counterfactuals(
                            names, style, trg_c.cpu().numpy(), source.image_size, carried
                        )
                        truth = truth.to(device)
                        _add(acc, "cf", (fake - truth).abs().mean((1, 2, 3)).sum().item() / 2)
                        _add(acc, "id", (x_c - truth).abs().mean((1, 2, 3)).sum().item() / 2)
                    fakes.append(fake)
                if parts:
                    feats[name] = torch.cat(parts)
                if protocol is not None and len(fakes) > 1:
                    _add(acc, "div", diversity(protocol.distance, fakes).sum().item())
                    _add(acc, "div_n", len(x_c))
            out.append(ScoreBatch(start // batch_size, sums, feats))
            bar.advance(task)
    return out


def pair_scores(
    batches: list[ScoreBatch],
    label_space: LabelSpace,
    source: PreparedDataset,
    target: PreparedDataset,
    evaluators: dict[str, Evaluator],
    real: dict[str, torch.Tensor] | None = None,
    guide: str = "",
) -> list[AttributeScore]:
    """Add the batches' sums in batch order (the same order whatever the number of processes); with
    `real` (features of real images per target attribute), FID and KID of each target domain. `guide`
    tags the scores of a guided method's mode."""
    t_spec = label_space.datasets[label_space.dataset_index(target.name)]
    sums: dict[str, dict[str, float]] = {a: {} for a in t_spec.attributes}
    batches = sorted(batches, key=lambda b: b.index)
    for batch in batches:
        for name, values in batch.sums.items():
            for key, value in values.items():
                _add(sums[name], key, value)
    scores = []
    for i, name in enumerate(t_spec.attributes):
        acc = sums[name]
        pairs = int(acc.get("pairs", 0))
        if not pairs:
            continue
        dist = None
        if real is not None and name in real:
            fake = [b.features[name] for b in batches if name in b.features]
            dist = distances(real[name], torch.cat(fake)) if fake else None
        scores.append(
            AttributeScore(
                dataset=target.name,
                attribute=name,
                pairs=pairs,
                target_accuracy=acc["hit"] / pairs,
                preservation=acc["kept"] / acc["kept_n"] if acc.get("kept_n") else None,
                reconstruction_l1=acc["rec"] / pairs,
                counterfactual_l1=acc["cf"] / pairs if "cf" in acc else None,
                identity_l1=acc["id"] / pairs if "id" in acc else None,
                fid=dist.fid if dist else None,
                kid=dist.kid if dist else None,
                evaluator_accuracy=evaluators[target.name].accuracy[i],
                source=source.name,
                guide=guide,
                diversity=acc["div"] / acc["div_n"] if acc.get("div_n") else None,
            )
        )
    return scores
