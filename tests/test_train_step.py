"""Our training step against the reference's: same losses and same weights on the same inputs (fp32)."""

import copy
import sys
from pathlib import Path

import pytest
import torch

from stargan_cli.accelerators import fresh_accelerator
from stargan_cli.labels import DatasetLabels, LabelSpace
from stargan_cli.models.stargan import StarGANConfig
from stargan_cli.objectives.stargan import StarGANBatch
from stargan_cli.train.step import StepRunner

from . import method_helpers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from reference_step import reference_step  # noqa: E402 - benchmarks/ is not a package

OPTIMISERS = {
    "adam": lambda params: torch.optim.Adam(params, 1e-3, (0.5, 0.999)),
    "sgd": lambda params: torch.optim.SGD(params, 0.05, momentum=0.5),
}


def networks(seed=0):
    torch.manual_seed(seed)
    config = StarGANConfig(image_size=16, g_conv_dim=8, g_repeat_num=2, d_conv_dim=8, d_repeat_num=4)
    return method_helpers.networks(config, LabelSpace((DatasetLabels("d", ("a", "b", "c", "e", "f")),)))


@pytest.mark.parametrize(
    "kind,optimiser,separate",
    [("multi", "adam", True), ("single", "adam", True), ("multi", "sgd", True), ("multi", "sgd", False)],
)
def test_our_step_equals_the_reference_step(kind, optimiser, separate):
    labels = LabelSpace((DatasetLabels("d", ("a", "b", "c", "e", "f"), kind),))
    objective = method_helpers.objective(labels, separate_penalty=separate, n_critic=2)
    g, d = networks()
    g2, d2 = copy.deepcopy(g), copy.deepcopy(d)
    make = OPTIMISERS[optimiser]
    g_opt, d_opt, g2_opt, d2_opt = (
        make(g.parameters()),
        make(d.parameters()),
        make(g2.parameters()),
        make(d2.parameters()),
    )
    optimizers = {"discriminator": d2_opt, "generator": g2_opt}
    ours = StepRunner(
        {"generator": g2, "discriminator": d2}, optimizers, objective, fresh_accelerator(cpu=True)
    )
    assert objective.separate_penalty is separate
    gen = torch.Generator().manual_seed(1)
    for step in range(1, 5):  # n_critic 2: G is due at steps 2 and 4
        x = torch.rand(4, 3, 16, 16, generator=gen) * 2 - 1
        if kind == "multi":
            org = (torch.rand(4, 5, generator=gen) > 0.5).float()
            trg = org[torch.randperm(4, generator=gen)]
        else:
            org = torch.eye(5)[torch.randint(5, (4,), generator=gen)]
            trg = torch.eye(5)[torch.randint(5, (4,), generator=gen)]
        batch = StarGANBatch(x, 0, org, trg, alpha=torch.rand(4, 1, 1, 1, generator=gen))
        expected = reference_step(g, d, g_opt, d_opt, objective, batch, step % 2 == 0)
        got = ours(batch, objective.phases(step))
        assert sorted(got) == sorted(expected)
        assert len(got) == (7 if step % 2 == 0 else 4)
        for name, value in expected.items():
            assert got[name].item() == pytest.approx(value.item(), rel=1e-4, abs=1e-6), (step, name)
    assert (next(g.parameters()) - next(networks()[0].parameters())).abs().max() > 1e-4  # G was trained
    if optimiser == "sgd":  # (Adam divides by the gradient's size, which turns rounding in ~0 gradients
        # into full-size steps; SGD keeps them small, so the weights themselves can be compared)
        for a, b in zip(
            [*g.parameters(), *d.parameters()], [*g2.parameters(), *d2.parameters()], strict=True
        ):
            assert (a - b).abs().max().item() < 1e-5


def test_adam_moments_loaded_in_another_layout_are_re_laid_out():
    """A checkpoint's Adam moments saved from contiguous networks, loaded for channels_last ones (or back):
    match_layout gives them the parameters' strides with the same values, so the fused update that walks
    them as flat memory pairs each weight with its own moments."""
    from stargan_cli.train.step import adam, match_layout

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3)
    x = torch.randn(2, 3, 6, 6)
    first = adam(conv.parameters(), 1e-2, (0.5, 0.999))
    conv(x).square().mean().backward()
    first.step()
    saved = copy.deepcopy(first.state_dict())
    twin = copy.deepcopy(conv).to(memory_format=torch.channels_last)
    second = adam(twin.parameters(), 1e-2, (0.5, 0.999))
    second.load_state_dict(saved)
    assert second.state[twin.weight]["exp_avg"].stride() != twin.weight.stride()
    match_layout(second)
    moments = second.state[twin.weight]
    assert moments["exp_avg"].stride() == twin.weight.stride() == moments["exp_avg_sq"].stride()
    assert torch.equal(moments["exp_avg"], first.state[conv.weight]["exp_avg"])
    for net, opt in ((conv, first), (twin, second)):  # one more update each: the same weights
        opt.zero_grad()
        net(x).square().mean().backward()
        opt.step()
    assert torch.allclose(twin.weight, conv.weight, atol=1e-6)
