"""The StarGAN objective (paper eq. 1-7): adversarial WGAN-GP, domain classification, reconstruction.

Symbols: x_real (B,3,H,W) real images in [-1,1]; c_org / c_trg the generator labels (B, generator_dim)
of the source and target domains; labels_org / labels_trg the same restricted to the batch's dataset
(B, A), which is what the classifier is trained against. lambda_cls, lambda_rec, lambda_gp weight the
terms as in the paper (1, 10, 10).

D loss = -mean D_src(x) + mean D_src(G(x,c_trg)) + lambda_cls * cls(D_cls(x), c_org) + lambda_gp * GP
G loss = -mean D_src(G(x,c_trg)) + lambda_rec * |x - G(G(x,c_trg), c_org)| + lambda_cls * cls(D_cls(fake), c_trg)

With cross-dataset targets (`Batch.cross`, not in the paper), some rows of a batch are translated to a
target of another dataset under that dataset's mask: G's classification loss reads those rows with the
other dataset's slice and loss kind and, on its own dataset's slice, against its original labels (the
attributes it must keep); reconstruction takes every row back to its own labels and mask.
The reference only ever trains G within a dataset, so "a CelebA face with a RaFD expression" is a zero-shot
guess there; here it is trained.

With `augment_shift` > 0 (not in the paper; DiffAugment's translation), every image D sees, real or fake,
in either loss, is first shifted at random: D's classifier then has to read attributes where they are,
which makes it harder for G to satisfy it with small, unshifted perturbations.

With `lambda_id` > 0 (not in the paper; CycleGAN's identity loss), G also maps each real image to its own
labels and is penalised by lambda_id * |x - G(x, c_org)| ("G/id"): a direct signal to render the input
as it is, where the paper's only one runs through a translation and back.

With `fake_shift` > 0 (not in the paper), G's classification loss reads its outputs shifted at random by
whole pixels, up to that fraction of the side, edges repeated as `data.shift` reframes real images: D's
classifier then accepts a translation only for attributes drawn where its training images show them,
not for pixel-exact patterns that it happens to read as the target. The adversarial term still judges
the unshifted output (D never sees shifted fakes: judged shifted, G learned grid artefacts that D had
no chance to reject), and D's own loss is unchanged.

With `fake_zoom` > 0 as well (not in the paper), that copy is also zoomed out about its centre by up to
this fraction and moved by a continuous offset (bilinear, border repeated: `images.reframe`, the same
resampling `data.zoom_out` applies to real images), so that a pattern that works at one scale and one
pixel grid only does not satisfy the classifier.

With `d_warmup` steps (not in the paper), D's classifier first learns on real images alone
(`classifier_loss`), so that from G's first update its classification loss reads the attributes.

Both are returned as (loss, logs): logs hold detached tensors named `D/real`, `D/fake`, `D/cls`, `D/gp`,
`G/fake`, `G/rec`, `G/cls`, the names used in the console, metrics.jsonl and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .. import losses
from ..images import reframe
from ..labels import LabelSpace


@dataclass
class CrossTargets:
    """Rows of a batch whose target belongs to another dataset of the label space."""

    rows: torch.Tensor  # (n,) long, sorted
    dataset: int  # the other dataset
    labels: torch.Tensor  # (n, A_dataset) 0/1 target labels in that dataset's layout


@dataclass
class Batch:
    x_real: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    dataset: int  # index into the label space
    labels_org: torch.Tensor  # (B, A) 0/1 labels of this dataset
    labels_trg: torch.Tensor  # (B, A) target labels of this dataset (rows in `cross` ignore theirs)
    cross: CrossTargets | None = None


@dataclass
class StarGANObjective:
    label_space: LabelSpace
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_gp: float = 10.0
    augment_shift: float = 0.0  # not in the paper: D sees randomly shifted real and fake images
    lambda_id: float = 0.0  # not in the paper: weight of |x - G(x, c_org)| (CycleGAN's identity loss)
    fake_shift: float = 0.0  # not in the paper: G's classification loss reads its outputs shifted at random
    fake_zoom: float = 0.0  # not in the paper: ... and zoomed out at random by up to this fraction

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        return losses.random_shift(x, self.augment_shift)

    def _classifier_view(self, x_fake: torch.Tensor) -> torch.Tensor:
        """The copy of G's outputs that G's classification loss reads (fake_shift, fake_zoom)."""
        if not self.fake_zoom:
            return losses.random_shift(x_fake, self.fake_shift, edges=True)
        b = len(x_fake)  # drawn on the CPU generator, whose state checkpoints save
        scale = 1 - self.fake_zoom * torch.rand(b)
        offset = self.fake_shift * (2 * torch.rand(b, 2) - 1)
        return reframe(x_fake, scale.to(x_fake.device), offset.to(x_fake.device))

    def generator_labels(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
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

    def _target_classification(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
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

    def classifier_loss(self, discriminator: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        """D's classification of real images alone, weighted as in the D loss (the warm-up's loss)."""
        src, cls = discriminator(self._augment(batch.x_real))
        cls_loss = self._classification(cls, batch.dataset, batch.labels_org)
        # the source head joins with weight 0: every parameter gets a gradient, as DDP requires
        return self.lambda_cls * cls_loss + 0 * src.mean(), {"D/cls": cls_loss.detach()}

    def discriminator_loss(
        self,
        discriminator: nn.Module,
        batch: Batch,
        x_fake: torch.Tensor,
        alpha: torch.Tensor,
        grad_scale: float | torch.Tensor | None = None,
        separate_penalty: bool = False,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The whole D loss, to be back-propagated once. `x_fake` is detached; alpha is (B,1,1,1) U(0,1).

        D has no cross-sample layers, so any grouping of its forwards gives the same numbers. By default
        real, fake and interpolated images go through D in one forward: one graph, as DDP requires, but
        the penalty's gradient and its double backward then run over all 3B rows. With
        `separate_penalty` (one process, no DDP) real and fake go through one forward and the
        interpolates through another, so the penalty's extra work covers only its B rows.
        """
        x_real = self._augment(batch.x_real)
        b = x_real.shape[0]
        x_fake = self._augment(x_fake.detach())
        x_hat = (alpha * x_real + (1 - alpha) * x_fake).requires_grad_(True)
        if separate_penalty:
            src, cls = discriminator(torch.cat([x_real, x_fake]))
            src_real, src_fake = src.split(b)
            src_hat, _ = discriminator(x_hat)
        else:
            src, cls = discriminator(torch.cat([x_real, x_fake, x_hat]))
            src_real, src_fake, src_hat = src.split(b)
        logs = {
            "D/real": losses.wgan_real(src_real),
            "D/fake": losses.wgan_fake(src_fake),
            "D/cls": self._classification(cls[:b], batch.dataset, batch.labels_org),
            "D/gp": losses.gradient_penalty(src_hat, x_hat, grad_scale),
        }
        loss = (
            logs["D/real"] + logs["D/fake"] + self.lambda_cls * logs["D/cls"] + self.lambda_gp * logs["D/gp"]
        )
        return loss, {k: v.detach() for k, v in logs.items()}

    def generator_loss(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        batch: Batch,
        x_fake: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The G loss; `x_fake` = G(x_real, c_trg) with its graph (the loop may reuse the D step's)."""
        c_org, _ = self.generator_labels(batch)
        src_fake, cls_fake = discriminator(self._augment(x_fake))
        if self.fake_shift or self.fake_zoom:  # the classifier reads a reframed copy; the source head
            # judges the fake as D saw it
            _, cls_fake = discriminator(self._augment(self._classifier_view(x_fake)))
        x_rec = generator(x_fake, c_org)
        logs = {
            "G/fake": -losses.wgan_fake(src_fake),
            "G/rec": losses.l1(batch.x_real, x_rec),
            "G/cls": self._target_classification(cls_fake, batch),
        }
        loss = logs["G/fake"] + self.lambda_rec * logs["G/rec"] + self.lambda_cls * logs["G/cls"]
        if self.lambda_id:
            logs["G/id"] = losses.l1(batch.x_real, generator(batch.x_real, c_org))
            loss = loss + self.lambda_id * logs["G/id"]
        return loss, {k: v.detach() for k, v in logs.items()}
