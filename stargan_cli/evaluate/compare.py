"""`stargan compare`: several models scored on the same test images with the same evaluator, side by side.

Every model is scored as `stargan evaluate` scores it (evaluate/metrics.py), on the test split of the first
model's datasets (or --data), with one difference that makes the columns comparable: a target is scored
only on the images every model that has the target translates. A StarGAN model's Black_Hair is then
scored on the blond faces a black <-> blond CycleGAN sends to black, not also on the brown-haired ones;
a target only some models have (StarGAN's Male beside two-domain models) is scored for those, on their
own images, and the others' cells are marked as not done.

Beside the scores, what each run says about its cost: the parameters of the exported networks (what
translates) and of all the networks trained, training images per second (median of metrics.jsonl's
intervals) and training minutes (their sum; runs of earlier versions did not record it: "-").

Writes `<out>.json` (every model's scores and facts) and `<out>.png`: rows of the same test faces, the
input, then per target one column per model, the target named above its group and the models under it.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from rich.table import Table
from torch import nn

from ..checkpoint import ModelInfo, load_exported, model_file
from ..console import info as say
from ..console import warn
from ..data.prepared import PreparedDataset
from ..errors import CheckpointError, DatasetError
from ..files import replaced
from ..images import grid, save_image, to_tensor
from ..inference import covered_rows, model_targets
from ..models.spec import Translator
from ..train.progress import read_metrics
from .fid import feature_network, real_features
from .guided import OUTPUTS, Protocol, modes
from .lpips import PixelL1
from .metrics import AttributeScore, pair_scores, pair_sums
from .picture import TEXT, _font, _scaled, _wrapped
from .run import _datasets_for, _evaluators, _l1, _mean_distances, _pct, _weighted, check_counts

FIELDS = ("target_accuracy", "preservation", "reconstruction_l1", "counterfactual_l1", "identity_l1")


@dataclass
class Entry:
    """One model of the comparison."""

    name: str  # its column header: the method, or the method and the run when two share a method
    path: Path
    info: ModelInfo
    translator: Translator
    facts: dict  # parameters, images/s, minutes
    scores: list[AttributeScore] = field(default_factory=list)

    def dataset_index(self, name: str) -> int:
        return self.info.label_space.dataset_index(name)

    def targets(self, dataset: str) -> tuple[str, ...]:
        return self.translator.targets(self.dataset_index(dataset))

    def score(self, dataset: str, attribute: str) -> AttributeScore | None:
        return next((s for s in self.scores if (s.dataset, s.attribute) == (dataset, attribute)), None)


@dataclass
class Comparison:
    path: Path
    entries: list[Entry]
    targets: list[tuple[str, str]]  # (dataset, attribute) in the datasets' order
    shared: list[tuple[str, str]]  # the targets every model has
    picture: Path

    def summary(self, entry: Entry) -> dict[str, float | None]:
        """The model's scores over the shared targets, weighted by pairs."""
        chosen = [s for s in entry.scores if (s.dataset, s.attribute) in self.shared]
        return {f: _weighted(chosen, f) for f in FIELDS} | _mean_distances(chosen)


def _facts(path: Path, networks: dict[str, torch.nn.Module], info: ModelInfo) -> dict:
    """Parameters of the exported networks (what translates; StarGAN's discriminator reads the source
    attributes) and of every network the method trains (shared ones once, frozen ones not; built on the meta
    device from the model's config); images/s and minutes of training."""
    facts: dict = {"parameters": sum(p.numel() for n in networks.values() for p in n.parameters())}
    with torch.device("meta"):
        built = info.method.model.build(info.config, info.label_space)
    trained = [net for name, net in built.items() if name not in info.method.training.frozen]
    unique = {id(p): p for net in trained for p in net.parameters()}
    facts["trained_parameters"] = sum(p.numel() for p in unique.values())
    run = path if path.is_dir() else path.parent
    records, damaged = read_metrics(run / "metrics.jsonl")
    if damaged:
        warn(f"{run / 'metrics.jsonl'}: {damaged} damaged line(s) left out; its training minutes are unknown")
    rates = [r for r in (_number(r.get("images/s")) for r in records) if r is not None]
    facts["images_per_s"] = statistics.median(rates) if rates else None
    seconds = [s for s in (_number(r.get("seconds")) for r in records) if s is not None]
    complete = records and not damaged and len(seconds) == len(records)
    facts["minutes"] = sum(seconds) / 60 if complete else None
    return facts


