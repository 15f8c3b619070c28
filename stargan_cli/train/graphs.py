"""CUDA graphs of the training step (`train.cuda_graphs`): record a step's kernels once, replay them.

At the paper's 128 px and batch 16 an eager step launches about 1,400 kernels, and on an H100 the host
spends longer launching them than the GPU spends running them (benchmarks/RESULTS.md, issue 7). A graph
replays the whole D update (and, when due, the G update, Adam included) with one launch.

One graph per (phases, batch shape and its non-tensor fields, e.g. StarGAN's dataset): each is recorded after `warmup` eager steps of its
kind (run on a side stream, as CUDA graph capture asks, which also lets cuDNN's autotuner and Adam's
state settle), and each has its own memory pool, since they are not replayed in the order recorded.
Every step still trains on its own batch: the batch is copied into the graph's input buffers first.

What a graph cannot hold, the recipe refuses up front (config.py and the method's loss config): loss
scaling (fp16: the scaler checks for overflow on the host), data-dependent shapes (StarGAN's
`cross_targets`), several processes. The learning rates become one-element tensors on the GPU that the
loop updates in place (`set_learning_rate`), and Adam runs in its capturable form.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any

import torch

from ..console import warn
from ..errors import ConfigError
from .step import StepRunner


def _tensor_fields(batch: Any) -> dict[str, torch.Tensor]:
    return {f.name: v for f in dataclasses.fields(batch) if torch.is_tensor(v := getattr(batch, f.name))}


def _graph_key(batch: Any, phases: tuple[str, ...]) -> tuple:
    """What must be equal for a recorded graph to replay a batch: the phases, every tensor's shape and
    every other field's value (which must then be hashable: a graph cannot hold per-step structure)."""
    parts = []
    for f in dataclasses.fields(batch):
        value = getattr(batch, f.name)
        if torch.is_tensor(value):
            parts.append((f.name, tuple(value.shape)))
        elif value is None or isinstance(value, int | float | str | bool):
            parts.append((f.name, value))
        else:
            raise ValueError(f"CUDA graphs cannot hold a batch's {f.name} (it changes from step to step)")
    return (phases, *parts)


@dataclass
class _Recorded:
    graph: torch.cuda.CUDAGraph
    batch: Any  # the input buffers the graph reads
    logs: dict[str, torch.Tensor]  # the output buffers it writes

    def replay(self, batch: Any) -> dict[str, torch.Tensor]:
        for name, buffer in _tensor_fields(self.batch).items():
            buffer.copy_(getattr(batch, name))
        self.graph.replay()
        return self.logs


class GraphedStep:
    """A StepRunner whose steps, after a few eager ones, replay CUDA graphs. Called like the runner; the
    logs it returns are the graph's output buffers, valid until that graph's next replay."""

    def __init__(self, runner: StepRunner, warmup: int = 2) -> None:
        self.runner, self.warmup = runner, warmup
        self.recorded: dict[tuple, _Recorded] = {}
        self.eager: Counter = Counter()
        self.side = torch.cuda.Stream()
        device = next(next(iter(runner.networks.values())).parameters()).device
        for opt in runner.optimizers.values():
            for group in opt.param_groups:
                group["capturable"] = True
                group["lr"] = torch.tensor(float(group["lr"]), device=device)

    def __call__(self, batch: Any, phases: tuple[str, ...]) -> dict[str, torch.Tensor]:
        key = _graph_key(batch, phases)
        recorded = self.recorded.get(key)
        if recorded is not None:
            return recorded.replay(batch)
        if self.eager[key] < self.warmup:
            self.eager[key] += 1
            return self._on_side_stream(lambda: self.runner(batch, phases))
        recorded = self.recorded[key] = self._record(batch, phases)
        return recorded.replay(batch)  # recording ran nothing: this step runs now

    def _on_side_stream(self, work):
        self.side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.side):
            out = work()
        torch.cuda.current_stream().wait_stream(self.side)
        return out

    def _record(self, batch: Any, phases: tuple[str, ...]) -> _Recorded:
        inputs = dataclasses.replace(batch, **{k: v.clone() for k, v in _tensor_fields(batch).items()})
        for opt in self.runner.optimizers.values():  # the graph's backward then writes, not adds,
            opt.zero_grad(set_to_none=True)  # each gradient into buffers of its own pool
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            logs = self.runner(inputs, phases)
        return _Recorded(graph, inputs, logs)


def set_learning_rate(optimizer: torch.optim.Optimizer, value: float) -> None:
    """Set every group's learning rate; a tensor one (CUDA graphs) is written in place, so that the
    recorded Adam kernels read the new value."""
    for group in optimizer.param_groups:
        if torch.is_tensor(group["lr"]):
            group["lr"].fill_(value)
        else:
            group["lr"] = value


def portable_state(optimizer: torch.optim.Optimizer) -> dict:
    """The optimizer's state_dict as an eager run on any device can load it: plain float learning rates
    and capturable off (a graphed run sets both again when it resumes)."""
    state = optimizer.state_dict()
    for group in state["param_groups"]:
        if torch.is_tensor(group["lr"]):
            group["lr"] = float(group["lr"])
        if "capturable" in group:
            group["capturable"] = False
    return state


def compiled(networks: dict, translating: tuple[str, ...], cfg) -> dict:
    """The networks a step runs: with `train.compile_generator`, those that translate (TrainingSpec.averaged)
    through torch.compile (never a discriminator: torch.compile cannot double-backward)."""
    forward = dict(networks)
    if cfg.compile_generator:
        forward.update({n: torch.compile(networks[n]) for n in translating})
    return forward


def graphed(runner, cfg, accelerator, main: bool):
    """With `train.cuda_graphs` on a CUDA GPU, the step replayed as CUDA graphs (one process only);
    elsewhere the step as it is, with a note."""
    if not cfg.cuda_graphs:
        return runner
    if accelerator.num_processes > 1:
        raise ConfigError("train.cuda_graphs runs in one process; set it to false for several")
    if accelerator.device.type == "cuda":
        return GraphedStep(runner)
    if main:
        warn("train.cuda_graphs is ignored: not training on a CUDA GPU")
    return runner
