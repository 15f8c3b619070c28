"""Training speed: our step (stargan_cli/train/step.py) against the reference's (benchmarks/reference_step.py).

Both start from the same weights and see the same batches and gradient-penalty draws. One "iteration" is
one D update plus, every n_critic-th, one G update; a cycle is n_critic iterations. Printed:
- the losses of the first cycle of both (they must agree: same maths);
- images/s of each over interleaved repeats (medians) and the ratio;
- FLOPs per image per iteration (torch's FLOP formulas for every matmul and convolution, forward and
  backward, averaged over a cycle) and the
  fraction of the machine's measured fp32 (or bf16) matmul peak each reaches;
- peak memory of one cycle of each, each variant in its own subprocess (CUDA: max allocated above what
  was allocated before, and in all; CPU: the resident set's peak above its level before the cycle, and in
  all). With CUDA graphs the recorded steps' memory pools already exist before the cycle, so only the
  figure "in all" says what the step needs.

    python benchmarks/train_step.py                          # the paper's 128 px model, batch 16, n_critic 5
    python benchmarks/train_step.py --image-size 64 --repeats 3
    python benchmarks/train_step.py --device cuda --precision bf16
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import types

import torch
import torch.nn.functional as F
from reference_step import reference_step  # beside this script
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from stargan_cli.accelerators import fresh_accelerator
from stargan_cli.imports.stargan import CELEBA_RELEASED, _label_space
from stargan_cli.models.stargan import FirstConv, InstanceNorm, StarGANConfig, build
from stargan_cli.objectives.spec import ObjectiveContext
from stargan_cli.objectives.stargan import StarGANBatch, StarGANLoss, StarGANObjective
from stargan_cli.train.graphs import GraphedStep
from stargan_cli.train.step import StepRunner, adam

LABELS = _label_space(CELEBA_RELEASED, "celeba")


def networks(image_size: int) -> tuple[torch.nn.Module, torch.nn.Module]:
    built = build(StarGANConfig(image_size=image_size), LABELS)
    return built["generator"], built["discriminator"]


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--n-critic", type=int, default=5)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--compile", action="store_true", help="torch.compile our generator")
    p.add_argument("--channels-last", action="store_true", help="our networks in channels_last memory format")
    p.add_argument("--cuda-graphs", action="store_true", help="our step replayed as CUDA graphs")
    p.add_argument(
        "--unfused-nhwc",
        action="store_true",
        help="our channels_last networks as before issue 28: instance norm through batch_norm on an "
        "(1, N*C, H, W) copy, the first convolution on 3 + labels channels unpadded (for a before/after)",
    )
    p.add_argument("--check-cycles", type=int, default=1, help="cycles over which the losses are compared")
    p.add_argument(
        "--profile", type=int, default=0, metavar="N", help="then profile a cycle: top N device ops"
    )
    p.add_argument("--memory-of", choices=["ours", "reference"], help=argparse.SUPPRESS)
    return p.parse_args()


def unfused_instance_norm(self: InstanceNorm, x: torch.Tensor) -> torch.Tensor:
    """InstanceNorm.forward before issue 28, for every layout."""
    return F.instance_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


def batches(args, count: int, seed: int = 0) -> list[StarGANBatch]:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        x = torch.rand(args.batch, 3, args.image_size, args.image_size, generator=gen) * 2 - 1
        org = (torch.rand(args.batch, 5, generator=gen) > 0.5).float()
        trg = org[torch.randperm(args.batch, generator=gen)]
        alpha = torch.rand(args.batch, 1, 1, 1, generator=gen)
        to = lambda t: t.to(args.device)  # noqa: E731
        out.append(StarGANBatch(to(x), 0, to(org), to(trg), alpha=to(alpha)))
    return out


class Variant:
    """One way of training (ours or the reference's) with its own copy of the networks and optimisers."""

    def __init__(self, name: str, g, d, args) -> None:
        self.name = name
        self.g, self.d = copy.deepcopy(g).to(args.device), copy.deepcopy(d).to(args.device)
        if name == "ours" and args.channels_last:
            self.g, self.d = (m.to(memory_format=torch.channels_last) for m in (self.g, self.d))
        if name == "ours" and args.unfused_nhwc:
            for m in self.g.modules():
                if isinstance(m, InstanceNorm):
                    m.forward = types.MethodType(unfused_instance_norm, m)
                if isinstance(m, FirstConv):
                    m.PAD_TO = 1
        make = (
            adam if name == "ours" else lambda p, lr, betas: torch.optim.Adam(p, lr, betas)
        )  # torch's default
        self.g_opt = make(self.g.parameters(), 1e-4, (0.5, 0.999))
        self.d_opt = make(self.d.parameters(), 1e-4, (0.5, 0.999))
        context = ObjectiveContext(LABELS, {}, 0, 0, 1, torch.device(args.device))
        self.objective = StarGANObjective(StarGANLoss(n_critic=args.n_critic), context)
        if name == "ours":
            precision = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}[args.precision]
            acc = fresh_accelerator(cpu=args.device == "cpu", mixed_precision=precision)
            nets = {"generator": torch.compile(self.g) if args.compile else self.g, "discriminator": self.d}
            optimizers = {"discriminator": self.d_opt, "generator": self.g_opt}
            self.run = StepRunner(nets, optimizers, self.objective, acc)
            if args.cuda_graphs:
                self.run = GraphedStep(self.run)
        else:
            self.run = lambda batch, phases: reference_step(  # noqa: E731
                self.g, self.d, self.g_opt, self.d_opt, self.objective, batch, "generator" in phases
            )

    def cycle(self, data, n_critic: int) -> list[dict[str, float]]:
        logs = []
        for i, batch in enumerate(data):
            out = self.run(batch, self.objective.phases(i + 1))
            logs.append({k: v.item() for k, v in out.items()})
        return logs


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_peak(device: str, precision: str) -> float:
    dtype = torch.bfloat16 if precision == "bf16" and device != "cpu" else torch.float32
    n = 4096 if device != "cpu" else 2048
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    sync(device)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


