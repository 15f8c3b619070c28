"""How fast D's classifier head learns a dataset's labels from real images alone, with no GAN at all.

In the joint toy runs D's classification loss on toy-rafd's expressions stays near chance (cross-entropy
1.2-1.6 against ln 8 = 2.08) for most of the 6,000 steps; this checks whether that is the architecture
and its input (reframed images) or the adversarial game sharing D's trunk.

    python benchmarks/experiments/classifier_speed.py --data data/toyrafd --lr 1e-3 --steps 2000
Every 250 steps prints the training loss (mean of the last 250) and the accuracy on the test split.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from stargan_cli import losses
from stargan_cli.data.prepared import PreparedDataset
from stargan_cli.images import to_tensor
from stargan_cli.labels import LabelSpace
from stargan_cli.models.stargan import StarGANConfig, build
from stargan_cli.train.stream import BatchStream


def accuracy(discriminator: torch.nn.Module, split, kind: str, batch: int = 250) -> float:
    """Share of test images whose labels are all read right (argmax for one label, > 0 for several)."""
    right = 0
    with torch.no_grad():
        for start in range(0, len(split), batch):
            x = to_tensor(split.images[start : start + batch])
            labels = torch.from_numpy(split.labels[start : start + batch])
            logits = discriminator(x)[1]
            if kind == "single":
                right += (logits.argmax(1) == labels.argmax(1)).sum().item()
            else:
                right += ((logits > 0) == (labels > 0.5)).all(1).sum().item()
    return right / len(split)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/toyrafd")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--width", type=int, default=32, help="model.d_conv_dim")
    parser.add_argument("--repeat", type=int, default=4, help="model.d_repeat_num")
    parser.add_argument("--zoom-out", type=float, default=0.32, help="data.zoom_out")
    parser.add_argument("--shift", type=float, default=0.08, help="data.shift")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument(
        "--pool", action="store_true", help="a 1x1 classification head averaged over positions (a trial)"
    )
    args = parser.parse_args()
    torch.manual_seed(0)
    ds = PreparedDataset(args.data)
    space = LabelSpace((ds.labels,))
    config = StarGANConfig(image_size=ds.image_size, d_conv_dim=args.width, d_repeat_num=args.repeat)
    discriminator = build(config, space)["discriminator"]
    if args.pool:
        conv2 = discriminator.conv2
        discriminator.conv2 = torch.nn.Sequential(
            torch.nn.Conv2d(conv2.in_channels, conv2.out_channels, 1, bias=False),
            torch.nn.AdaptiveAvgPool2d(1),
        )
    opt = torch.optim.Adam(discriminator.parameters(), args.lr, (0.5, 0.999))
    stream = BatchStream(ds.split("train"), args.batch, 0, 0, True, zoom_out=args.zoom_out, shift=args.shift)
    test, kind = ds.split("test"), ds.labels.kind
    start, seen = time.perf_counter(), []
    for step in range(1, args.steps + 1):
        draw = stream.draw(step - 1, torch.device("cpu"))
        loss = losses.CLASSIFICATION[kind](discriminator(draw.x_real)[1], draw.labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen.append(loss.item())
        if step % 250 == 0:
            acc = accuracy(discriminator, test, kind)
            print(
                f"step {step}: loss {np.mean(seen):.3f}, test accuracy {acc:.1%}, "
                f"{time.perf_counter() - start:.0f} s",
                flush=True,
            )
            seen = []


if __name__ == "__main__":
    main()
