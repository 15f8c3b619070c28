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
    norm = _input_gradient(outputs, inputs, grad_scale).flatten(1).norm(2, dim=1)
    return ((norm - 1) ** 2).mean()


def _input_gradient(
    outputs: torch.Tensor, inputs: torch.Tensor, grad_scale: float | torch.Tensor | None
) -> torch.Tensor:
    """d sum(outputs) / d inputs with its graph kept, in float32; under fp16 loss scaling taken of the
    scaled sum and unscaled."""
    total = outputs.float().sum()
    if grad_scale is not None:
        total = total * grad_scale
    (grad,) = torch.autograd.grad(total, inputs, create_graph=True)
    if grad_scale is not None:
        grad = grad / grad_scale
    return grad.float()


def r1_penalty(
    outputs: torch.Tensor, inputs: torch.Tensor, grad_scale: float | torch.Tensor | None = None
) -> torch.Tensor:
    """R1 (Mescheder et al.), as StarGAN v2 computes it on real images: 0.5 * the batch mean of the squared
    gradient of sum(outputs) with respect to `inputs`, summed over each image; the graph is kept (as in
    gradient_penalty, whose note on `grad_scale` holds here too)."""
    return 0.5 * _input_gradient(outputs, inputs, grad_scale).pow(2).flatten(1).sum(1).mean()


def nonsaturating(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """The non-saturating GAN term: BCE with logits against 1 (real) or 0 (fake), mean over the batch."""
    target = torch.full_like(logits, float(real), dtype=torch.float32)
    return F.binary_cross_entropy_with_logits(logits.float(), target)


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


def lsgan(prediction: torch.Tensor, real: bool | float) -> torch.Tensor:
    """Least-squares GAN term (Mao et al.): mean squared distance of the logits to 1 (real) or 0 (fake),
    the reference CycleGAN's `GANLoss('lsgan')`; or to a given number (UNIT's latent "cannot tell", 0.5)."""
    target = float(real) if isinstance(real, bool) else real
    return ((prediction.float() - target) ** 2).mean()
