import json
import os
import signal

import numpy as np
import pytest
from safetensors.torch import load_file

from stargan_cli.config import load_recipe
from stargan_cli.data.readers.toyfaces import prepare_toyfaces
from stargan_cli.errors import CheckpointError, ConfigError
from stargan_cli.train import loop
from stargan_cli.train.loop import TrainingInterrupted, train
from stargan_cli.train.progress import _drop_records_after
from stargan_cli.train.rundir import read_config
from stargan_cli.train.schedule import learning_rate
from stargan_cli.train.stream import BatchStream

from .conftest import tiny_recipe_text

LOSSES = ["D/cls", "D/fake", "D/gp", "D/real", "G/cls", "G/fake", "G/rec"]


def metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_learning_rate_decays_linearly_to_exactly_zero():
    assert learning_rate(1e-4, 0, 10, 4) == 1e-4
    assert learning_rate(1e-4, 4, 10, 4) == 1e-4
    assert learning_rate(1e-4, 7, 10, 4) == pytest.approx(0.5e-4)
    assert learning_rate(1e-4, 10, 10, 4) == 0.0


def test_batches_are_a_deterministic_sharded_permutation(toy_dataset):
    from stargan_cli.data.prepared import PreparedDataset

    split = PreparedDataset(toy_dataset).split("train")
    one = BatchStream(split, 4, 3, 0, True)
    assert one.per_epoch == 12
    epoch = np.concatenate([one.rows(s) for s in range(12)])
    assert sorted(epoch.tolist()) == list(range(48))  # every row once per epoch
    assert not np.array_equal(one.rows(0), one.rows(12))  # a new order each epoch
    ranks = [BatchStream(split, 4, 3, 0, True, rank=r, world=2) for r in range(2)]
    both = np.concatenate([r.rows(s) for r in ranks for s in range(6)])
    assert sorted(both.tolist()) == list(range(48))  # processes never share a row in an epoch
    cpu, extra = __import__("torch").device("cpu"), lambda rng, n: rng.permutation(n)  # a method's draw
    a, b = one.draw(5, cpu, extra), one.draw(5, cpu, extra)
    assert (a.x_real == b.x_real).all() and (a.labels == b.labels).all() and (a.extra == b.extra).all()
    assert sorted(a.extra.tolist()) == [0, 1, 2, 3] and a.dataset == 0


def test_reframe_moves_and_zooms_out_with_repeated_edges():
    import torch

    from stargan_cli.images import reframe

    x = torch.arange(64.0).reshape(1, 1, 8, 8)
    assert torch.allclose(reframe(x, torch.tensor([1.0]), torch.tensor([[0.0, 0.0]])), x)
    # a quarter of the side to the right: columns move 2 px, the left edge column repeats
    moved = reframe(x, torch.tensor([1.0]), torch.tensor([[0.25, 0.0]]))[0, 0]
    assert torch.allclose(moved[:, 2:], x[0, 0, :, :6]) and torch.allclose(moved[:, 0], x[0, 0, :, 0])
    # half size: output pixel (i, j) samples the input at the centre of its 2x2 block (bilinear mean)
    half = reframe(x, torch.tensor([0.5]), torch.tensor([[0.0, 0.0]]))[0, 0]
    blocks = x[0, 0].reshape(4, 2, 4, 2).mean((1, 3))
    assert torch.allclose(half[2:6, 2:6], blocks)
    assert torch.allclose(half[0, 2:6], x[0, 0, 0].reshape(4, 2).mean(1))  # above: the top row repeated


def test_reframed_batches_are_seeded_and_leave_other_draws_alone(toy_dataset):
    import torch

    from stargan_cli.data.prepared import PreparedDataset

    split = PreparedDataset(toy_dataset).split("train")
    extra = lambda rng, n: rng.random(n)  # noqa: E731 - a method's own draws come before the reframing
    plain = BatchStream(split, 4, 3, 0, True).draw(5, torch.device("cpu"), extra)
    framed = BatchStream(split, 4, 3, 0, True, zoom_out=0.3, shift=0.1)
    a, b = framed.draw(5, torch.device("cpu"), extra), framed.draw(5, torch.device("cpu"), extra)
    assert torch.equal(a.x_real, b.x_real) and not torch.allclose(a.x_real, plain.x_real, atol=0.05)
    assert torch.equal(a.labels, plain.labels) and (a.extra == plain.extra).all()


