"""Bad inputs, table-driven: each gives exit code 1 (2 for a missing input) and one line naming what is
wrong, and no file that was there before changes (issue 26)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

from .cli_helpers import assert_one_line_error, invoke


def snapshot(folder) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


RECIPE_VALUES = [  # class 4: recipe values checked when the recipe loads, naming the setting
    ("train.g_lr=nan", "train.g_lr must be a finite number, got nan"),
    ("train.d_lr=inf", "train.d_lr must be a finite number, got inf"),
    ("loss.lambda_rec=inf", "loss.lambda_rec must be a finite number, got inf"),
    ("loss.lambda_cls=-1", "loss.lambda_cls must be 0 or more"),
    ("train.beta1=1.5", r"train.beta1 must be in \[0, 1\)"),
    ("train.beta2=-0.1", r"train.beta2 must be in \[0, 1\)"),
    ("train.ema=nan", "train.ema must be a finite number"),
    ("model.g_conv_dim=1000000", r"would have \d+\.\d billion parameters .* model.g_conv_dim = 1000000"),
]


@pytest.mark.parametrize(("setting", "message"), RECIPE_VALUES, ids=[s for s, _ in RECIPE_VALUES])
def test_recipe_values(recipe_file, tmp_path, setting, message):
    before = snapshot(tmp_path)
    code, output = invoke("train", recipe_file, "--set", setting)
    assert_one_line_error(code, output, message)
    assert snapshot(tmp_path) == before and not (tmp_path / "runs").exists()


def test_a_diverging_run_stops_and_keeps_its_good_checkpoints(recipe_file, tmp_path):
    """Learning rates of 1e30 turn the weights to NaN within steps: the run stops with one line, and no
    checkpoint or generator of NaN weights is written."""
    code, output = invoke("train", recipe_file, "--set", "train.g_lr=1e30", "--set", "train.d_lr=1e30",
                          "--set", "train.checkpoint_every=2", "--set", "train.log_every=1")  # fmt: skip
    assert_one_line_error(code, output, r"training diverged at step \d+: .*(nan|inf).*checkpoints .* are intact")
    run = next(p for p in (tmp_path / "runs").iterdir() if p.name != "latest")
    from safetensors.torch import load_file

    for file in run.rglob("*.safetensors"):
        assert all(np.isfinite(t.numpy()).all() for t in load_file(file).values()), file
