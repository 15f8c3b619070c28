"""train.ema: a moving average of the generator's weights, used by samples, exports, translate, evaluate."""

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from stargan_cli.checkpoint import read_info
from stargan_cli.config import load_recipe
from stargan_cli.export import export
from stargan_cli.train.ema import EMA
from stargan_cli.train.loop import train

from .conftest import tiny_recipe_text


def test_the_average_follows_the_ramped_decay_by_hand():
    net = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema = EMA({"g": net}, decay=0.5)
    expected = 1.0
    for n, value in enumerate([3.0, -1.0, 5.0, 2.0]):
        with torch.no_grad():
            net.weight.fill_(value)
        d = min(0.5, (1 + n) / (10 + n))  # 0.1, 0.1818..., 0.25, 0.3077..., then 0.5
        expected = d * expected + (1 - d) * value
        ema.update({"g": net})
        assert ema.networks["g"].weight[0, 0].item() == pytest.approx(expected, rel=1e-6)
    assert ema.updates == 4 and not ema.networks["g"].weight.requires_grad
    assert net.weight[0, 0].item() == 2.0  # the trained network is untouched


def _run(tmp_path, toy_dataset, name, **extra):
    path = tmp_path / f"{name}.toml"
    path.write_text(tiny_recipe_text([toy_dataset], tmp_path / name, ema=0.9, **extra))
    return load_recipe(path)[0]


def test_ema_checkpoints_exports_and_resumes_exactly(toy_dataset, tmp_path):
    recipe = _run(tmp_path, toy_dataset, "straight")
    straight = train(recipe).run_dir
    last = straight / "checkpoints" / "step-0000006"
    state = json.loads((last / "state.json").read_text())
    assert state["ema_updates"] == 3  # n_critic 2: G updated at steps 2, 4, 6
    assert "generator.ema" in state["networks"]
    trained, average = (
        load_file(last / "generator.safetensors"),
        load_file(last / "generator.ema.safetensors"),
    )
    assert any(not torch.equal(trained[k], average[k]) for k in trained)
    # the run's inference file is the average, and says so; the discriminator is the trained one
    exported = load_file(straight / "generator.safetensors")
    assert all(torch.equal(exported[k], average[k]) for k in average)
    assert read_info(straight / "generator.safetensors").weights == "ema"
    assert read_info(straight / "discriminator.safetensors").weights == "trained"
    assert read_info(last / "generator.safetensors").weights == "trained"
    out = export(straight, tmp_path / "out").files[0]
    with safe_open(str(out), "pt") as f:
        assert f.metadata()["stargan.weights"] == "ema"
        assert all(torch.equal(f.get_tensor(k), average[k]) for k in average)

    stopped = train(_run(tmp_path, toy_dataset, "stopped"), stop_at=3).run_dir  # G updated once by then
    assert (
        json.loads((stopped / "checkpoints" / "step-0000003" / "state.json").read_text())["ema_updates"] == 1
    )
    train(resume=stopped)
    for file in ("generator.safetensors", "generator.ema.safetensors", "discriminator.safetensors"):
        a, b = load_file(last / file), load_file(stopped / "checkpoints" / "step-0000006" / file)
        assert all(torch.equal(a[k], b[k]) for k in a), file


def test_without_ema_nothing_changes(trained_run):
    assert read_info(trained_run / "generator.safetensors").weights == "trained"
    state = json.loads((trained_run / "checkpoints" / "step-0000006" / "state.json").read_text())
    assert "ema_updates" not in state and state["networks"] == ["generator", "discriminator"]


def test_ema_setting_is_checked(recipe_file):
    from stargan_cli.errors import ConfigError

    with pytest.raises(ConfigError, match="train.ema must be in \\[0, 1\\)"):
        load_recipe(recipe_file, ["train.ema=1.0"])
