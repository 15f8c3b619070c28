"""Each loss term against a hand computation on tiny tensors."""

import math

import pytest
import torch
from torch import nn

from stargan_cli import losses
from stargan_cli.labels import DatasetLabels, LabelSpace
from stargan_cli.objectives.stargan import StarGANBatch

from .method_helpers import objective as stargan_objective


def test_wgan_terms():
    assert losses.wgan_real(torch.tensor([[1.0, 3.0]])).item() == -2.0
    assert losses.wgan_fake(torch.tensor([[1.0, 3.0], [0.0, 4.0]])).item() == 2.0


def test_multi_label_loss_sums_attributes_and_averages_batch():
    logits = torch.tensor([[0.0, 2.0], [-1.0, 1.0]])
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])

    def bce(z, y):
        p = 1 / (1 + math.exp(-z))
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))

    expected = (bce(0, 1) + bce(2, 0) + bce(-1, 0) + bce(1, 1)) / 2
    assert abs(losses.multi_label_loss(logits, target).item() - expected) < 1e-6


def test_single_label_loss_is_mean_cross_entropy():
    logits = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    target = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    lse = math.log(math.exp(1) + math.exp(2) + math.exp(3))
    expected = ((lse - 3) + math.log(3)) / 2
    assert abs(losses.single_label_loss(logits, target).item() - expected) < 1e-6


class LinearCritic(nn.Module):
    """D_src(x) = sum(w * x) per sample (a 1x1 patch), D_cls = constant logits: its input gradient is w."""

    def __init__(self, w: torch.Tensor, logits: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)
        self.logits = nn.Parameter(logits)

    def forward(self, x):
        src = (x * self.w).flatten(1).sum(1)[:, None, None, None]
        return src, self.logits.expand(x.shape[0], -1) + 0 * src.flatten(1)


def test_gradient_penalty_on_a_network_with_known_gradient():
    w = torch.full((1, 1, 2, 2), 0.25)  # ||w|| = 0.5 for every sample
    x = torch.rand(3, 1, 2, 2, requires_grad=True)
    out = (x * w).flatten(1).sum(1)
    assert abs(losses.gradient_penalty(out, x).item() - 0.25) < 1e-6  # (0.5 - 1)^2
    # under loss scaling the gradient is unscaled before the norm
    assert abs(losses.gradient_penalty(out, x, grad_scale=1024.0).item() - 0.25) < 1e-6


@pytest.mark.parametrize("separate_penalty", [False, True])
def test_discriminator_loss_matches_hand_computation(separate_penalty):
    space = LabelSpace((DatasetLabels("a", ("x", "y"), "multi"),))
    w = torch.full((1, 3, 2, 2), 0.5)  # ||grad|| = sqrt(12 * 0.25) = sqrt(3)
    critic = LinearCritic(w, torch.tensor([[0.0, 1.0]]))
    x_real, x_fake = torch.ones(2, 3, 2, 2), -torch.ones(2, 3, 2, 2)
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    batch = StarGANBatch(x_real, 0, labels, labels.flip(0), alpha=torch.full((2, 1, 1, 1), 0.3))
    objective = stargan_objective(space, separate_penalty, lambda_cls=1.0, lambda_rec=10.0, lambda_gp=10.0)
    loss, logs = objective.discriminator_loss(critic, batch, x_fake)
    cls = losses.multi_label_loss(torch.tensor([[0.0, 1.0], [0.0, 1.0]]), labels).item()
    assert abs(logs["D/real"].item() - (-6.0)) < 1e-6  # sum(0.5 * 1 over 12 values)
    assert abs(logs["D/fake"].item() - (-6.0)) < 1e-6
    assert abs(logs["D/cls"].item() - cls) < 1e-6
    assert abs(logs["D/gp"].item() - (math.sqrt(3) - 1) ** 2) < 1e-5
    expected = -6.0 + -6.0 + cls + 10 * (math.sqrt(3) - 1) ** 2
    assert abs(loss.item() - expected) < 1e-5
    loss.backward()  # one backward reaches the critic's weights through the penalty too
    assert critic.w.grad is not None and critic.logits.grad is not None


def test_generator_loss_matches_hand_computation():
    space = LabelSpace((DatasetLabels("a", ("x", "y", "z"), "single"),))
    critic = LinearCritic(torch.full((1, 3, 2, 2), 0.5), torch.tensor([[2.0, 0.0, 0.0]]))

    class Shift(nn.Module):  # G(x, c) = x + 0.1: reconstruction error 0.1 after a second pass from fake
        def forward(self, x, c):
            return x + 0.1

    x_real = torch.zeros(2, 3, 2, 2)
    labels = torch.eye(3)[[0, 1]]
    batch = StarGANBatch(x_real, 0, labels, torch.eye(3)[[2, 0]])
    fake = Shift()(x_real, None)
    loss, logs = stargan_objective(space).generator_loss(Shift(), critic, batch, fake)
    lse = math.log(math.exp(2) + 2)
    cls = ((lse - 0) + (lse - 2)) / 2  # targets: class 2, then class 0
    assert abs(logs["G/fake"].item() - (-0.6)) < 1e-6  # -(0.5 * 0.1 * 12)
    assert abs(logs["G/rec"].item() - 0.2) < 1e-6  # |0 - (0.1 + 0.1)|
    assert abs(logs["G/cls"].item() - cls) < 1e-6
    assert abs(loss.item() - (-0.6 + 10 * 0.2 + cls)) < 1e-5


