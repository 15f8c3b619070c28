"""CUDA graphs of the training step (`train.cuda_graphs`): record a step's kernels once, replay them.

At the paper's 128 px and batch 16 an eager step launches about 1,400 kernels, and on an H100 the host
spends longer launching them than the GPU spends running them (benchmarks/RESULTS.md, issue 7). A graph
replays the whole D update (and, when due, the G update, Adam included) with one launch.

One graph per (dataset, G due or not, batch shape): each is recorded after `warmup` eager steps of its
kind (run on a side stream, as CUDA graph capture asks, which also lets cuDNN's autotuner and Adam's
state settle), and each has its own memory pool, since they are not replayed in the order recorded.
Every step still trains on its own batch: the batch is copied into the graph's input buffers first.

What a graph cannot hold, the loop refuses up front (config.py): loss scaling (fp16: the scaler checks for
overflow on the host), host-drawn randomness inside the step (`augment_shift`), data-dependent shapes
(`cross_targets`), several processes. The learning rates become one-element tensors on the GPU that the
loop updates in place (`set_learning_rate`), and Adam runs in its capturable form.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import torch

from ..objectives import Batch
from .step import StepRunner


@dataclass
class _Recorded:
    graph: torch.cuda.CUDAGraph
    batch: Batch  # the input buffers the graph reads
    alpha: torch.Tensor
    logs: dict[str, torch.Tensor]  # the output buffers it writes

    def replay(self, batch: Batch, alpha: torch.Tensor) -> dict[str, torch.Tensor]:
        self.batch.x_real.copy_(batch.x_real)
        self.batch.labels_org.copy_(batch.labels_org)
        self.batch.labels_trg.copy_(batch.labels_trg)
        self.alpha.copy_(alpha)
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
        device = next(runner.generator.parameters()).device
        for opt in (runner.g_opt, runner.d_opt):
            for group in opt.param_groups:
                group["capturable"] = True
                group["lr"] = torch.tensor(float(group["lr"]), device=device)

    def __call__(self, batch: Batch, alpha: torch.Tensor, g_due: bool) -> dict[str, torch.Tensor]:
        if batch.cross is not None:
            raise ValueError("CUDA graphs take no cross-dataset targets (train.cross_targets must be 0)")
        key = (batch.dataset, g_due, tuple(batch.x_real.shape), tuple(batch.labels_org.shape))
        recorded = self.recorded.get(key)
        if recorded is not None:
            return recorded.replay(batch, alpha)
        if self.eager[key] < self.warmup:
            self.eager[key] += 1
            return self._on_side_stream(lambda: self.runner(batch, alpha, g_due))
        recorded = self.recorded[key] = self._record(batch, alpha, g_due)
        return recorded.replay(batch, alpha)  # recording ran nothing: this step runs now

    def warm_up_classifier(self, batch: Batch) -> dict[str, torch.Tensor]:
        return self.runner.warm_up_classifier(batch)

    def _on_side_stream(self, work):
        self.side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.side):
            out = work()
        torch.cuda.current_stream().wait_stream(self.side)
        return out

    def _record(self, batch: Batch, alpha: torch.Tensor, g_due: bool) -> _Recorded:
        inputs = Batch(
            batch.x_real.clone(), batch.dataset, batch.labels_org.clone(), batch.labels_trg.clone()
        )
        alpha = alpha.clone()
        for opt in (self.runner.g_opt, self.runner.d_opt):  # the graph's backward then writes, not adds,
            opt.zero_grad(set_to_none=True)  # each gradient into buffers of its own pool
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            logs = self.runner(inputs, alpha, g_due)
        return _Recorded(graph, inputs, alpha, logs)


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
