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
        (["data.resized_crop=1.5"], r"data.resized_crop is a probability in \[0, 1\], got 1.5"),
        (["data.resized_crop=0.5", "data.load_size=40"], "two kinds of random crop: choose one"),
        (["train.precision=fp8"], "train.precision 'fp8' unknown"),
        (["model.g_conv_dims=3"], "unknown setting model.g_conv_dims. Did you mean 'g_conv_dim'"),
        (["model.image_size=18"], "multiple of 2\\*\\*model.d_repeat_num"),
        (["train.decay_start=99"], "train.decay_start must be between 0 and train.steps"),
        (["loss.cross_targets=1.5"], "loss.cross_targets must be in \\[0, 1\\], got 1.5"),
        (["loss.n_critic=0"], "loss.n_critic must be at least 1, got 0"),
        (["loss.lambda_gp=-1"], "loss.lambda_gp must be 0 or more, got -1"),
        (["loss.lambda_cl=2"], "unknown setting loss.lambda_cl. Did you mean 'lambda_cls'"),
        (["lose.n_critic=2"], "unknown section 'lose'. Did you mean 'loss'"),
        # settings of earlier versions: moved ones say where they are now; removed experiments say so
        (
            ["train.lambda_cls=2"],
            "train.lambda_cls is now loss.lambda_cls: move the line to the \\[loss\\] section",
        ),
        (["train.n_critic=1"], "train.n_critic is now loss.n_critic"),
        (
            ["train.fake_shift=0.08"],
            "train.fake_shift = 0.08 is an experiment that this stargan version removed",
        ),
        (["model.g_skips=2"], "model.g_skips = 2 is an experiment that this stargan version removed"),
        (["loss.cls_noise=3"], "loss.cls_noise must be in \\[0, 2\\]"),
        (["train.ema=-0.1"], "train.ema must be in \\[0, 1\\)"),
        (["data.zoom_out=1.0"], "data.zoom_out must be in \\[0, 1\\), got 1.0"),
        (["data.shift=-0.1"], "data.shift must be in \\[0, 0.5\\), got -0.1"),
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
    model = recipe.model.params
    assert model.image_size % 2 ** getattr(model, "d_repeat_num", 2) == 0


def test_recipes_exist():
    assert any(p.name == "toyfaces.toml" for p in RECIPES)


def test_the_horse2zebra_recipe_has_the_papers_settings():
    recipe, _ = load_recipe(Path(__file__).resolve().parents[1] / "recipes" / "horse2zebra.toml")
    model, loss, train, data = recipe.model.params, recipe.loss, recipe.train, recipe.data
    assert (recipe.model.architecture, model.image_size, model.ngf, model.ndf, model.n_blocks) == (
        "cyclegan",
        256,
        64,
        64,
        9,
    )
    assert (loss.lambda_a, loss.lambda_b, loss.lambda_identity, loss.pool_size) == (10, 10, 0.5, 50)
    assert (train.g_lr, train.d_lr, train.beta1, train.beta2) == (2e-4, 2e-4, 0.5, 0.999)
    assert (data.batch_size, data.load_size, data.flip) == (1, 286, True)
    assert train.steps == 200 * 1334 and train.decay_start == 100 * 1334  # 100 + 100 epochs of trainB


def test_the_afhq_recipe_has_the_references_settings():
    recipe, _ = load_recipe(Path(__file__).resolve().parents[1] / "recipes" / "afhq.toml")
    model, loss, train, data = recipe.model.params, recipe.loss, recipe.train, recipe.data
    assert (recipe.model.architecture, model.image_size, model.w_hpf, model.style_dim, model.latent_dim) == (
        "stargan_v2", 256, 0.0, 64, 16
    )  # fmt: skip
    assert (loss.lambda_reg, loss.lambda_cyc, loss.lambda_sty, loss.lambda_ds, loss.ds_iter) == (
        1,
        1,
        1,
        2,
        100_000,
    )
    assert (train.g_lr, train.d_lr, train.beta1, train.beta2, train.weight_decay) == (
        1e-4,
        1e-4,
        0.0,
        0.99,
        1e-4,
    )
    assert (train.steps, train.decay_start, train.ema, data.batch_size) == (100_000, 100_000, 0.999, 8)
    assert (data.resized_crop, data.flip) == (0.5, True)


@pytest.mark.parametrize("name", ["celeba.toml", "rafd.toml", "celeba_rafd.toml"])
def test_paper_recipes_have_the_paper_settings(name):
    recipe, _ = load_recipe(Path(__file__).resolve().parents[1] / "recipes" / name)
    t, m = recipe.train, recipe.model.params
    assert (t.steps, t.decay_start, t.g_lr, t.d_lr, t.beta1, t.beta2) == (
        200_000,
        100_000,
        1e-4,
        1e-4,
        0.5,
        0.999,
    )
    loss = recipe.loss
    assert (loss.n_critic, loss.lambda_cls, loss.lambda_rec, loss.lambda_gp, recipe.data.batch_size) == (
        5,
        1,
        10,
        10,
        16,
    )
    assert (m.image_size, m.g_conv_dim, m.g_repeat_num, m.d_conv_dim, m.d_repeat_num) == (128, 64, 6, 64, 6)
    # nothing that is not in the paper
    assert (loss.cross_targets, recipe.data.zoom_out, recipe.data.shift) == (0, 0, 0)


def test_the_joint_paper_recipe_trains_celeba_and_rafd_together():
    recipe, _ = load_recipe(Path(__file__).resolve().parents[1] / "recipes" / "celeba_rafd.toml")
    assert recipe.data.datasets == ("data/celeba", "data/rafd")


def test_the_celeba_hq_recipe_has_the_references_settings():
    recipe, _ = load_recipe(Path(__file__).resolve().parents[1] / "recipes" / "celeba_hq.toml")
    model, loss, train, data = recipe.model.params, recipe.loss, recipe.train, recipe.data
    assert (model.image_size, model.w_hpf, model.style_dim, model.latent_dim, model.max_conv_dim) == (
        256,
        1,
        64,
        16,
        512,
    )
    assert (loss.lambda_reg, loss.lambda_cyc, loss.lambda_sty, loss.lambda_ds, loss.ds_iter) == (
        1,
        1,
        1,
        1,
        100_000,
    )
    assert (train.g_lr, train.beta1, train.beta2, train.weight_decay, train.steps, train.ema) == (
        1e-4, 0.0, 0.99, 1e-4, 100_000, 0.999
    )  # fmt: skip
    assert (data.batch_size, data.resized_crop, data.flip) == (8, 0.5, True)
