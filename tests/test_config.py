from pathlib import Path

import pytest

from stargan_cli.config import load_recipe, parse_override
from stargan_cli.errors import ConfigError

RECIPES = sorted(Path(__file__).resolve().parents[1].joinpath("recipes").glob("*.toml"))


def write(tmp_path, text):
    path = tmp_path / "r.toml"
    path.write_text(text)
    return path


def test_overrides_are_toml_literals():
    assert parse_override("train.steps=100") == (["train", "steps"], 100)
    assert parse_override("train.g_lr=2e-4") == (["train", "g_lr"], 2e-4)
    assert parse_override("train.precision=bf16") == (["train", "precision"], "bf16")
    assert parse_override('data.datasets=["a", "b"]') == (["data", "datasets"], ["a", "b"])


def test_recipe_loads_with_overrides(recipe_file):
    recipe, _ = load_recipe(recipe_file, ["train.steps=9", "model.g_conv_dim=4"])
    assert recipe.train.steps == 9 and recipe.model.params.g_conv_dim == 4
    assert recipe.output.name == "tiny"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train.stpes=3"], "unknown setting train.stpes. Did you mean 'steps'"),
        (["trian.steps=3"], "unknown section 'trian'. Did you mean 'train'"),
        (["train.steps=many"], "train.steps must be int, got str 'many'"),
        (["train.steps=2.5"], "train.steps must be int, got float"),
        (["train.flip=1"], "unknown setting train.flip"),
        (["data.flip=1"], "data.flip must be bool"),
        (["train.precision=fp8"], "train.precision 'fp8' unknown"),
        (["model.g_conv_dims=3"], "unknown setting model.g_conv_dims. Did you mean 'g_conv_dim'"),
        (["model.image_size=18"], "multiple of 2\\*\\*model.d_repeat_num"),
        (["train.decay_start=99"], "train.decay_start must be between 0 and train.steps"),
        (["steps=3"], "the key must be section.key"),
        (["train.steps"], "write section.key=value"),
    ],
)
def test_bad_settings_name_the_setting(recipe_file, overrides, message):
    before = recipe_file.read_text()
    with pytest.raises(ConfigError, match=message):
        load_recipe(recipe_file, overrides)
    assert recipe_file.read_text() == before


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_recipe(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_recipe(write(tmp_path, "[data\n"))
    with pytest.raises(ConfigError, match="no \\[data\\] section"):
        load_recipe(write(tmp_path, "[train]\nsteps = 3\n"))
    with pytest.raises(ConfigError, match="data.datasets is empty"):
        load_recipe(write(tmp_path, "[data]\ndatasets = []\n"))


@pytest.mark.parametrize("path", RECIPES, ids=[p.name for p in RECIPES])
def test_every_shipped_recipe_is_valid(path):
    recipe, _ = load_recipe(path)
    header = path.read_text().splitlines()[0]
    assert header.startswith("#"), "a recipe starts with a comment saying what it trains and how"
    assert "stargan train" in path.read_text()
    assert recipe.model.params.image_size % 2**recipe.model.params.d_repeat_num == 0


def test_recipes_exist():
    assert any(p.name == "toyfaces.toml" for p in RECIPES)
