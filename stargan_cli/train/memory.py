"""How much memory a training run needs, estimated before anything is allocated (on the meta device).

state: every parameter in fp32 with its gradient and Adam's two moments: 16 bytes a parameter, whatever
the precision (mixed precision keeps fp32 weights). activations: the tensors autograd saves for backward
during the heaviest phase of one step (the objective's shared forward and that phase's loss at the
configured batch), counted with a saved-tensors hook while the method's own code runs on shape-only meta
tensors (each tensor once, weights not again), times ACTIVATION_OVERHEAD for the gradients and
temporaries that backward holds beside them; halved under bf16/fp16 autocast, where convolutions and
matmuls save 2-byte tensors. ACTIVATION_OVERHEAD comes from real steps measured on the CPU
(benchmarks/training_memory.py; the figures are in benchmarks/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..objectives.spec import Draw, ObjectiveContext

GIB = 2**30
ACTIVATION_OVERHEAD = 1.35  # (peak - state) / saved activations, as measured (benchmarks/RESULTS.md)


@dataclass(frozen=True)
class Estimate:
    state: int  # bytes: weights, gradients, Adam moments
    activations: int  # bytes saved for backward by the heaviest phase of one step
    phase: str

    @property
    def total(self) -> int:
        return self.state + self.activations

    def describe(self) -> str:
        return (
            f"about {size(self.total)} to train ({size(self.state)} of weights, gradients and Adam's "
            f"moments, {size(self.activations)} of activations in the {self.phase} update)"
        )


def size(count: int) -> str:
    return f"{count / GIB:.1f} GiB" if count >= GIB else f"{count / 2**20:.0f} MiB"


def estimate(method, recipe, label_space, streams: list[int], networks=None) -> Estimate | None:
    """The estimate for one process's batch, or None when the method's step cannot run on meta tensors.
    `streams`: the dataset each data stream draws from, in order; `networks`: the method's networks already
    built on the meta device (built here when not given). Random numbers drawn on the way (a method's own
    draws, its weight init) come from the host generator, whose state is put back, so a run trains exactly
    as it would without the estimate."""
    with torch.random.fork_rng(devices=[]):
        return _estimate(method, recipe, label_space, streams, networks)


def _estimate(method, recipe, label_space, streams: list[int], networks=None) -> Estimate | None:
    model_cfg, batch = recipe.model.params, recipe.data.batch_size
    device = torch.device("meta")
    if networks is None:
        with device:
            networks = method.model.build(model_cfg, label_space)
    unique = {id(p): p for net in networks.values() for p in net.parameters()}  # shared layers once
    state = 16 * sum(p.numel() for p in unique.values())
    context = ObjectiveContext(label_space, {}, 0, 0, 1, device, model_cfg)
    objective = method.training.objective(recipe.loss, context)
    rng = np.random.default_rng(0)
    side = model_cfg.image_size
    draws = []
    for dataset in streams:
        labels = torch.zeros(batch, len(label_space.datasets[dataset].attributes), device=device)
        image = torch.zeros(batch, 3, side, side, device=device)
        draws.append(Draw(image, labels, dataset, objective.draw(rng, batch)))
    saved: dict[int, torch.Tensor] = {}  # by identity: a tensor saved by two ops (a ReLU's output, the next
    # convolution's input) is held once

    weights = {id(p) for net in networks.values() for p in net.parameters()}  # saved, but already counted

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        if id(tensor) not in weights and id(tensor._base) not in weights:
            saved[id(tensor)] = tensor
        return tensor

    heaviest, phase_name = 0, ""
    try:
        batches = objective.batches(draws, 1)
        phases = objective.phases(1)
        for phase in phases:
            saved.clear()
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                state_dict = objective.forward(networks, batches[0], (phase,))
                objective.loss(phase, networks, batches[0], state_dict, None)
            total = sum(t.numel() * t.element_size() for t in saved.values())
            if total > heaviest:
                heaviest, phase_name = total, phase
    except Exception:  # noqa: BLE001 - an op without a meta kernel: no estimate rather than no training
        return None
    if recipe.train.precision in ("bf16", "fp16"):
        heaviest //= 2
    return Estimate(state, int(heaviest * ACTIVATION_OVERHEAD), phase_name)


def check(guess: Estimate, device: torch.device, hint: str) -> str | None:
    """Refuse a run a GPU cannot hold (one line naming `hint`, what to change); on the CPU, return a
    warning when the machine's available memory is smaller (swap may still carry it)."""
    from ..accelerators import free_memory
    from ..errors import ConfigError

    if device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory
        if guess.total > total:
            raise ConfigError(
                f"this run needs {guess.describe()}, and {torch.cuda.get_device_name(device)} has "
                f"{total / GIB:.1f} GiB: {hint}lower data.batch_size or model.image_size, or train in "
                'train.precision = "bf16"'
            )
        return None
    available = free_memory(device)
    if guess.total > available:
        return f"this run needs {guess.describe()}; {available / GIB:.1f} GiB are available: {hint}or expect swapping"
    return None
