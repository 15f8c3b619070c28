"""The StarGAN objective (paper eq. 1-7): adversarial WGAN-GP, domain classification, reconstruction.

Symbols: x_real (B,3,H,W) real images in [-1,1]; c_org / c_trg the generator labels (B, generator_dim)
of the source and target domains; labels_org / labels_trg the same restricted to the batch's dataset
(B, A), which is what the classifier is trained against. lambda_cls, lambda_rec, lambda_gp weight the
terms as in the paper (1, 10, 10).

D loss = -mean D_src(x) + mean D_src(G(x,c_trg)) + lambda_cls * cls(D_cls(x), c_org) + lambda_gp * GP
G loss = -mean D_src(G(x,c_trg)) + lambda_rec * |x - G(G(x,c_trg), c_org)| + lambda_cls * cls(D_cls(fake), c_trg)

D is updated every step, G every n_critic-th (the reference's alternation). A batch's targets are a
permutation of its own labels and its penalty alphas are U(0, 1), both drawn from the batch's seeded
generator (`draw`).

With cross-dataset targets (`cross_targets`, not in the paper), some rows of a batch are translated to a
target of another dataset under that dataset's mask: G's classification loss reads those rows with the
other dataset's slice and loss kind and, on its own dataset's slice, against its original labels (the
attributes it must keep); reconstruction takes every row back to its own labels and mask.
The reference only ever trains G within a dataset, so "a CelebA face with a RaFD expression" is a zero-shot
guess there; here it is trained.

Both losses are returned as (loss, logs): logs hold detached tensors named `D/real`, `D/fake`, `D/cls`,
`D/gp`, `G/fake`, `G/rec`, `G/cls`, the names used in the console, metrics.jsonl and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import losses
from ..errors import ConfigError
from ..labels import LabelSpace
from .spec import Draw, ObjectiveContext, Stateless, TrainingSpec, adversarial


@dataclass(frozen=True)
class StarGANLoss:
    """The `[loss]` section of a StarGAN recipe; defaults are the paper's."""

    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_gp: float = 10.0
    n_critic: int = 5  # G updated every n_critic discriminator steps
    # not in the paper: this fraction of each batch is translated to another dataset's targets (joint runs)
    cross_targets: float = 0.0
    # not in the paper: std of Gaussian noise on every image D's classifier reads (real in D's loss, fake in
    # G's), so that a perturbation smaller than the noise cannot flip an attribute
    cls_noise: float = 0.0

    def __post_init__(self) -> None:
        if self.n_critic < 1:
            raise ConfigError(f"loss.n_critic must be at least 1, got {self.n_critic}")
        for name in ("lambda_cls", "lambda_rec", "lambda_gp"):
            if getattr(self, name) < 0:
                raise ConfigError(f"loss.{name} must be 0 or more, got {getattr(self, name)}")
        if not 0 <= self.cls_noise <= 2:
            raise ConfigError(f"loss.cls_noise must be in [0, 2] (images span [-1, 1]), got {self.cls_noise}")
        if not 0 <= self.cross_targets <= 1:
            raise ConfigError(f"loss.cross_targets must be in [0, 1], got {self.cross_targets}")

    def cuda_graph_clashes(self) -> list[str]:
        """Settings a recorded CUDA graph cannot hold."""
        clashes = {
            "loss.cross_targets": self.cross_targets,  # its rows and slices change every step
            "loss.cls_noise": self.cls_noise,  # drawn on the host
        }
        return [name for name, value in clashes.items() if value]


@dataclass
class CrossTargets:
    """Rows of a batch whose target belongs to another dataset of the label space."""

    rows: torch.Tensor  # (n,) long, sorted
    dataset: int  # the other dataset
    labels: torch.Tensor  # (n, A_dataset) 0/1 target labels in that dataset's layout


@dataclass
class StarGANBatch:
    x_real: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    dataset: int  # index into the label space
    labels_org: torch.Tensor  # (B, A) 0/1 labels of this dataset
    labels_trg: torch.Tensor  # (B, A) target labels of this dataset (rows in `cross` ignore theirs)
    cross: CrossTargets | None = None
    alpha: torch.Tensor | None = None  # (B, 1, 1, 1) U(0, 1): the gradient penalty's interpolation


