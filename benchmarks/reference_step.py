"""The reference implementation's training iteration, written out plainly: the baseline of the speed benchmark.

It follows the reference solver's order of work: D on the real batch, G(x, c_trg) computed with
autograd tracking and detached, D on the fake, D on the interpolates with the gradient penalty, one
backward and Adam step for D; then every n_critic-th iteration G(x, c_trg) computed again, D on it, the
reconstruction, one backward and Adam step for G. fp32, eager, three separate D forwards. It shares our
loss functions, so on the same inputs its losses equal ours (tests/test_train_step.py); the differences
are only in how much work is done. Used by benchmarks/train_step.py (and the test); training never
calls it.
"""

from __future__ import annotations

import torch
from torch import nn

from stargan_cli import losses
from stargan_cli.objectives.stargan import StarGANBatch, StarGANObjective


def reference_step(
    generator: nn.Module,
    discriminator: nn.Module,
    g_opt: torch.optim.Optimizer,
    d_opt: torch.optim.Optimizer,
    objective: StarGANObjective,
    batch: StarGANBatch,
    g_due: bool,
) -> dict[str, torch.Tensor]:
    c_org, c_trg = objective.generator_labels(batch)
    lambda_cls, lambda_rec, lambda_gp = (
        getattr(objective.config, k) for k in ("lambda_cls", "lambda_rec", "lambda_gp")
    )
    alpha = batch.alpha
    sl = objective.label_space.slice(batch.dataset)
    cls_loss = losses.CLASSIFICATION[objective.label_space.datasets[batch.dataset].kind]
    x_real = batch.x_real

    def reset_grad() -> None:
        g_opt.zero_grad()
        d_opt.zero_grad()

    out_src, out_cls = discriminator(x_real)
    d_loss_real = -torch.mean(out_src)
    d_loss_cls = cls_loss(out_cls[:, sl], batch.labels_org)
    x_fake = generator(x_real, c_trg)  # with a graph, as the reference does, then detached
    out_src, _ = discriminator(x_fake.detach())
    d_loss_fake = torch.mean(out_src)
    x_hat = (alpha * x_real.data + (1 - alpha) * x_fake.data).requires_grad_(True)
    out_src, _ = discriminator(x_hat)
    d_loss_gp = losses.gradient_penalty(out_src, x_hat)
    d_loss = d_loss_real + d_loss_fake + lambda_cls * d_loss_cls + lambda_gp * d_loss_gp
    reset_grad()
    d_loss.backward()
    d_opt.step()
    logs = {"D/real": d_loss_real, "D/fake": d_loss_fake, "D/cls": d_loss_cls, "D/gp": d_loss_gp}
    if g_due:
        x_fake = generator(x_real, c_trg)
        out_src, out_cls = discriminator(x_fake)
        g_loss_fake = -torch.mean(out_src)
        g_loss_cls = cls_loss(out_cls[:, sl], batch.labels_trg)
        x_rec = generator(x_fake, c_org)
        g_loss_rec = torch.mean(torch.abs(x_real - x_rec))
        g_loss = g_loss_fake + lambda_rec * g_loss_rec + lambda_cls * g_loss_cls
        reset_grad()
        g_loss.backward()
        g_opt.step()
        logs.update({"G/fake": g_loss_fake, "G/rec": g_loss_rec, "G/cls": g_loss_cls})
    return {k: v.detach() for k, v in logs.items()}
