"""Building the StarGAN method's parts by hand, as the training loop does, for unit tests."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from stargan_cli.labels import LabelSpace
from stargan_cli.models.stargan import StarGANConfig, build
from stargan_cli.objectives.spec import ObjectiveContext
from stargan_cli.objectives.stargan import StarGANLoss, StarGANObjective


def context(space: LabelSpace, processes: int = 1, train_labels=None, seed: int = 0) -> ObjectiveContext:
    return ObjectiveContext(space, train_labels or {}, seed, 0, processes, torch.device("cpu"))


def objective(space: LabelSpace, separate_penalty: bool | None = None, **loss) -> StarGANObjective:
    return StarGANObjective(StarGANLoss(**loss), context(space), separate_penalty)


def networks(config: StarGANConfig, space: LabelSpace) -> tuple[torch.nn.Module, torch.nn.Module]:
    built = build(config, space)
    return built["generator"], built["discriminator"]


def phases(g_due: bool) -> tuple[str, ...]:
    return ("discriminator", "generator") if g_due else ("discriminator",)


def write_recipe(path: Path, sections: dict[str, dict]) -> Path:
    """A recipe file from {section: {setting: value}}, each value written as a TOML literal."""
    lines = []
    for section, settings in sections.items():
        lines += [f"[{section}]"] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def two_domain_recipe(tmp_path, dataset, architecture: str, model: dict, steps: int = 4, **sections) -> Path:
    """A tiny recipe of a two-domain method on toy-celeba's black <-> blond hair, checkpoints every 2 steps;
    `sections` adds lines to [loss] or [train] (e.g. train="weight_decay = 1e-4")."""
    path = tmp_path / f"{architecture}.toml"
    lines = "\n".join(f"{k} = {v}" for k, v in model.items())
    path.write_text(
        f"""[data]
datasets = ["{dataset}"]
batch_size = 2
sample_count = 4
[model]
architecture = "{architecture}"
{lines}
domains = ["Black_Hair", "Blond_Hair"]
[loss]
{sections.get("loss", "")}
[train]
steps = {steps}
decay_start = 2
log_every = 1
sample_every = 2
checkpoint_every = 2
seed = 5
{sections.get("train", "")}
[output]
runs_dir = "{tmp_path / "runs"}"
"""
    )
    return path


def assert_onnx_exports_translate_as_pytorch(
    model_dir: Path, out: Path, targets: tuple[str, ...], size: int
) -> None:
    """`stargan export --format onnx` of a two-domain model: both generators written, parity-checked, and
    translations through onnxruntime equal to PyTorch's (1e-4) for each target."""
    from stargan_cli.export import export
    from stargan_cli.translate import LoadedModel

    exported = export(model_dir, out, fmt="onnx")
    assert [p.name for p in exported.files] == ["generator.onnx", "generator_b.onnx"]
    assert exported.max_abs_diff < 1e-4
    x = torch.rand(3, 3, size, size) * 2 - 1
    through_onnx, through_torch = LoadedModel.load(out / "generator.onnx"), LoadedModel.load(model_dir)
    for target in targets:
        parsed = through_torch.label_space.parse_targets(target)
        assert (through_onnx.apply(x, parsed, {}) - through_torch.apply(x, parsed, {})).abs().max() < 1e-4, (
            target
        )


def phase_gradients(objective, networks, batch, backward) -> dict[str, torch.Tensor]:
    """One two-domain step's gradients, by `network.parameter`: the discriminators' from the D loss, then
    the generators' from the G loss, each phase back-propagated alone (with `backward`, e.g. Accelerate's)."""
    state = objective.forward(networks, batch, objective.phases(1))
    grads = {}
    for phase, names in (("discriminator", [n for n in networks if "discriminator" in n]),
                         ("generator", ["generator", "generator_b"])):  # fmt: skip
        for net in networks.values():
            net.zero_grad()
        loss, _ = objective.loss(phase, networks, batch, state)
        backward(loss)
        grads |= {f"{n}.{k}": p.grad.clone() for n in names for k, p in networks[n].named_parameters()}
    return grads


def process_share(total: int, size: int, rank: int, world: int) -> tuple[torch.Tensor, torch.Tensor]:
    """This process's rows of a fixed global batch of `total` images per domain (A, B) at `size` px in
    [-1, 1]: every process draws the whole batch from one seed and keeps its slice."""
    gen = torch.Generator().manual_seed(7)
    real_a, real_b = (torch.rand(total, 3, size, size, generator=gen) * 2 - 1 for _ in range(2))
    part = slice(rank * total // world, (rank + 1) * total // world)
    return real_a[part], real_b[part]
