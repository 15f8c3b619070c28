"""`stargan evaluate`: score a trained generator on the test splits of its datasets.

Writes report.json (scores per attribute, summary, checkpoint metadata, dataset manifest hashes) and
prints a table. The datasets come from the run's config.json, or from `--data` for a bare model file.
Under several processes (`accelerate launch -m stargan_cli evaluate RUN`), the test batches are shared
out, gathered, and added in batch order on the main process: the same numbers as one process.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.table import Table

from ..checkpoint import load_model, model_file
from ..data.prepared import PreparedDataset
from ..errors import CheckpointError, DatasetError
from ..train.rundir import read_config
from .classifier import load_or_train
from .metrics import AttributeScore, Evaluator, pair_scores, pair_sums


@dataclass
class Report:
    path: Path
    scores: list[AttributeScore]
    summary: dict[str, float | None]
    data: dict


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


def evaluate(
    model: str | Path,
    data: list[str] | None = None,
    out: str | Path | None = None,
    limit: int | None = None,
    retrain_evaluator: bool = False,
    device: str | None = "cpu",
    batch_size: int = 64,
) -> Report | None:
    """Score `model`; returns the Report on the main process (None on the others)."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import gather_object

    if batch_size < 1:
        raise DatasetError(f"--batch-size must be at least 1, got {batch_size}")
    model = Path(model)
    generator, info = load_model(model)
    AcceleratorState._reset_state(True)
    accelerator = Accelerator(cpu=device == "cpu")
    device = accelerator.device
    rank, world, main = accelerator.process_index, accelerator.num_processes, accelerator.is_main_process
    generator.to(device)
    datasets = _datasets_for(model, data)
    evaluators: dict[str, Evaluator] = {}
    described = {}
    for ds in datasets:
        names = [d.name for d in info.label_space.datasets]
        if ds.name not in names:
            raise CheckpointError(
                f"the model was trained on {', '.join(names)}; {ds.root} holds {ds.name}. Pass --data with one of those"
            )
        if ds.image_size != info.config.image_size:
            raise CheckpointError(
                f"the model works on {info.config.image_size} px images; {ds.root} holds {ds.image_size} px"
            )
        with accelerator.main_process_first():  # the main process trains and caches; the others load
            evaluators[ds.name] = Evaluator(*load_or_train(ds, retrain_evaluator and main))
        described[ds.name] = {
            "path": str(ds.root),
            "manifest_sha256": ds.manifest_sha256,
            "evaluator_accuracy": dict(zip(ds.labels.attributes, evaluators[ds.name].accuracy, strict=True)),
        }
    scores: list[AttributeScore] = []
    for source in datasets:  # each dataset's own targets first, then the other datasets' targets
        for target in sorted(datasets, key=lambda d: d is not source):
            part = pair_sums(
                generator, info.label_space, source, target, evaluators, batch_size, limit, device, rank, world,
            )  # fmt: skip
            batches = gather_object(part) if world > 1 else part
            scores += pair_scores(batches, info.label_space, source, target, evaluators)
    if not main:
        return None
    fields = ("target_accuracy", "preservation", "reconstruction_l1", "counterfactual_l1", "identity_l1")
    summary = {f: _weighted(scores, f) for f in fields}
    groups = list(dict.fromkeys(_pair(s) for s in scores))  # in order of first appearance
    by_pair = {g: {f: _weighted([s for s in scores if _pair(s) == g], f) for f in fields} for g in groups}
    file = model_file(model)
    report = {
        "model": str(file),
        "architecture": info.architecture,
        "step": info.step,
        "label_space": json.loads(info.label_space.to_json()),
        "model_config": asdict(info.config),
        "datasets": described,
        "summary": summary,
        "by_pair": by_pair,
        "scores": [s.to_dict() for s in scores],
    }
    path = Path(out) if out else file.parent / "report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2), encoding="utf-8")
    tmp.replace(path)
    return Report(path, scores, summary, report)


def _pair(score: AttributeScore) -> str:
    """`toy-celeba` for a dataset's own targets, `toy-celeba -> toy-rafd` across datasets."""
    return score.dataset if score.source in ("", score.dataset) else f"{score.source} -> {score.dataset}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _l1(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


COLUMNS = ("target", "pairs", "acc", "kept", "rec", "truth", "noop", "ceil")
LEGEND = (
    "acc: target reached | kept: other attributes preserved | rec: L1 of x vs G(G(x,c),c_org) | truth: L1 to "
    "the rendered counterfactual | noop: L1 of doing nothing | ceil: evaluator on real images | L1 in [0,1]"
)


def _row(name: str, pairs: int, s: dict, ceil: str) -> list[str]:
    return [
        name,
        str(pairs),
        _pct(s["target_accuracy"]),
        _pct(s["preservation"]),
        _l1(s["reconstruction_l1"]),
        _l1(s["counterfactual_l1"]),
        _l1(s["identity_l1"]),
        ceil,
    ]


def _table(title: str, caption: str | None = None, first: str = "target", ceiling: bool = True) -> Table:
    t = Table(title=title, caption=caption, title_justify="left")
    for col in (first, *COLUMNS[1:-1], *(COLUMNS[-1:] if ceiling else ())):
        t.add_column(col, justify="left" if col == first else "right", no_wrap=col == first)
    return t


def tables(report: Report) -> list[Table]:
    """One table per (images, target dataset) pair: a row per target attribute and the pair's mean; with
    several pairs, a last table of the pairs' means and the overall mean. The legend is the caption."""
    groups = list(report.data["by_pair"])
    out = []
    for i, group in enumerate(groups):
        scores = [s for s in report.scores if _pair(s) == group]
        last = i == len(groups) - 1 and len(groups) == 1
        t = _table(f"{group} (step {report.data['step']})", LEGEND if last else None)
        for s in scores:
            t.add_row(*_row(s.attribute, s.pairs, s.to_dict(), _pct(s.evaluator_accuracy)))
        t.add_row(*_row("all", sum(s.pairs for s in scores), report.data["by_pair"][group], ""), style="bold")
        out.append(t)
    if len(groups) > 1:
        t = _table("summary", LEGEND, first="images -> targets", ceiling=False)
        for group in groups:
            pairs = sum(s.pairs for s in report.scores if _pair(s) == group)
            t.add_row(*_row(group, pairs, report.data["by_pair"][group], "")[:-1])
        t.add_row(*_row("all", sum(s.pairs for s in report.scores), report.summary, "")[:-1], style="bold")
        out.append(t)
    return out
