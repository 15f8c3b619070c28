"""How fast the StarGAN generator learns to render, with no GAN at all: G(x, c_org) -> x under L1.

The joint toy runs end with blurred outputs (G/rec 0.09-0.10); this checks whether that is the losses or
the generator itself. Every step takes one batch of each dataset (the joint label layout, own mask on).

    python benchmarks/experiments/generator_autoencoder.py --lr 2e-4 --width 16 --steps 1500
Prints the L1 (in [-1, 1] units) of the last batch and the seconds so far every 250 steps.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from stargan_cli.data.prepared import PreparedDataset
from stargan_cli.images import to_tensor
from stargan_cli.labels import LabelSpace
from stargan_cli.models.stargan import StarGANConfig, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["data/toyfaces", "data/toyrafd"])
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--width", type=int, default=16, help="model.g_conv_dim")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    torch.manual_seed(0)
    datasets = [PreparedDataset(path) for path in args.data]
    space = LabelSpace(tuple(ds.labels for ds in datasets))
    size = datasets[0].image_size
    config = StarGANConfig(image_size=size, g_conv_dim=args.width, g_down=2, g_repeat_num=3, d_repeat_num=4)
    generator = build(config, space)["generator"]
    opt = torch.optim.Adam(generator.parameters(), args.lr, (0.5, 0.999))
    splits = [ds.split("train") for ds in datasets]
    rng, start = np.random.default_rng(0), time.perf_counter()
    for step in range(1, args.steps + 1):
        for d, split in enumerate(splits):
            rows = np.sort(rng.choice(len(split), args.batch, replace=False))
            x = to_tensor(split.images[rows])
            c = space.generator_label(d, torch.from_numpy(split.labels[rows]))
            loss = (generator(x, c) - x).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if step % 250 == 0:
            print(
                f"step {step} ({len(splits) * step} updates): L1 {loss.item():.4f}, {time.perf_counter() - start:.0f} s"
            )


if __name__ == "__main__":
    main()