def draw_cross(
    seed: int,
    step: int,
    dataset: int,
    rank: int,
    batch_size: int,
    fraction: float,
    others: Mapping[int, np.ndarray],
    device: torch.device,
) -> CrossTargets | None:
    """Cross-dataset targets for `round(fraction * batch_size)` random rows of a batch of `dataset` at the
    0-based `step`: one other dataset per batch, its targets real label vectors of that dataset's training
    rows (so exclusive groups and label frequencies are that dataset's own). Seeded like the batch's own
    generator (train/stream.py), on a stream of its own."""
    count = round(fraction * batch_size)
    if count == 0 or not others:
        return None
    rng = np.random.default_rng([seed, step, dataset, rank, 1])
    rows = np.sort(rng.choice(batch_size, count, replace=False))
    other = sorted(others)[int(rng.integers(len(others)))]
    labels = np.asarray(others[other][np.sort(rng.integers(len(others[other]), size=count))])
    return CrossTargets(torch.from_numpy(rows).to(device), other, torch.from_numpy(labels).to(device))


class StarGANObjective(Stateless):
    """`separate_penalty` (default: one process): real and fake go through D in one forward and the
    interpolates in another, so the penalty's double backward covers only its B rows. Under DDP every D
    output must come from one forward, so there all 3B rows go through one."""

    def __init__(
        self, config: StarGANLoss, context: ObjectiveContext, separate_penalty: bool | None = None
    ) -> None:
        self.config, self.context = config, context
        self.label_space: LabelSpace = context.label_space
        if config.cross_targets and len(self.label_space.datasets) < 2:
            raise ConfigError("loss.cross_targets needs two or more datasets in data.datasets; set it to 0")
        self.separate_penalty = context.processes == 1 if separate_penalty is None else separate_penalty

    # ----- the loop's interface (objectives/spec.py) ------------------------------------------------------
    def draw(self, rng: np.random.Generator, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """The target permutation, then the penalty's alphas."""
        return rng.permutation(rows), rng.random((rows, 1, 1, 1), dtype=np.float32)

    def batches(self, draws: list[Draw], step: int) -> list[StarGANBatch]:
        """One batch per dataset."""
        return [self.batch(draw, step) for draw in draws]

    def batch(self, draw: Draw, step: int) -> StarGANBatch:
        permutation, alpha = draw.extra
        device, ctx = draw.x_real.device, self.context
        others = {d: labels for d, labels in ctx.train_labels.items() if d != draw.dataset}
        cross = draw_cross(
            ctx.seed,
            step - 1,
            draw.dataset,
            ctx.rank,
            len(draw.x_real),
            self.config.cross_targets,
            others,
            device,
        )
        labels_trg = draw.labels[torch.from_numpy(permutation).to(device)]
        return StarGANBatch(
            draw.x_real, draw.dataset, draw.labels, labels_trg, cross, torch.from_numpy(alpha).to(device)
        )

    def phases(self, step: int) -> tuple[str, ...]:
        return ("discriminator", "generator") if step % self.config.n_critic == 0 else ("discriminator",)

    def forward(
        self, networks: Mapping[str, nn.Module], batch: StarGANBatch, phases: tuple[str, ...]
    ) -> dict:
        """G(x, c_trg), with its graph when G is updated at this step: the D phase reads it detached and
        the G phase reuses it (G is unchanged in between: the same maths, one generator forward less)."""
        _, c_trg = self.generator_labels(batch)
        with torch.set_grad_enabled("generator" in phases):
            return {"x_fake": networks["generator"](batch.x_real, c_trg)}

    def loss(self, phase: str, networks, batch: StarGANBatch, state: dict, grad_scale=None):
        if phase == "discriminator":
            return self.discriminator_loss(networks["discriminator"], batch, state["x_fake"], grad_scale)
        return self.generator_loss(networks["generator"], networks["discriminator"], batch, state["x_fake"])

    def _noisy(self, x: torch.Tensor) -> torch.Tensor:
        """x plus N(0, cls_noise^2), drawn on the CPU generator (whose state checkpoints save)."""
        return x + (self.config.cls_noise * torch.randn(x.shape)).to(x.device, x.dtype)

    # ----- the paper's terms ------------------------------------------------------------------------------
    def generator_labels(self, batch: StarGANBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """(c_org, c_trg): the batch's source and target labels in the generator's layout (with mask)."""
        ls = self.label_space
        c_trg = ls.generator_label(batch.dataset, batch.labels_trg)
        if batch.cross is not None:
            c_trg[batch.cross.rows] = ls.generator_label(batch.cross.dataset, batch.cross.labels)
        return ls.generator_label(batch.dataset, batch.labels_org), c_trg

    def _classification(self, logits: torch.Tensor, dataset: int, target: torch.Tensor) -> torch.Tensor:
        """Only `dataset`'s slice of the logits, with that dataset's loss kind."""
        kind = self.label_space.datasets[dataset].kind
        return losses.CLASSIFICATION[kind](logits[:, self.label_space.slice(dataset)], target)

    def _target_classification(self, logits: torch.Tensor, batch: StarGANBatch) -> torch.Tensor:
        """G's classification loss, averaged over rows. A row of its own dataset is read on its dataset's
        slice against its target (the paper's loss). A cross row is read twice: on the other dataset's
        slice against its cross target, and on its own dataset's slice against its original labels, which
        that translation must keep (a CelebA face given a RaFD expression keeps its hair, gender and age)."""
        if batch.cross is None:
            return self._classification(logits, batch.dataset, batch.labels_trg)
        rows, b = batch.cross.rows, len(logits)
        own = torch.ones(b, dtype=torch.bool, device=logits.device)
        own[rows] = False
        loss = (
            self._classification(logits[rows], batch.cross.dataset, batch.cross.labels)
            + self._classification(logits[rows], batch.dataset, batch.labels_org[rows])
        ) * (len(rows) / b)
        if own.any():
            mine = self._classification(logits[own], batch.dataset, batch.labels_trg[own])
            loss = loss + mine * (own.sum() / b)
        return loss

    def discriminator_loss(
        self,
        discriminator: nn.Module,
        batch: StarGANBatch,
        x_fake: torch.Tensor,
        grad_scale: float | torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The whole D loss, to be back-propagated once. `x_fake` is detached here. D has no cross-sample
        layers, so any grouping of its forwards gives the same numbers (`separate_penalty`)."""
        x_real, alpha = batch.x_real, batch.alpha
        b = x_real.shape[0]
        x_fake = x_fake.detach()
        x_hat = (alpha * x_real + (1 - alpha) * x_fake).requires_grad_(True)
        if self.separate_penalty:
            src, cls = discriminator(torch.cat([x_real, x_fake]))
            src_real, src_fake = src.split(b)
            src_hat, _ = discriminator(x_hat)
        else:
            src, cls = discriminator(torch.cat([x_real, x_fake, x_hat]))
            src_real, src_fake, src_hat = src.split(b)
        if self.config.cls_noise:
            _, cls = discriminator(self._noisy(x_real))
        logs = {
            "D/real": losses.wgan_real(src_real),
            "D/fake": losses.wgan_fake(src_fake),
            "D/cls": self._classification(cls[:b], batch.dataset, batch.labels_org),
            "D/gp": losses.gradient_penalty(src_hat, x_hat, grad_scale),
        }
        cfg = self.config
        loss = logs["D/real"] + logs["D/fake"] + cfg.lambda_cls * logs["D/cls"] + cfg.lambda_gp * logs["D/gp"]
        return loss, {k: v.detach() for k, v in logs.items()}

    def generator_loss(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        batch: StarGANBatch,
        x_fake: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The G loss; `x_fake` = G(x_real, c_trg) with its graph."""
        c_org, _ = self.generator_labels(batch)
        src_fake, cls_fake = discriminator(x_fake)
        if self.config.cls_noise:
            _, cls_fake = discriminator(self._noisy(x_fake))
        x_rec = generator(x_fake, c_org)
        logs = {
            "G/fake": -losses.wgan_fake(src_fake),
            "G/rec": losses.l1(batch.x_real, x_rec),
            "G/cls": self._target_classification(cls_fake, batch),
        }
        cfg = self.config
        loss = logs["G/fake"] + cfg.lambda_rec * logs["G/rec"] + cfg.lambda_cls * logs["G/cls"]
        return loss, {k: v.detach() for k, v in logs.items()}


TRAINING = TrainingSpec(
    config=StarGANLoss,
    optimizers=adversarial(("generator",), ("discriminator",)),
    averaged=("generator",),
    objective=StarGANObjective,
    min_batch=2,
)