class CountFlops(TorchDispatchMode):
    """FLOPs of matmuls and convolutions (forward and backward) by torch's own formulas. Unlike
    FlopCounterMode it tracks no modules, whose hooks break autograd.grad (the gradient penalty)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def flops_per_image(variant: Variant, args) -> float:
    small = argparse.Namespace(**{**vars(args), "batch": 2})
    data = batches(small, 2, seed=99)
    counts = []
    for phases, batch in zip((("discriminator",), ("discriminator", "generator")), data, strict=True):
        with CountFlops() as counter:
            variant.run(batch, phases)
        counts.append(counter.total)
    d_only, d_and_g = counts
    return ((args.n_critic - 1) * d_only + d_and_g) / args.n_critic / small.batch


def profile(variant: Variant, data, args) -> None:
    """One cycle under torch.profiler: wall time, time the device was busy, and the ops that took it."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if args.device.startswith("cuda") else [])
    with torch_profile(activities=activities) as prof:
        sync(args.device)
        start = time.perf_counter()
        variant.cycle(data, args.n_critic)
        sync(args.device)
        wall = time.perf_counter() - start
    events = [e for e in prof.key_averages() if e.self_device_time_total > 0]
    busy = sum(e.self_device_time_total for e in events) / 1e6
    print(f"profile {variant.name}: cycle {wall * 1e3:.1f} ms wall, device busy {busy * 1e3:.1f} ms "
          f"({busy / wall:.0%}); {sum(e.count for e in events)} device ops")  # fmt: skip
    for e in sorted(events, key=lambda e: -e.self_device_time_total)[: args.profile]:
        print(f"  {e.self_device_time_total / 1e3:8.2f} ms {e.count:5d}x  {e.key[:110]}")


def memory_child(args) -> None:
    g, d = networks(args.image_size)
    torch.backends.cudnn.benchmark = args.device.startswith("cuda")
    variant = Variant(args.memory_of, g, d, args)
    data = batches(args, args.n_critic)
    if args.device.startswith("cuda"):
        for _ in range(3 if args.cuda_graphs else 1):  # cuDNN's autotuner (large trial workspaces), graphs
            variant.cycle(data, args.n_critic)
        sync(args.device)
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        variant.cycle(data, args.n_critic)
        sync(args.device)
        total = torch.cuda.max_memory_allocated()  # with CUDA graphs their pools are part of `base`
        peak = total - base
    else:  # the resident set, sampled every millisecond by a thread, above where it was before the cycle
        page = os.sysconf("SC_PAGE_SIZE")

        def rss() -> int:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * page

        base, highest, done = rss(), [0], threading.Event()

        def sample() -> None:
            while not done.is_set():
                highest[0] = max(highest[0], rss())
                time.sleep(0.001)

        thread = threading.Thread(target=sample)
        thread.start()
        variant.cycle(data, args.n_critic)
        done.set()
        thread.join()
        total = highest[0]
        peak = total - base
    print(json.dumps({"peak_bytes": peak, "total_bytes": total}))


