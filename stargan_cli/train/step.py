"""One training step on one batch: each phase the objective runs at this step, in its order.

The loop calls this for every dataset of every step; benchmarks/train_step.py times it against the
reference's step (benchmarks/reference_step.py). The objective's `forward` runs first (work its phases
share, e.g. StarGAN's translation G(x, c_trg), kept with its graph only when G is updated); then each
phase's whole loss goes through one backward and a step of each optimiser the phase names, with the
networks the phase does not step frozen (no weight gradients for the discriminator during the generator's update: the same numbers,
less work).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from accelerate import Accelerator
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..objectives.spec import Objective


def adam(params, lr: float, betas: tuple[float, float], weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam with the fused kernel (CPU and CUDA): one pass over each parameter instead of a chain of
    foreach ops; the same update rule, several times faster on the paper's discriminator (measured in
    benchmarks/RESULTS.md). `weight_decay` is Adam's own (L2 added to
    the gradient), as U-GAT-IT's PyTorch code uses it."""
    return torch.optim.Adam(params, lr, betas, weight_decay=weight_decay, fused=True)


def match_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give every per-parameter state tensor (Adam's moments) its parameter's strides. The fused kernel
    walks a parameter, its gradient and its moments as flat memory, so after loading moments saved in
    another memory format (contiguous vs channels_last) they must be re-laid out, values unchanged."""
    for group in optimizer.param_groups:
        for param in group["params"]:
            for key, value in optimizer.state.get(param, {}).items():
                if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                    optimizer.state[param][key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


@dataclass(frozen=True)
class PhaseView:
    """What one phase sees: the parameters it does not step (frozen while its loss and backward run, so
    that no weight gradient is computed for them: the references freeze them too) and the networks, those
    it does not step without DDP's wrapper (which would wait for their gradients)."""

    frozen: tuple[nn.Parameter, ...]
    networks: Mapping[str, nn.Module]


@dataclass
class StepRunner:
    networks: Mapping[str, nn.Module]  # as prepared by Accelerate (a generator may be torch.compile'd)
    optimizers: Mapping[str, torch.optim.Optimizer]  # by name (TrainingSpec.optimizers)
    objective: Objective
    accelerator: Accelerator
    # phase -> the optimisers it steps (TrainingSpec.stepped; by default the optimiser of the phase's name)
    stepped: Callable[[str], tuple[str, ...]] = lambda phase: (phase,)

    def __post_init__(self) -> None:
        self._views: dict[str, PhaseView] = {}

    def view(self, phase: str) -> PhaseView:
        if phase not in self._views:
            mine = self.stepped(phase)
            stepped = {
                id(p)
                for name in mine
                for group in self.optimizers[name].param_groups
                for p in group["params"]
            }
            others = [
                p
                for name, optimizer in self.optimizers.items()
                if name not in mine
                for group in optimizer.param_groups
                for p in group["params"]
            ]
            frozen = tuple({id(p): p for p in others if id(p) not in stepped and p.requires_grad}.values())
            networks = {
                name: net.module
                if isinstance(net, DistributedDataParallel)
                and not any(id(p) in stepped for p in net.parameters())
                else net
                for name, net in self.networks.items()
            }
            self._views[phase] = PhaseView(frozen, networks)
        return self._views[phase]

    def __call__(self, batch: Any, phases: tuple[str, ...]) -> dict[str, torch.Tensor]:
        acc, objective = self.accelerator, self.objective
        with acc.autocast():
            state = objective.forward(self.networks, batch, phases)
        logs: dict[str, torch.Tensor] = {}
        for phase in phases:
            view = self.view(phase)
            optimizers = [self.optimizers[name] for name in self.stepped(phase)]
            for param in view.frozen:
                param.requires_grad_(False)
            try:
                with acc.autocast():
                    scale = acc.scaler.get_scale() if acc.scaler is not None else None
                    loss, phase_logs = objective.loss(phase, view.networks, batch, state, scale)
                for optimizer in optimizers:
                    optimizer.zero_grad(set_to_none=True)
                acc.backward(loss)
            finally:
                for param in view.frozen:
                    param.requires_grad_(True)
            for optimizer in optimizers:
                optimizer.step()
            objective.after_update(phase, self.networks)
            logs.update(phase_logs)
        return logs
