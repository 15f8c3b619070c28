"""What holds for every method of the registry, one test each, parametrised over stargan_cli.methods.METHODS:
a method added to the registry without a tiny recipe here fails the first test, so none is left out."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stargan_cli import methods
from stargan_cli.config import load_recipe
from stargan_cli.train.loop import train

from .conftest import tiny_recipe_text
from .method_helpers import two_domain_recipe

# per method: a tiny recipe on the tests' 16 px toy-celeba (its model settings, or the StarGAN one of
# conftest.py), and what its [train] adds
TINY = {
    "stargan": None,
    "cyclegan": ({"image_size": 16, "ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_d": 2}, ""),
    "ugatit": ({"image_size": 16, "ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_global": 4, "n_layers_local": 3},
               "weight_decay = 1e-4"),
    "unit": ({"image_size": 16, "dim": 4, "n_downsample": 2, "n_res": 2, "dis_dim": 4, "dis_layers": 2,
              "dis_scales": 2}, "weight_decay = 1e-4"),
    "stargan_v2": ({"image_size": 16, "dim_in": 4, "max_conv_dim": 8, "style_dim": 8, "latent_dim": 4},
                   "beta1 = 0.0\nbeta2 = 0.99\nweight_decay = 1e-4"),
}  # fmt: skip
BUILT_IN = ("stargan", "cyclegan", "ugatit", "unit", "stargan_v2")


def tiny_recipe(method: str, tmp_path, dataset, steps: int = 2):
    if TINY[method] is None:
        path = tmp_path / "tiny.toml"
        path.write_text(tiny_recipe_text([dataset], tmp_path / "runs", steps=steps, decay_start=1))
        return path
    model, train_lines = TINY[method]
    return two_domain_recipe(tmp_path, dataset, method, model, steps, train=train_lines)


def test_every_registered_method_has_a_tiny_recipe_here():
    assert set(methods.registry()) == set(TINY) and set(BUILT_IN) <= set(TINY)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
@pytest.mark.parametrize("method", BUILT_IN)
def test_mixed_precision_trains_with_the_fp32_losses_to_rounding(method, precision, toy_dataset, tmp_path):
    """Step 1 (the same weights and draws) in fp32 and in `precision`: every logged loss within 5% (or
    0.02), and every loss of both steps finite."""
    path = tiny_recipe(method, tmp_path, toy_dataset)
    runs = {}
    for p in ("fp32", precision):
        run = train(load_recipe(path, [f"train.precision={p}", "train.checkpoint_every=1"])[0]).run_dir
        runs[p] = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    first, mixed = runs["fp32"][0], runs[precision][0]
    names = [k for k in first if "/" in k and k != "images/s"]
    assert len(names) >= 3 and sorted(names) == sorted(k for k in mixed if "/" in k and k != "images/s")
    for name in names:
        assert mixed[name] == pytest.approx(first[name], rel=0.05, abs=0.02), (method, name)
    assert all(np.isfinite(v) for r in runs[precision] for k, v in r.items() if "/" in k)
