"""Each loss term against a hand computation on tiny tensors."""

import math

import pytest
import torch
from torch import nn

from stargan_cli import losses
from stargan_cli.images import reframe
from stargan_cli.labels import DatasetLabels, LabelSpace
from stargan_cli.objectives import Batch, StarGANObjective


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
    batch = Batch(x_real, 0, labels, labels.flip(0))
    objective = StarGANObjective(space, lambda_cls=1.0, lambda_rec=10.0, lambda_gp=10.0)
    alpha = torch.full((2, 1, 1, 1), 0.3)
    loss, logs = objective.discriminator_loss(critic, batch, x_fake, alpha, separate_penalty=separate_penalty)
    cls = losses.multi_label_loss(torch.tensor([[0.0, 1.0], [0.0, 1.0]]), labels).item()
    assert abs(logs["D/real"].item() - (-6.0)) < 1e-6  # sum(0.5 * 1 over 12 values)
    assert abs(logs["D/fake"].item() - (-6.0)) < 1e-6
    assert abs(logs["D/cls"].item() - cls) < 1e-6
    assert abs(logs["D/gp"].item() - (math.sqrt(3) - 1) ** 2) < 1e-5
    expected = -6.0 + -6.0 + cls + 10 * (math.sqrt(3) - 1) ** 2
    assert abs(loss.item() - expected) < 1e-5
    loss.backward()  # one backward reaches the critic's weights through the penalty too
    assert critic.w.grad is not None and critic.logits.grad is not None


def test_classifier_loss_reads_real_images_only_and_leaves_the_source_head_alone():
    space = LabelSpace((DatasetLabels("a", ("x", "y"), "multi"),))
    critic = LinearCritic(torch.full((1, 3, 2, 2), 0.5), torch.tensor([[0.0, 1.0]]))
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    batch = Batch(torch.ones(2, 3, 2, 2), 0, labels, labels.flip(0))
    loss, logs = StarGANObjective(space, lambda_cls=3.0).classifier_loss(critic, batch)
    cls = losses.multi_label_loss(torch.tensor([[0.0, 1.0], [0.0, 1.0]]), labels).item()
    assert abs(logs["D/cls"].item() - cls) < 1e-6 and abs(loss.item() - 3 * cls) < 1e-5
    loss.backward()
    assert critic.w.grad.abs().sum() == 0 and critic.logits.grad.abs().sum() > 0


def test_generator_loss_matches_hand_computation():
    space = LabelSpace((DatasetLabels("a", ("x", "y", "z"), "single"),))
    critic = LinearCritic(torch.full((1, 3, 2, 2), 0.5), torch.tensor([[2.0, 0.0, 0.0]]))

    class Shift(nn.Module):  # G(x, c) = x + 0.1: reconstruction error 0.1 after a second pass from fake
        def forward(self, x, c):
            return x + 0.1

    x_real = torch.zeros(2, 3, 2, 2)
    labels = torch.eye(3)[[0, 1]]
    batch = Batch(x_real, 0, labels, torch.eye(3)[[2, 0]])
    fake = Shift()(x_real, None)
    loss, logs = StarGANObjective(space).generator_loss(Shift(), critic, batch, fake)
    lse = math.log(math.exp(2) + 2)
    cls = ((lse - 0) + (lse - 2)) / 2  # targets: class 2, then class 0
    assert abs(logs["G/fake"].item() - (-0.6)) < 1e-6  # -(0.5 * 0.1 * 12)
    assert abs(logs["G/rec"].item() - 0.2) < 1e-6  # |0 - (0.1 + 0.1)|
    assert abs(logs["G/cls"].item() - cls) < 1e-6
    assert abs(loss.item() - (-0.6 + 10 * 0.2 + cls)) < 1e-5
    assert "G/id" not in logs  # the paper's loss has no identity term

    # with the identity loss (not in the paper): G(x, c_org) = x + 0.1, so |x - G(x, c_org)| = 0.1
    class Recording(Shift):
        def __init__(self):
            super().__init__()
            self.seen = []

        def forward(self, x, c):
            self.seen.append((x, c))
            return super().forward(x, c)

    g = Recording()
    with_id, logs = StarGANObjective(space, lambda_id=5.0).generator_loss(g, critic, batch, fake)
    assert abs(logs["G/id"].item() - 0.1) < 1e-6
    (x_rec_in, c_rec), (x_id_in, c_id) = g.seen  # reconstruction from the fake, then identity from the real
    assert torch.equal(x_id_in, x_real) and torch.equal(c_id, labels) and torch.equal(c_rec, labels)
    assert abs(with_id.item() - (-0.6 + 10 * 0.2 + cls + 5 * 0.1)) < 1e-5


def test_classification_uses_only_the_batch_datasets_slice():
    space = LabelSpace(
        (DatasetLabels("a", ("x", "y"), "multi"), DatasetLabels("b", ("p", "q", "r"), "single"))
    )
    objective = StarGANObjective(space)
    logits = torch.tensor([[5.0, -5.0, 0.0, 3.0, 0.0]])
    batch = Batch(
        torch.zeros(1, 3, 2, 2), 1, torch.tensor([[0.0, 1.0, 0.0]]), torch.tensor([[0.0, 1.0, 0.0]])
    )
    expected = losses.single_label_loss(torch.tensor([[0.0, 3.0, 0.0]]), torch.tensor([1]))
    assert (
        abs(objective._classification(logits, batch.dataset, batch.labels_org).item() - expected.item())
        < 1e-6
    )
    c_org, _ = objective.generator_labels(batch)
    assert c_org.tolist() == [[0, 0, 0, 1, 0, 0, 1]]


