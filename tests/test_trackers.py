"""train.log_with: TensorBoard gets metrics.jsonl's scalars under the same names, the sample grids and the
recipe, read back here with TensorBoard's own reader; under two processes only the main one writes."""

from __future__ import annotations

import json

import pytest

from stargan_cli.config import load_recipe
from stargan_cli.errors import ConfigError
from stargan_cli.train.loop import train

from .spawn import in_two_processes, join_group

pytest.importorskip("tensorboard")


def read_events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return events


def records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def check_run(run_dir):
    events = read_events(run_dir / "tensorboard")
    rows = records(run_dir)
    for name in ("D/real", "D/gp", "G/rec", "lr", "images/s"):
        logged = [(e.step, e.value) for e in events.Scalars(name) if name in rows[0] or e.step > 1]
        expected = [(r["step"], r[name]) for r in rows if name in r]
        assert [s for s, _ in logged] == [s for s, _ in expected], name
        assert all(
            abs(a - b) <= 1e-5 * max(1, abs(b)) for (_, a), (_, b) in zip(logged, expected, strict=True)
        ), name
    images = events.Images("samples")
    assert [i.step for i in images] == [2, 4] and images[0].width > 0
    return events


def test_tensorboard_gets_the_metrics_samples_and_recipe(recipe_file):
    recipe, _ = load_recipe(recipe_file, ['train.log_with=["tensorboard"]', "train.steps=4", "train.decay_start=2",
                                          "train.sample_every=2", "train.log_every=1"])  # fmt: skip
    run_dir = train(recipe).run_dir
    check_run(run_dir)
    hparams = list((run_dir / "tensorboard").rglob("hparams.yml"))
    assert hparams and "train.steps: 4" in hparams[0].read_text()


def test_an_unknown_or_missing_tracker_is_one_clear_error(recipe_file, monkeypatch):
    recipe, _ = load_recipe(recipe_file, ['train.log_with=["tensorbord"]'])
    with pytest.raises(ConfigError, match="unknown tracker 'tensorbord'. Did you mean 'tensorboard'"):
        train(recipe)
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a)
    )
    recipe, _ = load_recipe(recipe_file, ['train.log_with=["wandb"]'])
    with pytest.raises(ConfigError, match="needs the wandb package: pip install wandb"):
        train(recipe)


def _train_in_each_process(rank: int, port: int, recipe_path: str) -> None:
    join_group(rank, port)
    recipe, _ = load_recipe(recipe_path, ['train.log_with=["tensorboard"]', "train.steps=4", "train.decay_start=2",
                                          "train.sample_every=2", "train.log_every=1"])  # fmt: skip
    train(recipe)


def test_under_two_processes_only_the_main_one_logs(recipe_file, tmp_path):
    in_two_processes(_train_in_each_process, str(recipe_file))
    run_dir = max(p for p in (tmp_path / "runs").iterdir() if p.name[:1].isdigit())  # the newest (a retry)
    events = check_run(run_dir)
    assert len(list((run_dir / "tensorboard").glob("events.out.tfevents.*"))) == 1
    assert [e.step for e in events.Scalars("D/real")] == [1, 2, 3, 4]