def test_random_crops_of_enlarged_images_stay_inside_them(toy_dataset):
    """data.load_size: the reference CycleGAN's resize to 286 and random 256 crop, as a zoom of 286/256
    about a random centre whose crop never leaves the enlarged image."""
    import torch

    from stargan_cli.data.prepared import PreparedDataset

    split = PreparedDataset(toy_dataset).split("train")
    plain = BatchStream(split, 4, 3, 0, False).draw(5, torch.device("cpu"))
    assert torch.equal(
        BatchStream(split, 4, 3, 0, False, zoom_in=1.0).draw(5, torch.device("cpu")).x_real, plain.x_real
    )
    gradient = torch.linspace(-1, 1, 16).expand(4, 3, 16, 16)  # column values
    stream = BatchStream(split, 4, 3, 0, False, zoom_in=2.0)
    cropped = stream.draw(5, torch.device("cpu"))
    assert torch.equal(cropped.labels, plain.labels) and not torch.allclose(cropped.x_real, plain.x_real)
    original = split.images
    split.images = (
        (gradient.permute(0, 2, 3, 1).add(1).mul(127.5)).round().to(torch.uint8).numpy().repeat(12, 0)
    )
    try:
        crops = [stream.draw(s, torch.device("cpu")).x_real[:, 0, 0] for s in range(6)]
    finally:
        split.images = original
    for row in torch.cat(crops):
        spans = row.max() - row.min()  # half of the enlarged image's columns, none repeated at a border
        assert 0.9 < spans < 1.1 and (row.diff() > 0).all(), row
    lefts = torch.cat(crops)[:, 0]
    assert lefts.max() - lefts.min() > 0.3  # the crops move


def test_stargan_v2s_resized_crops_keep_their_area_and_aspect_and_land_where_drawn(toy_dataset):
    """data.resized_crop: RandomResizedCrop(scale 0.8-1, ratio 0.9-1.1) with probability p. A linear ramp,
    which bilinear sampling reproduces exactly, shows each output pixel came from where its box says."""
    import numpy as np
    import torch

    from stargan_cli.data.prepared import PreparedDataset
    from stargan_cli.images import crop_boxes, resized_crops

    boxes = crop_boxes(np.random.default_rng(0), 4000, 0.5)
    cropped = ~np.all(boxes == [0, 0, 1, 1], axis=1)
    assert 0.46 < cropped.mean() < 0.54
    left, top, w, h = boxes[cropped].T
    assert (w * h >= 0.8 - 1e-6).all() and (w * h <= 1 + 1e-6).all()
    assert (w / h >= 0.9 - 1e-6).all() and (w / h <= 1.1 + 1e-6).all()
    assert (
        (left >= 0).all()
        and (top >= 0).all()
        and (left + w <= 1 + 1e-6).all()
        and (top + h <= 1 + 1e-6).all()
    )
    n = 20
    ys, xs = torch.meshgrid(
        torch.arange(n, dtype=torch.float32), torch.arange(n, dtype=torch.float32), indexing="ij"
    )
    ramp = (0.03 * xs - 0.05 * ys).expand(2, 3, n, n)
    box = torch.tensor([[0.1, 0.05, 0.8, 0.85], [0, 0, 1, 1]])
    out = resized_crops(ramp, box)
    j = torch.arange(n, dtype=torch.float32)
    src_x = 0.1 * n + (j + 0.5) * 0.8 - 0.5  # pixel-index positions the output's centres sample
    src_y = 0.05 * n + (j + 0.5) * 0.85 - 0.5
    expected = 0.03 * src_x[None, :] - 0.05 * src_y[:, None]
    assert torch.allclose(out[0, 0], expected, atol=1e-5)
    assert torch.allclose(out[1], ramp[1], atol=1e-5)  # the whole box: the image as it is

    split = PreparedDataset(toy_dataset).split("train")
    plain = BatchStream(split, 4, 3, 0, False).draw(5, torch.device("cpu"))
    assert torch.equal(BatchStream(split, 4, 3, 0, False, resized_crop=0.0).draw(5, torch.device("cpu")).x_real,
                       plain.x_real)  # fmt: skip
    every = BatchStream(split, 4, 3, 0, False, resized_crop=1.0).draw(5, torch.device("cpu"))
    assert torch.equal(every.labels, plain.labels)
    changed = (every.x_real - plain.x_real).abs().amax((1, 2, 3))
    assert (changed > 0.05).sum() >= 3  # p = 1: (nearly) every image cropped