def test_random_shift_moves_whole_images_and_passes_gradients():
    torch.manual_seed(3)
    x = torch.arange(4 * 3 * 8 * 8, dtype=torch.float32).reshape(4, 3, 8, 8) + 1  # no zeros inside
    x.requires_grad_(True)
    y = losses.random_shift(x, 0.25)  # up to 2 pixels each way

    def shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
        out = torch.zeros_like(image)
        out[:, max(dy, 0) : 8 + min(dy, 0), max(dx, 0) : 8 + min(dx, 0)] = image[
            :, max(-dy, 0) : 8 - max(dy, 0), max(-dx, 0) : 8 - max(dx, 0)
        ]
        return out

    seen = set()
    for i in range(4):  # each image is exactly one whole-pixel shift of its input, within 2 pixels
        matches = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.equal(y[i], shifted(x[i].detach(), dy, dx))
        ]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 1  # drawn per image
    y.sum().backward()  # each input pixel still inside the frame gets gradient 1, the others 0
    assert set(x.grad.unique().tolist()) <= {0.0, 1.0} and x.grad.sum() == (y != 0).sum()
    assert losses.random_shift(x, 0.0) is x
    state = torch.get_rng_state()  # the offsets come from the CPU generator, which checkpoints save
    first = losses.random_shift(x.detach(), 0.25)
    torch.set_rng_state(state)
    assert torch.equal(losses.random_shift(x.detach(), 0.25), first)


def test_discriminator_loss_with_shifts_is_the_loss_of_shifted_images():
    space = LabelSpace((DatasetLabels("a", ("x", "y"), "multi"),))
    critic = LinearCritic(torch.randn(1, 3, 4, 4), torch.tensor([[0.5, -1.0]]))
    x_real, x_fake = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    alpha = torch.full((2, 1, 1, 1), 0.3)
    shifted = StarGANObjective(space, augment_shift=0.25)
    torch.manual_seed(5)
    loss, _ = shifted.discriminator_loss(critic, Batch(x_real, 0, labels, labels), x_fake, alpha)
    torch.manual_seed(5)  # the same draws, applied by hand, through the objective without shifts
    real, fake = losses.random_shift(x_real, 0.25), losses.random_shift(x_fake, 0.25)
    plain = StarGANObjective(space)
    expected, _ = plain.discriminator_loss(critic, Batch(real, 0, labels, labels), fake, alpha)
    assert torch.allclose(loss, expected) and not torch.allclose(
        loss, plain.discriminator_loss(critic, Batch(x_real, 0, labels, labels), x_fake, alpha)[0]
    )


def test_shift_with_edges_repeats_the_border():
    x = torch.arange(16.0).reshape(1, 1, 4, 4).expand(1, 3, 4, 4).contiguous()
    torch.manual_seed(0)
    y = losses.random_shift(x, 0.5, edges=True)  # up to 2 pixels each way

    def moved(dy, dx):  # pixel (i, j) shows input pixel (i - dy, j - dx), clamped to the border
        return x[:, :, (torch.arange(4) - dy).clamp(0, 3)][:, :, :, (torch.arange(4) - dx).clamp(0, 3)]

    matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if torch.equal(y, moved(dy, dx))]
    assert len(matches) == 1 and matches[0] != (0, 0)  # seed 0 draws a real shift here


def _zoomed_by_hand(fake):  # fake_zoom=0.5, fake_shift=0.25: the objective's draws, in its order
    scale = 1 - 0.5 * torch.rand(len(fake))
    offset = 0.25 * (2 * torch.rand(len(fake), 2) - 1)
    assert (scale < 0.99).all()  # seed 7 draws real zooms
    return reframe(fake, scale, offset)


@pytest.mark.parametrize(
    ("zoom", "by_hand_view"),
    [(0.0, lambda fake: losses.random_shift(fake, 0.25, edges=True)), (0.5, _zoomed_by_hand)],
    ids=["shift", "shift+zoom"],
)
def test_generator_loss_with_fake_shift_classifies_a_reframed_copy_only(zoom, by_hand_view):
    space = LabelSpace((DatasetLabels("a", ("x", "y", "z"), "single"),))

    class Reader(nn.Module):  # D_src(x) = sum(w * x); D_cls(x) = V x: both read every pixel
        def __init__(self):
            super().__init__()
            self.w, self.v = nn.Parameter(torch.randn(1, 3, 4, 4)), nn.Parameter(torch.randn(3, 48))

        def forward(self, x):
            return (x * self.w).flatten(1).sum(1)[:, None, None, None], x.flatten(1) @ self.v.T

    critic = Reader()
    x_real, fake = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    batch = Batch(x_real, 0, torch.eye(3)[[0, 1]], torch.eye(3)[[2, 0]])

    class Half(nn.Module):  # G(x, c) = x / 2
        def forward(self, x, c):
            return x / 2

    torch.manual_seed(7)
    objective = StarGANObjective(space, fake_shift=0.25, fake_zoom=zoom)
    _, logs = objective.generator_loss(Half(), critic, batch, fake)
    torch.manual_seed(7)  # the same draw by hand
    shifted = by_hand_view(fake)
    _, plain = StarGANObjective(space).generator_loss(Half(), critic, batch, fake)
    _, by_hand = StarGANObjective(space).generator_loss(Half(), critic, batch, shifted)
    assert logs["G/fake"].item() == pytest.approx(plain["G/fake"].item())  # judged as D saw it
    assert logs["G/cls"].item() == pytest.approx(by_hand["G/cls"].item(), rel=1e-6)  # read shifted
    assert logs["G/cls"].item() != pytest.approx(plain["G/cls"].item())
    assert logs["G/rec"].item() == pytest.approx(plain["G/rec"].item())  # reconstructed from the fake itself