def main() -> None:
    args = parse()
    if args.memory_of:
        memory_child(args)
        return
    torch.manual_seed(0)
    # the reference's main.py turns cuDNN's autotuner on for all its training; so does our loop on a GPU
    torch.backends.cudnn.benchmark = args.device.startswith("cuda")
    g, d = networks(args.image_size)
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    print(f"{device_name}, torch {torch.__version__}, {torch.get_num_threads()} threads; {args.image_size} px, "
          f"batch {args.batch}, n_critic {args.n_critic}; ours in {args.precision}"
          f"{', channels_last' if args.channels_last else ''}{', unfused NHWC (before issue 28)' if args.unfused_nhwc else ''}{', compiled G' if args.compile else ''}, "
          f"reference in fp32 (cuDNN TF32 {torch.backends.cudnn.allow_tf32})")  # fmt: skip
    data = batches(args, args.n_critic)
    variants = {name: Variant(name, g, d, args) for name in ("reference", "ours")}
    # 1. the same losses from the same start (these cycles are also the warm-up; with CUDA graphs, take
    # 3 or more: the graphs are recorded after 2 eager steps of each kind)
    first = {
        name: [log for _ in range(args.check_cycles) for log in v.cycle(data, args.n_critic)]
        for name, v in variants.items()
    }
    worst_abs, worst_rel = 0.0, 0.0
    for ref, ours in zip(first["reference"], first["ours"], strict=True):
        for k in ref:
            worst_abs = max(worst_abs, abs(ref[k] - ours[k]))
            if abs(ref[k]) > 0.1:
                worst_rel = max(worst_rel, abs(ref[k] - ours[k]) / abs(ref[k]))
    last = first["ours"][-1]
    print(
        f"losses of the last iteration of cycle {args.check_cycles}, ours: "
        + ", ".join(f"{k} {v:.4f}" for k, v in last.items())
    )
    print(
        f"reference vs ours over {args.check_cycles} cycle(s): largest absolute difference of any loss {worst_abs:.2e}; "
        f"largest relative difference of any loss above 0.1 in size {worst_rel:.2e}"
    )
    # 2. speed, interleaved
    times: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.repeats):
        for name in ("ours", "reference") if r % 2 else ("reference", "ours"):
            sync(args.device)
            start = time.perf_counter()
            variants[name].cycle(data, args.n_critic)
            sync(args.device)
            times[name].append(time.perf_counter() - start)
    images = args.batch * args.n_critic
    speed = {name: images / statistics.median(t) for name, t in times.items()}
    # 3. work and the machine's peak
    peak = matmul_peak(args.device, args.precision)
    print(f"matmul peak measured: {peak / 1e9:.1f} GFLOP/s")
    for name, v in variants.items():
        flops = flops_per_image(v, args)
        runs = ", ".join(f"{images / t:.2f}" for t in times[name])
        print(f"{name:9s}: {speed[name]:8.2f} img/s (runs {runs}); {flops / 1e9:.2f} GFLOP per image per "
              f"iteration; {flops * speed[name] / peak:.1%} of the matmul peak")  # fmt: skip
    print(f"ratio ours / reference: {speed['ours'] / speed['reference']:.2f}x")
    if args.profile:
        for v in variants.values():
            profile(v, data, args)
    # 4. memory, each variant in a fresh process
    for name in variants:
        flags = [
            f"--{k.replace('_', '-')}" + ("" if v is True else f"={v}")
            for k, v in vars(args).items()
            if k not in ("memory_of", "repeats") and v is not False
        ]
        cmd = [sys.executable, __file__, "--memory-of", name, *flags]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        sizes = {k: v / 2**30 for k, v in json.loads(out).items()}
        whole = "the whole process" if args.device == "cpu" else "networks, optimisers, batches"
        whole += ", graph pools" if args.cuda_graphs and name == "ours" else ""
        print(
            f"{name:9s}: peak memory of one cycle {sizes['peak_bytes']:.2f} GiB above the state before it, "
            f"{sizes['total_bytes']:.2f} GiB in all ({whole})"
        )


if __name__ == "__main__":
    main()
