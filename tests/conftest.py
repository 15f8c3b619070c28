"""Shared fixtures: a tiny prepared toyfaces dataset and a tiny trained run (16 px, a few channels)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ["STARGAN_QUIET"] = "1"
os.environ["TORCH_HOME"] = tempfile.mkdtemp(prefix="torch-home-")  # no FID weights from the user's cache
os.environ.pop("STARGAN_FID_WEIGHTS", None)

TINY_MODEL = {"image_size": 16, "g_conv_dim": 8, "g_repeat_num": 1, "d_conv_dim": 8, "d_repeat_num": 2}
LOSS_SETTINGS = ("n_critic", "cross_targets", "lambda_cls", "lambda_rec", "lambda_gp")


def tiny_recipe_text(datasets: list[Path], runs_dir: Path, **train) -> str:
    """A tiny StarGAN recipe; keyword settings go to [train], or to [loss] for the objective's own."""
    loss = {"n_critic": 2, **{k: train.pop(k) for k in LOSS_SETTINGS if k in train}}
    settings = {
        "steps": 6,
        "decay_start": 3,
        "log_every": 1,
        "sample_every": 3,
        "checkpoint_every": 3,
        "seed": 7,
        **train,
    }
    lines = [
        "[data]",
        f"datasets = {[str(d) for d in datasets]!r}".replace("'", '"'),
        "batch_size = 4",
        "sample_count = 2",
        "[model]",
    ]
    lines += [f"{k} = {v}" for k, v in TINY_MODEL.items()]
    lines += ["[loss]"] + [f"{k} = {v!r}" for k, v in loss.items()]
    lines += ["[train]"] + [f"{k} = {v!r}".replace("'", '"') for k, v in settings.items()]
    lines += ["[output]", f'runs_dir = "{runs_dir}"']
    return "\n".join(lines) + "\n"


def prepared_toy(root: Path, style: str, train: int, test: int) -> Path:
    from stargan_cli.data.readers.toyfaces import prepare_toyfaces

    out = root / f"toy-{style}"
    prepare_toyfaces(str(out), style, 16, train, test, 0, False)
    return out


def train_tiny(root: Path, datasets: list[Path], **settings) -> Path:
    """Write a tiny recipe under `root`, train it, return the run directory."""
    from stargan_cli.config import load_recipe
    from stargan_cli.train.loop import train

    recipe_path = root / "tiny.toml"
    recipe_path.write_text(tiny_recipe_text(datasets, root / "runs", **settings))
    recipe, _ = load_recipe(recipe_path)
    return train(recipe).run_dir


@pytest.fixture(scope="session")
def toy_dataset(tmp_path_factory) -> Path:
    return prepared_toy(tmp_path_factory.mktemp("data"), "celeba", 48, 12)


@pytest.fixture(scope="session")
def trained_run(toy_dataset, tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("run"), [toy_dataset])


@pytest.fixture
def recipe_file(toy_dataset, tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_recipe_text([toy_dataset], tmp_path / "runs"))
    return path


@pytest.fixture(scope="session")
def toy_rafd_dataset(tmp_path_factory) -> Path:
    return prepared_toy(tmp_path_factory.mktemp("data"), "rafd", 48, 8)


@pytest.fixture(scope="session")
def joint_run(toy_dataset, toy_rafd_dataset, tmp_path_factory) -> Path:
    return train_tiny(
        tmp_path_factory.mktemp("joint"), [toy_dataset, toy_rafd_dataset], steps=4, decay_start=2
    )


@pytest.fixture
def face_files(toy_dataset, tmp_path):
    """Three toy test faces as 64 px PNG files (photos of already cropped faces)."""
    import numpy as np
    from PIL import Image

    from stargan_cli.data.prepared import PreparedDataset

    images = PreparedDataset(toy_dataset).split("test").images
    folder = tmp_path / "faces"
    folder.mkdir()
    paths = []
    for i in range(3):
        path = folder / f"face{i}.png"
        Image.fromarray(np.kron(images[i], np.ones((4, 4, 1), np.uint8))).save(path)  # 64 px, resized back
        paths.append(path)
    return paths