def test_training_writes_the_run_directory(trained_run):
    config = json.loads((trained_run / "config.json").read_text())
    assert config["train"]["steps"] == 6 and config["model"]["architecture"] == "stargan"
    rows = metrics(trained_run)
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert all(set(LOSSES) <= set(r) for r in rows[1:])  # G is first updated at step 2 (n_critic 2)
    assert rows[0]["lr"] == 1e-4 and rows[-1]["lr"] == 0.0 and rows[4]["lr"] == pytest.approx(1e-4 / 3)
    assert all(np.isfinite(r[k]) for r in rows[1:] for k in LOSSES)
    assert sorted(p.name for p in (trained_run / "checkpoints").iterdir()) == ["step-0000003", "step-0000006"]
    assert sorted(p.name for p in (trained_run / "samples").iterdir()) == [
        "step-0000003.png",
        "step-0000006.png",
    ]
    from PIL import Image

    # 2 fixed test images x (input + 5 single-attribute targets), 16 px cells with 2 px gaps
    assert Image.open(trained_run / "samples" / "step-0000006.png").size == (6 * 18 + 2, 2 * 18 + 2)
    assert (trained_run.parent / "latest").resolve() == trained_run.resolve()
    meta = load_file(trained_run / "generator.safetensors")
    assert meta["main.0.weight"].shape == (8, 8, 7, 7)


def test_interrupted_and_resumed_run_matches_an_uninterrupted_one(toy_dataset, tmp_path, monkeypatch):
    path = tmp_path / "r.toml"
    path.write_text(tiny_recipe_text([toy_dataset], tmp_path / "runs"))
    recipe, _ = load_recipe(path)
    straight = train(recipe).run_dir

    original = loop.learning_rate

    calls = []

    def press_ctrl_c(base, step, *schedule):  # Ctrl-C arrives as step 2 sets its learning rates
        calls.append(step)
        if calls.count(1) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return original(base, step, *schedule)

    monkeypatch.setattr(loop, "learning_rate", press_ctrl_c)
    with pytest.raises(TrainingInterrupted, match="interrupted at step 2.*stargan train --resume"):
        train(recipe)
    monkeypatch.setattr(loop, "learning_rate", original)
    interrupted = (tmp_path / "runs" / "latest").resolve()
    assert [p.name for p in (interrupted / "checkpoints").iterdir()] == ["step-0000002"]
    train(resume=interrupted)
    a, b = metrics(straight), metrics(interrupted)
    assert [r["step"] for r in b] == [1, 2, 3, 4, 5, 6]
    for ra, rb in zip(a, b, strict=True):
        assert {k: ra.get(k) for k in LOSSES} == {k: rb.get(k) for k in LOSSES}
    for role in ("generator", "discriminator"):
        wa, wb = load_file(straight / f"{role}.safetensors"), load_file(interrupted / f"{role}.safetensors")
        assert all((wa[k] == wb[k]).all() for k in wa)


def test_a_run_that_died_before_its_first_checkpoint_resumes_from_step_0(toy_dataset, tmp_path, monkeypatch):
    path = tmp_path / "r.toml"
    path.write_text(tiny_recipe_text([toy_dataset], tmp_path / "runs"))
    recipe, _ = load_recipe(path)
    straight = train(recipe).run_dir

    def crash(*args, **kwargs):  # the process dies while drawing its first batch
        raise KeyboardInterrupt

    original = BatchStream.draw
    monkeypatch.setattr(BatchStream, "draw", crash)
    with pytest.raises(KeyboardInterrupt):
        train(recipe)
    monkeypatch.setattr(BatchStream, "draw", original)
    stopped = (tmp_path / "runs" / "latest").resolve()
    assert not (stopped / "checkpoints").exists() and (stopped / "config.json").is_file()
    train(resume=stopped)  # nothing was saved: the run starts again from step 0
    assert (
        [r["step"] for r in metrics(stopped)] == [r["step"] for r in metrics(straight)] == [1, 2, 3, 4, 5, 6]
    )
    for role in ("generator", "discriminator"):
        wa, wb = load_file(straight / f"{role}.safetensors"), load_file(stopped / f"{role}.safetensors")
        assert all((wa[k] == wb[k]).all() for k in wa)


