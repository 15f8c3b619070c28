"""`stargan evaluate`: score a trained generator on the test splits of its datasets.

Writes report.json (scores per attribute, summary, checkpoint metadata, dataset manifest hashes) and
prints a table. The datasets come from the run's config.json, or from `--data` for a bare model file.
Under several processes (`torchrun ... -m stargan_cli evaluate RUN`, README), the test batches are shared
out, gathered, and added in batch order on the main process: the same numbers as one process.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from rich.table import Table
from torch import nn

from ..accelerators import check_device
from ..checkpoint import load_exported, model_file
from ..console import info as say
from ..console import warn
from ..data.prepared import PreparedDataset
from ..errors import CheckpointError, DatasetError
from ..files import replaced
from ..train.rundir import read_config
from .classifier import load_or_train, resolve
from .fid import feature_network, real_features
from .guided import OUTPUTS, Protocol, modes
from .lpips import diversity_network
from .metrics import AttributeScore, Evaluator, pair_scores, pair_sums
from .picture import report_picture


@dataclass
class Report:
    path: Path
    scores: list[AttributeScore]
    summary: dict[str, float | None]
    data: dict
    picture: Path


def check_counts(batch_size: int, limit: int | None, fid_images: int, outputs: int = OUTPUTS) -> None:
    """The numbers evaluate and compare take, checked before any work."""
    if batch_size < 1:
        raise DatasetError(f"--batch-size must be at least 1, got {batch_size}")
    if limit is not None and limit < 1:
        raise DatasetError(f"--limit must be at least 1 test image, got {limit}")
    if fid_images < 2:
        raise DatasetError(f"--fid-images must be at least 2 (FID needs a covariance), got {fid_images}")
    if outputs < 1:
        raise DatasetError(f"--outputs must be at least 1 translation per test image, got {outputs}")


def _datasets_for(model: Path, data: list[str] | None) -> list[PreparedDataset]:
    if data:
        return [PreparedDataset(p) for p in data]
    run_dir = model if model.is_dir() else model.parent
    if not (run_dir / "config.json").is_file():
        raise DatasetError(
            f"{model} is not in a run directory; say which prepared datasets to use with --data DIR"
        )
    return [PreparedDataset(p) for p in read_config(run_dir).data.datasets]


def _weighted(scores: list[AttributeScore], field: str) -> float | None:
    values = [(getattr(s, field), s.pairs) for s in scores if getattr(s, field) is not None]
    total = sum(n for _, n in values)
    return sum(v * n for v, n in values) / total if total else None


def _evaluators(
    datasets: list[PreparedDataset], info, retrain: bool, arch: str, device: torch.device
) -> tuple[dict[str, Evaluator], dict]:
    """Check that each dataset fits the model, then load (or train) its evaluator; also the report's
    description of the datasets."""
    names = [d.name for d in info.label_space.datasets]
    evaluators: dict[str, Evaluator] = {}
    described = {}
    for ds in datasets:
        if ds.name not in names:
            raise CheckpointError(
                f"the model was trained on {', '.join(names)}; {ds.root} holds {ds.name}. Pass --data with one of those"
            )
        if ds.image_size != info.config.image_size:
            raise CheckpointError(
                f"the model works on {info.config.image_size} px images; {ds.root} holds {ds.image_size} px"
            )
    for ds in datasets:
        evaluators[ds.name] = Evaluator(*load_or_train(ds, retrain, arch, device))
        described[ds.name] = {
            "path": str(ds.root),
            "manifest_sha256": ds.manifest_sha256,
            "evaluator": resolve(arch, ds.image_size),
            "evaluator_accuracy": dict(zip(ds.labels.attributes, evaluators[ds.name].accuracy, strict=True)),
        }
    return evaluators, described


def evaluate(
    model: str | Path,
    data: list[str] | None = None,
    out: str | Path | None = None,
    limit: int | None = None,
    retrain_evaluator: bool = False,
    device: str | None = "cpu",
    batch_size: int = 64,
    *,
    evaluator: str = "auto",
    fid: bool = True,
    fid_weights: str | Path | None = None,
    fid_images: int = 1000,
    features: nn.Module | None = None,
    outputs: int = OUTPUTS,
    lpips_weights: str | Path | None = None,
    lpips_backbone: str | Path | None = None,
) -> Report | None:
    """Score `model`; returns the Report on the main process (None on the others).

    FID/KID use `features` when given (a stand-in network), else the FID Inception when its weights are
    found (see evaluate/fid.py), with up to `fid_images` real training images per target domain. A method
    that takes guides is scored in each of its modes with `outputs` translations per pair and their
    diversity (LPIPS from the two local files, else a named stand-in; evaluate/guided.py)."""
    from accelerate.utils import gather_object

    from ..accelerators import describe, fresh_accelerator

    check_counts(batch_size, limit, fid_images, outputs)
    check_device(device or "auto", allow_auto=True)
    features, weights, fid_note = feature_network(fid, fid_weights, features)  # a wrong path fails early
    model = Path(model)
    networks, info = load_exported(model)  # every exported network there (CycleGAN: both directions)
    guided = modes(info.method.model)
    distance, diversity_note = diversity_network(lpips_weights, lpips_backbone) if guided else (None, None)
    accelerator = fresh_accelerator(keep_process_group=False, cpu=device == "cpu")
    device = accelerator.device
    rank, world, main = accelerator.process_index, accelerator.num_processes, accelerator.is_main_process
    if main:
        say(f"evaluating on {describe(accelerator, 'fp32', batch_size)}")
    translator = info.method.model.translator(
        {k: v.to(device) for k, v in networks.items()}, info.label_space, info.config
    )
    datasets = _datasets_for(model, data)
    with accelerator.main_process_first():  # the main process trains and caches; the others load
        evaluators, described = _evaluators(datasets, info, retrain_evaluator and main, evaluator, device)
    for note in (fid_note, diversity_note):
        if note and main:
            warn(note)

    def gathered(part: list) -> list:
        return gather_object(part) if world > 1 else part

    real: dict[str, dict[str, torch.Tensor]] = {}  # per target dataset, per attribute
    if features is not None:
        real = real_features(datasets, features, fid_images, batch_size, device, rank, world, gathered)
    scores: list[AttributeScore] = []
    for mode in guided or [""]:
        for source in datasets:  # each dataset's own targets first, then the other datasets' targets
            for target in sorted(datasets, key=lambda d: d is not source):
                protocol = Protocol(mode, distance, target, outputs, device) if mode else None
                part = pair_sums(
                    translator, source, target, evaluators, batch_size, limit, device, rank, world,
                    features, protocol=protocol,
                )  # fmt: skip
                scores += pair_scores(
                    gathered(part), info.label_space, source, target, evaluators, real.get(target.name), mode
                )
    if not main:
        return None
    fields = (
        "target_accuracy", "preservation", "reconstruction_l1", "counterfactual_l1", "identity_l1", "diversity",
    )  # fmt: skip
    summary = {f: _weighted(scores, f) for f in fields} | _mean_distances(scores)
    groups = list(dict.fromkeys(_pair(s) for s in scores))  # in order of first appearance
    by_pair = {}
    for g in groups:
        group = [s for s in scores if _pair(s) == g]
        by_pair[g] = {f: _weighted(group, f) for f in fields} | _mean_distances(group)
    file = model_file(model)
    report = {
        "model": str(file),
        "architecture": info.architecture,
        "step": info.step,
        "weights": info.weights,
        "label_space": json.loads(info.label_space.to_json()),
        "model_config": asdict(info.config),
        "datasets": described,
        "fid": {
            "features": None if features is None else type(features).__name__,
            "weights": str(weights) if weights else None,
            "real_images_per_domain": fid_images,
            "note": fid_note,
        },
        "guided": None
        if not guided
        else {"modes": guided, "outputs": outputs, "diversity": distance.name, "note": diversity_note},
        "summary": summary,
        "by_pair": by_pair,
        "scores": [s.to_dict() for s in scores],
    }
    path = Path(out) if out else file.parent / "report.json"
    if path.is_dir():
        raise DatasetError(
            f"--out {path} is a folder; give the report's file name, e.g. {path / 'report.json'}"
        )
    picture = path.with_suffix(".png")
    report["picture"] = str(picture)
    report_picture(
        picture, translator, datasets, evaluators, scores, device, bool(guided)
    )  # checks the folder first
    with replaced(path) as tmp:
        tmp.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return Report(path, scores, summary, report, picture)


def truth_lines(report: Report) -> list[str]:
    """Where the exact counterfactual is known (toyfaces), one line per group of pairs saying how far the
    translations are from it against the untouched input: the number that tells a blurred translation
    from a good one when accuracy alone cannot."""
    lines = []
    for group, s in report.data["by_pair"].items():
        truth, noop = s.get("counterfactual_l1"), s.get("identity_l1")
        if truth is None or not noop:
            continue
        verdict = "better than leaving it as it is" if truth < noop else "worse than leaving it as it is"
        lines.append(
            f"{group}: translations are {truth / noop:.2f}x as far from the true counterfactual as the "
            f"untouched input (L1 {truth:.3f} vs {noop:.3f}), {verdict}"
        )
    return lines


def _mean_distances(scores: list[AttributeScore]) -> dict[str, float | None]:
    """FID and KID averaged over target domains (unweighted, as papers report a mean over domains)."""
    out: dict[str, float | None] = {}
    for field in ("fid", "kid"):
        values = [getattr(s, field) for s in scores if getattr(s, field) is not None]
        out[field] = sum(values) / len(values) if values else None
    return out


def _pair(score: AttributeScore) -> str:
    """`toy-celeba` for a dataset's own targets, `toy-celeba -> toy-rafd` across datasets; a guided method's
    mode after it: `toy-celeba, reference`."""
    pair = score.dataset if score.source in ("", score.dataset) else f"{score.source} -> {score.dataset}"
    return f"{pair}, {score.guide}" if score.guide else pair


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _l1(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


COLUMNS = ("pairs", "acc", "kept", "rec", "truth", "noop")
DISTANCES = ("FID", "KIDx1e3")
LEGEND = (
    "acc: target reached | kept: other attributes preserved | rec: L1 of x vs G(G(x,c),c_org) | truth: L1 to "
    "the rendered counterfactual | noop: L1 of doing nothing | ceil: evaluator on real images | L1 in [0,1]"
)
FID_LEGEND = " | FID, KID: translations setting the attribute vs real images having it"
DIVERSITY_LEGEND = (
    " | div: mean {} between the outputs of one input (latent: seeds; reference: reference images)"
)


def _row(name: str, pairs: int, s: dict, distances: bool, diverse: bool = False) -> list[str]:
    row = [
        name,
        str(pairs),
        _pct(s["target_accuracy"]),
        _pct(s["preservation"]),
        _l1(s["reconstruction_l1"]),
        _l1(s["counterfactual_l1"]),
        _l1(s["identity_l1"]),
    ]
    if distances:
        row += [
            "-" if s["fid"] is None else f"{s['fid']:.2f}",
            "-" if s["kid"] is None else f"{s['kid'] * 1e3:.2f}",
        ]
    if diverse:
        row.append("-" if s.get("diversity") is None else f"{s['diversity']:.4f}")
    return row


def _table(title: str, caption: str | None, first: str, extra: tuple[str, ...]) -> Table:
    t = Table(title=title, caption=caption, title_justify="left")
    for col in (first, *COLUMNS, *extra):
        t.add_column(col, justify="left" if col == first else "right", no_wrap=col == first)
    return t


def tables(report: Report) -> list[Table]:
    """One table per (images, target dataset) pair: a row per target attribute and the pair's mean; with
    several pairs, a last table of the pairs' means and the overall mean. The legend is the caption."""
    groups = list(report.data["by_pair"])
    dist = any(s.fid is not None for s in report.scores)
    guided = report.data.get("guided")
    legend = (
        LEGEND
        + (FID_LEGEND if dist else "")
        + (DIVERSITY_LEGEND.format(guided["diversity"]) if guided else "")
    )
    extra = (DISTANCES if dist else ()) + (("div",) if guided else ())
    out = []
    for i, group in enumerate(groups):
        scores = [s for s in report.scores if _pair(s) == group]
        last = i == len(groups) - 1 and len(groups) == 1
        t = _table(
            f"{group} (step {report.data['step']}{', EMA' if report.data.get('weights') == 'ema' else ''})",
            legend if last else None,
            "target",
            (*extra, "ceil"),
        )
        for s in scores:
            t.add_row(
                *_row(s.attribute, s.pairs, s.to_dict(), dist, bool(guided)), _pct(s.evaluator_accuracy)
            )
        mean = report.data["by_pair"][group]
        t.add_row(*_row("all", sum(s.pairs for s in scores), mean, dist, bool(guided)), "", style="bold")
        out.append(t)
    if len(groups) > 1:
        t = _table("summary", legend, "images -> targets", extra)
        for group in groups:
            pairs = sum(s.pairs for s in report.scores if _pair(s) == group)
            t.add_row(*_row(group, pairs, report.data["by_pair"][group], dist, bool(guided)))
        t.add_row(
            *_row("all", sum(s.pairs for s in report.scores), report.summary, dist, bool(guided)),
            style="bold",
        )
        out.append(t)
    return out
