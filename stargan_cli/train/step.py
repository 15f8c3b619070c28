"""One training step on one batch: the discriminator update and, when due, the generator update.

The loop calls this for every dataset of every step; benchmarks/train_step.py times exactly this against
the reference's step (reference_step.py). When G is due, its forward pass of the D stage is kept with its
graph and reused by the G stage: G is unchanged in between, so this is the same maths as recomputing it,
one generator forward cheaper. When G is not due, that forward runs without a graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from accelerate import Accelerator
from torch import nn

from ..objectives import Batch


def adam(params, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam with the fused kernel (CPU and CUDA): one pass over each parameter instead of a chain of
    foreach ops; the same update rule. Measured on the paper's 44M-parameter discriminator on the 2-core
    CPU: 29 ms per step against 192 ms (benchmarks/RESULTS.md)."""
    return torch.optim.Adam(params, lr, betas, fused=True)


def match_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give every per-parameter state tensor (Adam's moments) its parameter's strides. The fused kernel
    walks a parameter, its gradient and its moments as flat memory, so after loading moments saved in
    another memory format (contiguous vs channels_last) they must be re-laid out, values unchanged."""
    for group in optimizer.param_groups:
        for param in group["params"]:
            for key, value in optimizer.state.get(param, {}).items():
                if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                    optimizer.state[param][key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


@dataclass
class StepRunner:
    generator: nn.Module  # as prepared by Accelerate
    discriminator: nn.Module
    g_opt: torch.optim.Optimizer
    d_opt: torch.optim.Optimizer
    objective: object  # an OBJECTIVES entry: discriminator_loss, generator_loss, generator_labels
    accelerator: Accelerator
    g_forward: nn.Module | None = None  # the generator, or its torch.compile'd version
    separate_penalty: bool | None = None  # default: when there is one process (DDP needs one D forward)

    def __post_init__(self) -> None:
        if self.g_forward is None:
            self.g_forward = self.generator
        if self.separate_penalty is None:
            self.separate_penalty = self.accelerator.num_processes == 1

    def __call__(self, batch: Batch, alpha: torch.Tensor, g_due: bool) -> dict[str, torch.Tensor]:
        acc, objective = self.accelerator, self.objective
        _, c_trg = objective.generator_labels(batch)
        # discriminator: real, fake (G's graph kept when G is due), gradient penalty; one backward
        with acc.autocast(), torch.set_grad_enabled(g_due):
            x_fake = self.g_forward(batch.x_real, c_trg)
        with acc.autocast():
            scale = acc.scaler.get_scale() if acc.scaler is not None else None
            d_loss, logs = objective.discriminator_loss(
                self.discriminator, batch, x_fake, alpha, scale, self.separate_penalty
            )
        self.d_opt.zero_grad(set_to_none=True)
        acc.backward(d_loss)
        self.d_opt.step()
        # generator, every n_critic steps
        if g_due:
            with acc.autocast():
                g_loss, g_logs = objective.generator_loss(self.g_forward, self.discriminator, batch, x_fake)
            self.g_opt.zero_grad(set_to_none=True)
            acc.backward(g_loss)
            self.g_opt.step()
            logs.update(g_logs)
        return logs

    def warm_up_classifier(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One update of D on its classification of real images alone (`train.d_warmup`)."""
        acc = self.accelerator
        with acc.autocast():
            loss, logs = self.objective.classifier_loss(self.discriminator, batch)
        self.d_opt.zero_grad(set_to_none=True)
        acc.backward(loss)
        self.d_opt.step()
        return logs