def test_a_resumed_run_drops_the_metrics_logged_after_its_checkpoint(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [json.dumps({"step": s, "D/real": s / 10}) + "\n" for s in range(1, 6)]
    path.write_text("".join(lines) + '{"step": 6, "D/re')  # the last line was cut by a crash
    _drop_records_after(path, 3)
    assert path.read_text() == "".join(lines[:3])
    _drop_records_after(path, 3)  # nothing more to drop: the file stays as it is
    assert path.read_text() == "".join(lines[:3])


def test_resume_refuses_checkpoints_that_are_all_damaged(trained_run, tmp_path):
    """(Only a temporary first checkpoint restarts from step 0: tests/test_bad_inputs.py.)"""
    run = tmp_path / "0001-empty"
    (run / "checkpoints" / "step-0000003").mkdir(parents=True)  # no networks, no state.json
    (run / "config.json").write_text((trained_run / "config.json").read_text())
    with pytest.raises(CheckpointError, match="has checkpoints but none complete .step-0000003"):
        train(resume=run)
    with pytest.raises(CheckpointError, match="not a run directory"):
        train(resume=tmp_path)


def test_a_run_config_is_told_apart_as_damaged_or_from_another_version(trained_run, tmp_path):
    config = json.loads((trained_run / "config.json").read_text())
    run = tmp_path / "0001-other"
    run.mkdir()
    config["train"]["lambda_cond"] = 1.0  # a setting another version wrote
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="unknown setting train.lambda_cond.*another stargan version"):
        read_config(run)
    for data in (b'{"train": ', b"[1, 2]", b"\xff\xfe not UTF-8"):
        (run / "config.json").write_bytes(data)
        with pytest.raises(CheckpointError, match="config.json is damaged"):
            read_config(run)
    assert read_config(trained_run).train.steps == config["train"]["steps"]


def test_resume_refuses_another_label_space(tmp_path):
    data = tmp_path / "data"
    prepare_toyfaces(str(data), "celeba", 16, 24, 4, 0, False)
    path = tmp_path / "r.toml"
    path.write_text(tiny_recipe_text([data], tmp_path / "runs"))
    run = train(load_recipe(path)[0], stop_at=3).run_dir
    prepare_toyfaces(str(data), "rafd", 16, 24, 4, 0, True)  # the dataset was replaced by another one
    before = (run / "checkpoints" / "step-0000003" / "generator.safetensors").read_bytes()
    with pytest.raises(CheckpointError, match="label space toy-celeba\\[5\\].*toy-rafd\\[8\\]"):
        train(resume=run)
    assert (run / "checkpoints" / "step-0000003" / "generator.safetensors").read_bytes() == before


def test_cross_targets_need_a_second_dataset(recipe_file):
    recipe, _ = load_recipe(recipe_file, ["loss.cross_targets=0.5"])
    with pytest.raises(ConfigError, match="loss.cross_targets needs two or more datasets"):
        train(recipe)
    assert not (recipe_file.parent / "runs").exists()  # refused before a run directory was made


def test_joint_training_with_cross_targets_and_reframing(toy_dataset, toy_rafd_dataset, tmp_path):
    path = tmp_path / "joint.toml"
    path.write_text(tiny_recipe_text([toy_dataset, toy_rafd_dataset], tmp_path / "runs"))
    settings = ["loss.cross_targets=0.5", "data.zoom_out=0.3", "data.shift=0.1", "train.steps=2"]
    result = train(load_recipe(path, settings + ["train.decay_start=1"])[0])
    rows = metrics(result.run_dir)
    assert [r["step"] for r in rows] == [1, 2] and all(np.isfinite(rows[1][k]) for k in LOSSES)


def test_image_size_must_match_the_data(recipe_file):
    recipe, _ = load_recipe(recipe_file, ["model.image_size=32"])
    with pytest.raises(ConfigError, match="holds 16 px images but model.image_size is 32"):
        train(recipe)


def test_channels_last_networks_train_like_contiguous_ones(recipe_file):
    """train.memory_format only changes the layout: the same losses (to rounding) and weights that save
    and load as usual. Forced here on the CPU; `auto` picks it on a GPU."""
    import torch

    settings = ["train.steps=3", "train.decay_start=1"]
    plain = train(load_recipe(recipe_file, settings + ["train.memory_format=contiguous"])[0])
    nhwc = train(load_recipe(recipe_file, settings + ["train.memory_format=channels_last"])[0])
    for a, b in zip(metrics(plain.run_dir), metrics(nhwc.run_dir), strict=True):
        assert a.keys() == b.keys()
        losses = [k for k in LOSSES if k in a]
        assert {k: b[k] for k in losses} == pytest.approx({k: a[k] for k in losses}, rel=1e-4, abs=1e-5)
    wa, wb = (load_file(r.run_dir / "generator.safetensors") for r in (plain, nhwc))
    # Adam's first updates are about lr * sign(gradient): a weight whose gradient is near 0 can move the
    # other way under another summation order, so the bound is per weight 2 lr a step; on average far less
    diffs = torch.cat([(wa[k] - wb[k]).abs().flatten() for k in wa])
    assert diffs.max() < 3 * 2 * 1e-4 and diffs.mean() < 1e-6
    assert loop.memory_format("auto", torch.device("cpu")) == torch.contiguous_format
    assert loop.memory_format("auto", torch.device("cuda")) == torch.channels_last
