"""A second method, defined here and registered for the test, trains, checkpoints, resumes, exports and
translates through the generic code: what adding a method asks is a model spec, a training spec and a
registry line. Its networks have other names (generator, critic), its phases another order (G, then D)
and its loss another form (least squares), so nothing StarGAN-specific can hide in the generic path."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from stargan_cli import methods
from stargan_cli.config import load_recipe
from stargan_cli.errors import ConfigError
from stargan_cli.export import export
from stargan_cli.labels import LabelSpace
from stargan_cli.models.spec import ModelSpec, Signature
from stargan_cli.objectives.spec import Stateless, TrainingSpec, adversarial
from stargan_cli.train.loop import train
from stargan_cli.translate import LoadedModel


@dataclass(frozen=True)
class PairConfig:
    image_size: int = 16
    channels: int = 4


class PairGenerator(nn.Module):
    def __init__(self, config: PairConfig, label_dim: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3 + label_dim, config.channels, 3, 1, 1),
            nn.ReLU(),
            nn.Conv2d(config.channels, 3, 3, 1, 1),
            nn.Tanh(),
        )

    def forward(self, x, c):
        return self.body(torch.cat([x, c[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1))


def build(config: PairConfig, space: LabelSpace) -> dict[str, nn.Module]:
    critic = nn.Sequential(
        nn.Conv2d(3, config.channels, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(config.channels, 1, 3, 1, 1)
    )
    return {"generator": PairGenerator(config, space.generator_dim), "critic": critic}


class PairTranslator:
    def __init__(self, networks, space: LabelSpace, config: PairConfig) -> None:
        self.generator, self.label_space = networks["generator"], space

    def targets(self, dataset):
        return self.label_space.datasets[dataset].attributes

    def covers(self, dataset, source, target):
        return torch.ones(len(target), dtype=torch.bool)

    def translate(self, x, dataset, target):
        return self.generator(x, self.label_space.generator_label(dataset, target.to(x.dtype)))

    def read_source(self, x, dataset):
        return None

    def attention(self, x, dataset, target):
        return None


def example(config, space, batch, gen):
    image = torch.rand(batch, 3, config.image_size, config.image_size, generator=gen) * 2 - 1
    return image, torch.rand(batch, space.generator_dim, generator=gen).round()


@dataclass(frozen=True)
class PairLoss:  # no cuda_graph_clashes(): a loss config may leave it out (none)
    weight: float = 1.0


@dataclass
class PairBatch:
    x: torch.Tensor
    dataset: int
    target: torch.Tensor


class PairObjective(Stateless):
    """Least squares, G before D at every step (CycleGAN's order)."""

    def __init__(self, config: PairLoss, context) -> None:
        self.config, self.space = config, context.label_space

    def draw(self, rng, rows):
        return rng.permutation(rows)

    def batches(self, draws, step):
        return [PairBatch(d.x_real, d.dataset, d.labels[torch.from_numpy(d.extra)]) for d in draws]

    def phases(self, step):
        return ("generator", "discriminator")

    def forward(self, networks, batch, phases):
        c = self.space.generator_label(batch.dataset, batch.target)
        return {"fake": networks["generator"](batch.x, c)}

    def loss(self, phase, networks, batch, state, grad_scale=None):
        critic = networks["critic"]
        if phase == "generator":
            g = self.config.weight * (critic(state["fake"]) - 1).square().mean()
            return g, {"G/adv": g.detach()}
        d = 0.5 * ((critic(batch.x) - 1).square().mean() + critic(state["fake"].detach()).square().mean())
        return d, {"D/adv": d.detach()}


PAIR = methods.Method(
    "pair",
    ModelSpec(
        PairConfig,
        ("generator", "critic"),
        build,
        ("generator",),
        ("generator",),
        PairTranslator,
        {"generator": Signature(("image", "label"), ("translated",), example)},
    ),
    TrainingSpec(PairLoss, adversarial(("generator",), ("critic",)), PairObjective, averaged=("generator",)),
)


@pytest.fixture
def pair_method(monkeypatch):
    monkeypatch.setitem(methods.METHODS, "pair", PAIR)


def recipe(tmp_path, dataset, steps: int = 4) -> str:
    text = f"""[data]
datasets = ["{dataset}"]
batch_size = 4
sample_count = 2
[model]
architecture = "pair"
image_size = 16
channels = 4
[loss]
weight = 2.0
[train]
steps = {steps}
decay_start = 2
log_every = 1
sample_every = 2
checkpoint_every = 2
seed = 3
[output]
runs_dir = "{tmp_path / "runs"}"
"""
    path = tmp_path / "pair.toml"
    path.write_text(text)
    return path


def test_a_registered_method_trains_resumes_exports_and_translates(pair_method, toy_dataset, tmp_path):
    path = recipe(tmp_path, toy_dataset)
    straight = train(load_recipe(path)[0]).run_dir
    records = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert [sorted(k for k in r if "/" in k and k != "images/s") for r in records] == [["D/adv", "G/adv"]] * 4
    checkpoint = straight / "checkpoints" / "step-0000004"
    assert sorted(p.name for p in checkpoint.iterdir()) == [
        "critic.safetensors", "generator.safetensors", "optimizer.pt", "state.json"
    ]  # fmt: skip
    assert json.loads((checkpoint / "state.json").read_text())["networks"] == ["generator", "critic"]
    assert (straight / "generator.safetensors").is_file() and not (straight / "critic.safetensors").exists()
    assert (straight / "samples" / "step-0000004.png").is_file()

    stopped = train(load_recipe(path)[0], stop_at=2).run_dir  # interrupted after step 2, then resumed
    train(resume=stopped)
    for name in ("generator", "critic"):
        a = load_file(straight / "checkpoints" / "step-0000004" / f"{name}.safetensors")
        b = load_file(stopped / "checkpoints" / "step-0000004" / f"{name}.safetensors")
        assert all(torch.equal(a[k], b[k]) for k in a), name

    files = export(straight, tmp_path / "out").files
    assert [p.name for p in files] == ["generator.safetensors"]
    translator = LoadedModel.load(tmp_path / "out")
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    targets = translator.label_space.parse_targets("blond")
    y = translator.apply(x, targets, {0: torch.tensor([1.0, 0, 0, 1, 0])})
    assert y.shape == (2, 3, 16, 16) and not torch.equal(y, x)
    with pytest.raises(Exception, match="it has no classifier.*--from"):
        translator.apply(x, targets, {})
    assert np.isfinite(records[-1]["G/adv"])


def test_a_method_validates_its_own_loss_section(pair_method, toy_dataset, tmp_path):
    path = recipe(tmp_path, toy_dataset)
    with pytest.raises(ConfigError, match="unknown setting loss.lambda_cls. Valid: weight"):
        load_recipe(path, ["loss.lambda_cls=1"])
    assert load_recipe(path)[0].loss == PairLoss(weight=2.0)