def test_classifier_noise_is_added_to_what_the_classifier_reads_only():
    """loss.cls_noise (not in the paper): D's classifier reads real images (D's loss) and G's outputs (G's
    loss) with N(0, cls_noise^2) added, drawn from the CPU generator; the source head reads them clean."""
    space = LabelSpace((DatasetLabels("a", ("x", "y", "z"), "single"),))

    class Reader(nn.Module):  # D_src(x) = sum(w * x); D_cls(x) = V x: both read every pixel
        def __init__(self):
            super().__init__()
            self.w, self.v = nn.Parameter(torch.randn(1, 3, 2, 2)), nn.Parameter(torch.randn(3, 12))

        def forward(self, x):
            return (x * self.w).flatten(1).sum(1)[:, None, None, None], x.flatten(1) @ self.v.T

    torch.manual_seed(0)
    critic, x_real, fake = Reader(), torch.rand(2, 3, 2, 2), torch.rand(2, 3, 2, 2)
    labels = torch.eye(3)[[0, 1]]
    batch = StarGANBatch(x_real, 0, labels, torch.eye(3)[[2, 0]], alpha=torch.full((2, 1, 1, 1), 0.5))
    plain = stargan_objective(space)
    noisy = stargan_objective(space, cls_noise=0.5)
    torch.manual_seed(5)
    _, d_logs = noisy.discriminator_loss(critic, batch, fake)
    _, g_logs = noisy.generator_loss(lambda x, c: x, critic, batch, fake)
    torch.manual_seed(5)  # the same draws, added by hand
    noisy_real, noisy_fake = x_real + 0.5 * torch.randn(x_real.shape), fake + 0.5 * torch.randn(fake.shape)
    _, d_hand = plain.discriminator_loss(
        critic, StarGANBatch(noisy_real, 0, labels, labels, alpha=batch.alpha), fake
    )
    _, g_hand = plain.generator_loss(lambda x, c: x, critic, batch, noisy_fake)
    _, d_clean = plain.discriminator_loss(critic, batch, fake)
    _, g_clean = plain.generator_loss(lambda x, c: x, critic, batch, fake)
    assert d_logs["D/cls"].item() == pytest.approx(d_hand["D/cls"].item(), rel=1e-6)
    assert g_logs["G/cls"].item() == pytest.approx(g_hand["G/cls"].item(), rel=1e-6)
    assert d_logs["D/cls"].item() != pytest.approx(d_clean["D/cls"].item())
    for name in ("D/real", "D/fake", "D/gp"):
        assert d_logs[name].item() == pytest.approx(
            d_clean[name].item(), rel=1e-6
        )  # clean for the source head
    assert g_logs["G/fake"].item() == pytest.approx(g_clean["G/fake"].item(), rel=1e-6)
    assert g_logs["G/rec"].item() == pytest.approx(g_clean["G/rec"].item(), rel=1e-6)


def test_classification_uses_only_the_batch_datasets_slice():
    space = LabelSpace(
        (DatasetLabels("a", ("x", "y"), "multi"), DatasetLabels("b", ("p", "q", "r"), "single"))
    )
    objective = stargan_objective(space)
    logits = torch.tensor([[5.0, -5.0, 0.0, 3.0, 0.0]])
    batch = StarGANBatch(
        torch.zeros(1, 3, 2, 2), 1, torch.tensor([[0.0, 1.0, 0.0]]), torch.tensor([[0.0, 1.0, 0.0]])
    )
    expected = losses.single_label_loss(torch.tensor([[0.0, 3.0, 0.0]]), torch.tensor([1]))
    assert (
        abs(objective._classification(logits, batch.dataset, batch.labels_org).item() - expected.item())
        < 1e-6
    )
    c_org, _ = objective.generator_labels(batch)
    assert c_org.tolist() == [[0, 0, 0, 1, 0, 0, 1]]


def test_the_step_phases_and_draws_of_the_stargan_objective():
    """D every step and G every n_critic-th, in that order; a batch's targets are its labels permuted by the
    first draw of the batch's generator and its penalty alphas the next draws, as the reference's solver
    (torch.randperm, torch.rand) does per iteration."""
    import numpy as np

    from stargan_cli.objectives.spec import Draw

    space = LabelSpace((DatasetLabels("a", ("x", "y", "z"), "multi"),))
    objective = stargan_objective(space, n_critic=3)
    assert [objective.phases(s) for s in (1, 2, 3, 6)] == [
        ("discriminator",),
        ("discriminator",),
        ("discriminator", "generator"),
        ("discriminator", "generator"),
    ]
    labels = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
    drawn = objective.draw(np.random.default_rng(5), 4)
    by_hand = np.random.default_rng(5)
    permutation, alpha = by_hand.permutation(4), by_hand.random((4, 1, 1, 1), dtype=np.float32)
    batch = objective.batch(Draw(torch.zeros(4, 3, 2, 2), labels, 0, drawn), step=1)
    assert torch.equal(batch.labels_trg, labels[torch.from_numpy(permutation)])
    assert torch.equal(batch.alpha, torch.from_numpy(alpha)) and batch.alpha.shape == (4, 1, 1, 1)
    assert batch.cross is None and torch.equal(batch.labels_org, labels)