def _number(value) -> float | None:
    """A finite number of a metrics record, else None (a damaged or edited value)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _names(infos: list[tuple[Path, ModelInfo]]) -> list[str]:
    methods = [info.architecture for _, info in infos]
    names = []
    for path, info in infos:
        run = path if path.is_dir() else path.parent
        name = (
            info.architecture if methods.count(info.architecture) == 1 else f"{info.architecture} {run.name}"
        )
        names.append(name + (" (latent)" if "latent" in modes(info.method.model) else ""))
    if len(set(names)) != len(names):
        raise CheckpointError("two of the models are the same run; name each model once")
    return names


def _common(entry: Entry, peers: list[Entry], dataset: str) -> Callable:
    """(target name, source, target labels) -> the rows every peer with that target covers."""

    def rows(name: str, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        keep = torch.ones(len(source), dtype=torch.bool, device=source.device)
        for peer in peers:
            if peer is not entry and name in peer.targets(dataset):
                keep &= peer.translator.covers(peer.dataset_index(dataset), source, target).to(keep.device)
        return keep

    return rows


def compare(
    models: list[str | Path],
    data: list[str] | None = None,
    out: str | Path = "comparison.json",
    limit: int | None = None,
    device: str = "cpu",
    batch_size: int = 64,
    evaluator: str = "auto",
    *,
    fid: bool = True,
    fid_weights: str | Path | None = None,
    fid_images: int = 1000,
    features: nn.Module | None = None,
    outputs: int = OUTPUTS,
) -> Comparison:
    """Score `models` side by side. FID/KID as `evaluate` computes them: with `features` (a stand-in) or the
    Inception when its weights are found; the real images' features are computed once for all models. A
    method that takes guides (StarGAN v2) is scored in latent mode, `outputs` sampled styles per pair (the
    paper's headline protocol; `evaluate` adds reference mode and diversity)."""
    if len(models) < 2:
        raise DatasetError("compare needs at least two models (run directories or model files)")
    path = Path(out)
    if path.is_dir() or path.suffix != ".json":
        raise DatasetError(f"--out {path}: give the comparison's file name, e.g. comparison.json")
    check_counts(batch_size, limit, fid_images, outputs)
    features, weights, fid_note = feature_network(fid, fid_weights, features)  # a wrong path fails early
    loaded = []
    for model in models:
        networks, info = load_exported(Path(model))
        loaded.append((Path(model), networks, info))
    datasets = _datasets_for(loaded[0][0], data)
    first = loaded[0][2]
    for model, _, info in loaded:
        names = [d.name for d in info.label_space.datasets]
        missing = [ds.name for ds in datasets if ds.name not in names]
        if missing or info.config.image_size != first.config.image_size:
            raise CheckpointError(
                f"{model} was trained on {', '.join(names)} at {info.config.image_size} px; the comparison is on "
                f"{', '.join(ds.name for ds in datasets)} at {first.config.image_size} px: compare models of "
                "the same data"
            )
        for ds in datasets:
            attributes = info.label_space.datasets[info.label_space.dataset_index(ds.name)].attributes
            if attributes != ds.labels.attributes:
                raise CheckpointError(f"{model} names the attributes of {ds.name} differently than {ds.root}")
    evaluators, described = _evaluators(datasets, first, False, evaluator, torch.device(device))
    if fid_note:
        warn(fid_note)
    real = real_features(datasets, features, fid_images, batch_size, device) if features is not None else {}
    names = _names([(m, info) for m, _, info in loaded])
    entries = [
        Entry(name, model, info, info.method.model.translator({k: v.to(device) for k, v in nets.items()},
              info.label_space, info.config), _facts(model, nets, info))
        for name, (model, nets, info) in zip(names, loaded, strict=True)
    ]  # fmt: skip
    for entry in entries:
        say(f"{entry.name}: {entry.path}")
        latent = "latent" in modes(entry.info.method.model)
        for ds in datasets:
            protocol = Protocol("latent", PixelL1(), ds, outputs, device) if latent else None
            part = pair_sums(
                entry.translator, ds, ds, evaluators, batch_size, limit, device,
                features=features, common=_common(entry, entries, ds.name), protocol=protocol,
            )  # fmt: skip
            guide = "latent" if latent else ""
            entry.scores += pair_scores(
                part, entry.info.label_space, ds, ds, evaluators, real.get(ds.name), guide
            )
    targets = [(ds.name, a) for ds in datasets for a in ds.labels.attributes]
    targets = [t for t in targets if any(e.score(*t) is not None for e in entries)]
    shared = [t for t in targets if all(t[1] in e.targets(t[0]) for e in entries)]
    picture = path.with_suffix(".png")
    result = Comparison(path, entries, targets, shared, picture)
    comparison_picture(picture, result, datasets, evaluators, device)
    report = {
        "datasets": described,
        "targets": [list(t) for t in targets],
        "shared_targets": [list(t) for t in shared],
        "fid": {
            "features": None if features is None else type(features).__name__,
            "weights": str(weights) if weights else None,
            "real_images_per_domain": fid_images,
            "note": fid_note,
        },
        "models": [
            {
                "name": e.name,
                "path": str(model_file(e.path)),
                "architecture": e.info.architecture,
                "step": e.info.step,
                "weights": e.info.weights,
                **e.facts,
                "shared_summary": result.summary(e),
                "scores": [s.to_dict() for s in e.scores],
            }
            for e in entries
        ],
        "picture": str(picture),
    }
    with replaced(path) as tmp:
        tmp.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return result


# ----- tables -----------------------------------------------------------------------------------------------
def _fid(v: float | None, scale: float = 1.0) -> str:
    return "-" if v is None else f"{v * scale:.2f}"


def _scores_row(target: str, model: str, pairs: int | None, s: dict, distances: bool) -> list[str]:
    row = [
        target,
        model,
        "" if pairs is None else str(pairs),
        _pct(s["target_accuracy"]),
        _pct(s["preservation"]),
        _l1(s["reconstruction_l1"]),
        _l1(s["counterfactual_l1"]),
    ]
    return row + ([_fid(s["fid"]), _fid(s["kid"], 1e3)] if distances else [])


def tables(result: Comparison) -> list[Table]:
    """The models' costs; then the scores, a group of rows per target (a row per model, `n/a` where the
    model lacks the target, and doing nothing as the baseline on toy data), last the shared targets' means."""
    models = Table(title="models", title_justify="left", caption_justify="left")
    for col in ("model", "step", "params out / all", "img/s", "min"):
        models.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
    for e in result.entries:
        f = e.facts
        models.add_row(
            e.name,
            str(e.info.step),
            f"{f['parameters'] / 1e6:.2f} / {f['trained_parameters'] / 1e6:.2f} M",
            "-" if f["images_per_s"] is None else f"{f['images_per_s']:.0f}",
            "-" if f["minutes"] is None else f"{f['minutes']:.1f}",
        )
    models.caption = "params: the exported networks / every network trained | img/s, min: training"
    distances = any(s.fid is not None for e in result.entries for s in e.scores)
    scores = Table(
        title="scores", title_justify="left", caption_justify="left", show_edge=False
    )  # fits 80 columns with FID/KID
    for col in (
        "target",
        "model",
        "pairs",
        "acc",
        "kept",
        "rec",
        "truth",
        *(("FID", "KID") if distances else ()),
    ):
        scores.add_column(col, justify="left" if col in ("target", "model") else "right", no_wrap=True)
    empty = dict.fromkeys((*FIELDS, "fid", "kid"))
    groups = [(a, {e.name: e.score(d, a) for e in result.entries}) for d, a in result.targets]
    for attribute, by_model in groups:
        done = [s for s in by_model.values() if s is not None]
        for i, (name, score) in enumerate(by_model.items()):
            label = attribute if i == 0 else ""
            if score is None:
                scores.add_row(label, name, "", "n/a", *[""] * (len(scores.columns) - 4))
            else:
                scores.add_row(*_scores_row(label, name, score.pairs, score.to_dict(), distances))
        noop = done[0].identity_l1
        if noop is not None:
            scores.add_row(*_scores_row("", "noop", None, empty | {"counterfactual_l1": noop}, distances))
        scores.rows[-1].end_section = True
    for i, e in enumerate(result.entries):  # the shared targets' means: the fair single number per model
        chosen = [e.score(*t) for t in result.shared]
        scores.add_row(
            *_scores_row("shared" if i == 0 else "", e.name, sum(s.pairs for s in chosen), result.summary(e), distances),
            style="bold",
        )  # fmt: skip
    noop = result.summary(result.entries[0])["identity_l1"]
    if noop is not None:
        scores.add_row(*_scores_row("", "noop", None, empty | {"counterfactual_l1": noop}, distances))
    shared = ", ".join(a for _, a in result.shared)
    scores.caption = (
        f"shared: mean over the targets every model has ({shared}), on the same images | acc: target reached | "
        "kept: other attributes preserved | rec: L1 of x vs the translation translated back | truth: L1 to the "
        "rendered counterfactual (toy data) | noop: the input left as it is | n/a: the model does not translate "
        "to that target"
        + (
            " | (latent): a guided method, the mean over sampled styles per pair (no single right answer: no truth)"
            if any(s.guide for e in result.entries for s in e.scores)
            else ""
        )
        + (
            " | FID, KID (x1e3): translations setting the attribute vs real images having it"
            if distances
            else ""
        )
    )
    return [models, scores]


# ----- picture ------------------------------------------------------------------------------------------------
@torch.no_grad()
def comparison_picture(
    path: Path, result: Comparison, datasets: list[PreparedDataset], evaluators, device, rows: int = 4
) -> Path:
    ds = datasets[0]  # the faces of the first dataset, the same for every model
    test = ds.split("test")
    covered = None
    for e in result.entries:
        mine = set(covered_rows(e.translator, e.dataset_index(ds.name), test.labels).tolist())
        covered = mine if covered is None else covered & mine
    shared = [ds.labels.attributes.index(a) for d, a in result.shared if d == ds.name]
    chosen = np.array(_alternating(sorted(covered), test.labels[:, shared], rows) or [0])
    x = to_tensor(test.images[chosen], device).contiguous()
    labels = torch.from_numpy(test.labels[chosen]).to(device)
    columns, heads = [x], [("", "input")]
    blank = _blank(x)
    translations = {}
    for e in result.entries:  # each model's targets; a face it does not translate to one: the blank cell
        d = e.dataset_index(ds.name)
        translations[e.name] = {
            name: torch.where(
                e.translator.covers(d, labels, trg)[:, None, None, None],
                e.translator.translate(x, d, trg),
                blank,
            )
            for name, trg in model_targets(e.translator, d, labels)
        }
    for dataset, attribute in result.targets:
        if dataset != ds.name:
            continue
        for e in result.entries:
            columns.append(translations[e.name].get(attribute, blank))
            heads.append((attribute, e.name))
    image, scale = _scaled(grid(columns), ds.image_size)
    cell = (ds.image_size + 2) * scale
    font = _font(12)
    header = Image.new("RGB", (image.width, 54), "white")  # the target, then the model's name in two lines
    draw = ImageDraw.Draw(header)
    last = None
    for j, (target, model) in enumerate(heads):
        left = 2 * scale + j * cell + 2
        if target != last:
            draw.text((left, 3), target, TEXT, font)
            if j:
                draw.line([left - 3, 0, left - 3, header.height - 1], fill=(160, 160, 160))
            last = target
        for k, line in enumerate(_wrapped(model, max(4, cell // 7))):
            draw.text((left, 21 + 14 * k), line, TEXT, font)
    out = Image.new("RGB", (image.width, header.height + image.height), "white")
    out.paste(header, (0, 0))
    out.paste(image, (0, header.height))
    return save_image(np.asarray(out), path)


def _alternating(candidates: list[int], labels: np.ndarray, rows: int) -> list[int]:
    """`rows` of the candidates taking turns between their labels (the shared targets' columns: a blond face,
    then a black-haired one, ...), each kind in test order, so that every direction of a two-domain task
    shows."""
    kinds: dict[bytes, list[int]] = {}
    for row in candidates:
        kinds.setdefault(labels[row].tobytes(), []).append(row)
    queues = list(kinds.values())
    chosen: list[int] = []
    while len(chosen) < rows and any(queues):
        for queue in queues:
            if queue and len(chosen) < rows:
                chosen.append(queue.pop(0))
    return chosen


def _blank(x: torch.Tensor) -> torch.Tensor:
    """A mid-grey cell with a dark cross: the model has no such target."""
    size = x.shape[-1]
    cell = torch.zeros_like(x)
    diagonal = torch.arange(size, device=x.device)
    cell[:, :, diagonal, diagonal] = -0.6
    cell[:, :, diagonal, size - 1 - diagonal] = -0.6
    return cell
