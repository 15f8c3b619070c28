"""Files written by stargan 0.1.0 (before methods had their own [loss] section and before the removed
experiments): tests/fixtures/run-v0.1.0 is a real run directory of that version, the tiny recipe of its
test suite (16 px, seed 7, 6 steps) stopped at step 3. Its config.json has the loss weights and n_critic in
[train] and every removed setting at its neutral value; its model files' metadata carry g_skips (removed);
its state.json lists no networks."""

import json
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file

from stargan_cli.checkpoint import load_model, read_info
from stargan_cli.config import load_recipe
from stargan_cli.data.readers.toyfaces import prepare_toyfaces
from stargan_cli.evaluate.run import evaluate
from stargan_cli.export import export
from stargan_cli.train.loop import train
from stargan_cli.train.rundir import read_config
from stargan_cli.translate import LoadedModel

from .conftest import tiny_recipe_text

FIXTURE = Path(__file__).with_name("fixtures") / "run-v0.1.0"


@pytest.fixture
def old_run(tmp_path, monkeypatch):
    """The 0.1.0 run in a working directory with its dataset at the relative path it was trained on."""
    monkeypatch.chdir(tmp_path)
    prepare_toyfaces("data/toy", "celeba", 16, 48, 12, 0, False)
    run = tmp_path / "runs" / "0001-tiny"
    shutil.copytree(FIXTURE, run)
    return run


def test_the_fixture_is_in_the_old_layout():
    config = json.loads((FIXTURE / "config.json").read_text())
    assert "loss" not in config and config["train"]["n_critic"] == 2 and config["train"]["fake_shift"] == 0.0
    assert "networks" not in json.loads((FIXTURE / "checkpoints" / "step-0000003" / "state.json").read_text())


def test_an_old_run_reads_with_its_settings_where_they_are_now(old_run):
    recipe = read_config(old_run)
    assert (
        recipe.loss.n_critic,
        recipe.loss.lambda_cls,
        recipe.loss.lambda_rec,
        recipe.loss.cross_targets,
    ) == (
        2,
        1.0,
        10.0,
        0.0,
    )
    assert not hasattr(recipe.train, "n_critic") and not hasattr(recipe.train, "fake_shift")
    info = read_info(old_run / "generator.safetensors")
    assert (info.architecture, info.role, info.step, info.config.g_conv_dim) == ("stargan", "generator", 3, 8)


def test_an_old_run_resumes_bit_identically_to_an_uninterrupted_new_one(old_run, tmp_path):
    before = (old_run / "config.json").read_bytes()
    train(resume=old_run)
    assert (old_run / "config.json").read_bytes() == before  # read, never rewritten
    recipe_path = tmp_path / "tiny.toml"
    recipe_path.write_text(tiny_recipe_text([Path("data/toy")], Path("runs")))
    straight = train(load_recipe(recipe_path)[0]).run_dir
    records = [json.loads(line) for line in (old_run / "metrics.jsonl").read_text().splitlines()]
    expected = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]
    for got, want in zip(records, expected, strict=True):
        assert {k: v for k, v in got.items() if "/" in k and k != "images/s"} == {
            k: v for k, v in want.items() if "/" in k and k != "images/s"
        }
    for role in ("generator", "discriminator"):
        a, b = load_file(old_run / f"{role}.safetensors"), load_file(straight / f"{role}.safetensors")
        assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a), role


def test_old_model_files_translate_evaluate_and_export(old_run, tmp_path):
    translator = LoadedModel.load(old_run)
    assert translator.label_space.datasets[0].name == "toy-celeba" and translator.image_size == 16
    report = evaluate(old_run, limit=8, fid=False, evaluator="small")  # its datasets from its config.json
    assert report is not None and {s.attribute for s in report.scores} == set(
        translator.label_space.datasets[0].attributes
    )
    assert json.loads((old_run / "report.json").read_text())["step"] == 3
    exported = export(old_run, tmp_path / "out")
    assert [p.name for p in exported.files] == ["generator.safetensors", "discriminator.safetensors"]
    generator, info = load_model(tmp_path / "out")
    assert info.step == 3 and json.loads(info.metadata()["stargan.model_config"]).get("g_skips") is None
