"""What each network of a recipe costs per batch on this machine: the budget behind a recipe's width.

For each (generator width, discriminator width) pair, on one batch: the milliseconds of the generator's
forward and backward, of the discriminator's, and of the discriminator's with the gradient penalty's double
backward (`losses.gradient_penalty`, as the D step takes it on its interpolates), with the FLOPs torch
counts for the generator's pass and the rate that makes. Medians of --repeats timed calls after warm-up
calls. The default sizes are recipes/toyfaces_joint.toml's (32 px, 3 residual blocks, 4 D layers,
labels [5 | 8 | 2]).

    python benchmarks/network_cost.py                          # 16/32 (toyfaces_joint) and twice as wide
    python benchmarks/network_cost.py --widths 16/32 24/48 32/64 --batch-size 16
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from stargan_cli import losses
from stargan_cli.labels import DatasetLabels, LabelSpace
from stargan_cli.models.stargan import StarGANConfig, build


def median_ms(fn, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(config: StarGANConfig, labels: int, batch_size: int, repeats: int) -> tuple[float, ...]:
    """(G ms, G FLOPs, D ms, D with the gradient penalty ms) for one batch."""
    space = LabelSpace(  # two datasets sharing the labels: a generator label of labels + 2 (the mask)
        (DatasetLabels("a", tuple(f"a{i}" for i in range(labels - 1))), DatasetLabels("b", ("b0",)))
    )
    nets = build(config, space)
    generator, discriminator = nets["generator"], nets["discriminator"]
    x = torch.randn(batch_size, 3, config.image_size, config.image_size)
    c = torch.rand(batch_size, labels + 2)

    def g_pass() -> None:
        generator(x, c).mean().backward()

    def d_pass(penalty: bool) -> None:
        x_in = x.detach().clone().requires_grad_(True)
        source, logits = discriminator(x_in)
        loss = source.mean() + logits.mean()
        if penalty:
            loss = loss + losses.gradient_penalty(source, x_in)
        loss.backward()

    with FlopCounterMode(display=False) as counter:
        g_pass()
    return (
        median_ms(g_pass, repeats),
        counter.get_total_flops(),
        median_ms(lambda: d_pass(False), repeats),
        median_ms(lambda: d_pass(True), repeats),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", nargs="+", default=["16/32", "32/64"], help="G/D first-layer channels")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--g-repeat-num", type=int, default=3)
    parser.add_argument("--d-repeat-num", type=int, default=4)
    parser.add_argument("--labels", type=int, default=13, help="attributes; G also gets the 2-way mask")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, "
        f"{args.image_size} px"
    )
    print("G/D     G f+b ms  G GFLOP  G GFLOP/s  D f+b ms  D f+b+gp ms")
    for pair in args.widths:
        g_dim, d_dim = (int(v) for v in pair.split("/"))
        config = StarGANConfig(
            image_size=args.image_size,
            g_conv_dim=g_dim,
            d_conv_dim=d_dim,
            g_repeat_num=args.g_repeat_num,
            d_repeat_num=args.d_repeat_num,
        )
        g_ms, flops, d_ms, gp_ms = measure(config, args.labels, args.batch_size, args.repeats)
        print(
            f"{pair:7s} {g_ms:8.1f}  {flops / 1e9:7.2f}  {flops / g_ms / 1e6:9.1f}  {d_ms:8.1f}  {gp_ms:11.1f}"
        )


if __name__ == "__main__":
    main()
