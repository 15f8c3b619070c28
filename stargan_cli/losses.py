"""Loss primitives: small pure functions on tensors, shared by every objective.

Notation (paper): D_src is the discriminator's patch output, D_cls its class logits.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def wgan_real(d_src_real: torch.Tensor) -> torch.Tensor:
    """Critic term on real images: -E[D_src(x)]."""
    return -d_src_real.mean()


def wgan_fake(d_src_fake: torch.Tensor) -> torch.Tensor:
    """Critic term on generated images: E[D_src(G(x, c))] (D minimises it, G minimises its negative)."""
    return d_src_fake.mean()


def gradient_penalty(
    outputs: torch.Tensor,
    inputs: torch.Tensor,
    grad_scale: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """WGAN-GP: mean over the batch of (||d sum(outputs) / d inputs||_2 - 1)^2, per sample.

    `outputs` must have been computed from `inputs` (requires_grad) and the graph is kept (create_graph)
    so the penalty can be part of the discriminator's single backward. Under fp16 loss scaling, pass the
    scaled sum's scale in `grad_scale`: the gradient is taken of the scaled sum and unscaled before the norm.
    """
    total = outputs.float().sum()
    if grad_scale is not None:
        total = total * grad_scale
    (grad,) = torch.autograd.grad(total, inputs, create_graph=True)
    if grad_scale is not None:
        grad = grad / grad_scale
    norm = grad.float().flatten(1).norm(2, dim=1)
    return ((norm - 1) ** 2).mean()


def multi_label_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE with logits, summed over attributes and averaged over the batch (the reference's CelebA loss)."""
    return (
        F.binary_cross_entropy_with_logits(logits.float(), target.float(), reduction="sum") / logits.shape[0]
    )


def single_label_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over classes; target is one-hot (B, K) or indices (B,)."""
    if target.dim() == 2:
        target = target.argmax(dim=1)
    return F.cross_entropy(logits.float(), target.long())


CLASSIFICATION: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "multi": multi_label_loss,
    "single": single_label_loss,
}


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.float() - b.float()).abs().mean()


def random_shift(x: torch.Tensor, fraction: float, edges: bool = False) -> torch.Tensor:
    """Differentiable random translation (DiffAugment's, Zhao et al. 2020): each image moves by whole
    pixels, up to `fraction` of its side in x and y independently; uncovered pixels are 0 (mid-grey), or
    with `edges` repeat the image's border (as data.shift reframes real images).
    Attributes do not change under a shift, so D's classifier keeps its labels. The offsets come from
    the CPU generator, whose state the training checkpoints save, so a resumed run draws the same shifts
    on a GPU as well."""
    if fraction <= 0:
        return x
    b, _, h, w = x.shape
    ry, rx = int(h * fraction + 0.5), int(w * fraction + 0.5)
    dy = torch.randint(-ry, ry + 1, (b, 1, 1)).to(x.device, non_blocking=True)
    dx = torch.randint(-rx, rx + 1, (b, 1, 1)).to(x.device, non_blocking=True)
    padded = torch.nn.functional.pad(x, (rx, rx, ry, ry), mode="replicate" if edges else "constant")
    rows = torch.arange(h, device=x.device)[None, :, None] + ry - dy  # (B, H, 1)
    cols = torch.arange(w, device=x.device)[None, None, :] + rx - dx  # (B, 1, W)
    batch = torch.arange(b, device=x.device)[:, None, None]
    return padded[batch, :, rows, cols].permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)
