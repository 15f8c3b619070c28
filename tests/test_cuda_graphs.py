"""CUDA graphs of the training step (train/graphs.py). The graphed-vs-eager checks need a CUDA GPU (they run
on the device machine, see benchmarks/RESULTS.md); the host-side parts run everywhere."""

import pytest
import torch

from stargan_cli.accelerators import fresh_accelerator
from stargan_cli.config import load_recipe
from stargan_cli.errors import ConfigError
from stargan_cli.labels import DatasetLabels, LabelSpace
from stargan_cli.models.stargan import StarGANConfig
from stargan_cli.objectives.stargan import StarGANBatch
from stargan_cli.train.graphs import GraphedStep, portable_state, set_learning_rate
from stargan_cli.train.loop import train
from stargan_cli.train.step import StepRunner, adam

from .method_helpers import networks, objective, phases

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
cpu_only = pytest.mark.skipif(torch.cuda.is_available(), reason="the recipe would train on the GPU here")


def test_learning_rates_are_set_in_place_and_saved_as_plain_numbers():
    opt = adam([torch.nn.Parameter(torch.ones(3))], 1e-4, (0.5, 0.999))
    set_learning_rate(opt, 3e-5)
    assert opt.param_groups[0]["lr"] == 3e-5
    lr = torch.tensor(1e-4)
    opt.param_groups[0].update(lr=lr, capturable=True)
    set_learning_rate(opt, 2e-5)
    assert opt.param_groups[0]["lr"] is lr and lr.item() == pytest.approx(2e-5)
    saved = portable_state(opt)["param_groups"][0]
    assert saved["lr"] == pytest.approx(2e-5) and isinstance(saved["lr"], float)
    assert saved["capturable"] is False and opt.param_groups[0]["capturable"] is True


@pytest.mark.parametrize(
    "setting,named",
    [
        ("loss.cross_targets=0.5", "loss.cross_targets"),
        ('train.precision="fp16"', 'train.precision = "fp16"'),
        ("train.compile_generator=true", "train.compile_generator"),
    ],
)
def test_cuda_graphs_refuse_what_a_graph_cannot_hold(recipe_file, setting, named):
    with pytest.raises(ConfigError, match=f"train.cuda_graphs cannot be combined with {named};"):
        load_recipe(recipe_file, ["train.cuda_graphs=true", setting])


@cpu_only
def test_cuda_graphs_are_ignored_with_a_note_on_the_cpu(recipe_file, capsys):
    recipe, _ = load_recipe(recipe_file, ["train.cuda_graphs=true", "train.steps=2", "train.decay_start=1"])
    result = train(recipe)
    assert "train.cuda_graphs is ignored: not training on a CUDA GPU" in capsys.readouterr().err
    assert result.step == 2


def _runners(graphed: bool):
    torch.manual_seed(0)
    config = StarGANConfig(image_size=16, g_conv_dim=8, g_repeat_num=2, d_conv_dim=8, d_repeat_num=4)
    labels = LabelSpace((DatasetLabels("d", ("a", "b", "c", "e", "f"), "multi"),))
    g, d = (m.cuda() for m in networks(config, labels))
    optimizers = {
        "discriminator": adam(d.parameters(), 1e-3, (0.5, 0.999)),
        "generator": adam(g.parameters(), 1e-3, (0.5, 0.999)),
    }
    runner = StepRunner(
        {"generator": g, "discriminator": d},
        optimizers,
        objective(labels),
        fresh_accelerator(mixed_precision="no"),
    )
    return (GraphedStep(runner) if graphed else runner), g, d


@cuda
def test_graphed_steps_train_like_eager_ones():
    torch.backends.cudnn.deterministic = True  # the same convolution algorithms in both
    (eager, g1, d1), (graphed, g2, d2) = _runners(False), _runners(True)
    gen = torch.Generator().manual_seed(1)
    for step in range(1, 11):  # n_critic 2: D-only and D+G steps, each recorded after 2 eager ones
        x = (torch.rand(4, 3, 16, 16, generator=gen) * 2 - 1).cuda()
        org = (torch.rand(4, 5, generator=gen) > 0.5).float().cuda()
        batch = StarGANBatch(x, 0, org, org.flip(0), alpha=torch.rand(4, 1, 1, 1, generator=gen).cuda())
        for opt in (*eager.optimizers.values(), *graphed.runner.optimizers.values()):
            set_learning_rate(opt, 1e-3 * (1 - step / 20))  # a changing rate must reach the graphs
        a = {k: v.item() for k, v in eager(batch, phases(step % 2 == 0)).items()}
        b = {k: v.item() for k, v in graphed(batch, phases(step % 2 == 0)).items()}
        assert b == pytest.approx(a, rel=1e-4, abs=1e-5), step
    assert len(graphed.recorded) == 2
    for one, two in ((g1, g2), (d1, d2)):
        for p, q in zip(one.parameters(), two.parameters(), strict=True):
            assert torch.allclose(p, q, rtol=1e-4, atol=1e-5)
