"""What parts of the demo's step cost, interleaved in one process: the step as it is, the step without the
gradient penalty (the most a lazy penalty could save), and the step with the noisy classifier reads merged
into the other discriminator forwards (fewer, larger convolutions; not bit-identical to the step as it is).

The demo recipe's Trainer is set up once; blocks of 10 steps rotate through the variants (the first round
uncounted); printed per variant: the median ms per step, images/s and the ratio to the step as it is.

    STARGAN_QUIET=1 python benchmarks/demo_step_parts.py data/toyfaces [bf16|fp32] [--rounds 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from stargan_cli import losses
from stargan_cli.config import load_recipe
from stargan_cli.objectives import stargan as sg
from stargan_cli.train.loop import Trainer

REPO = Path(__file__).resolve().parent.parent
orig = sg.StarGANObjective.discriminator_loss  # the step as it is
orig_g = sg.StarGANObjective.generator_loss


def no_gp(self, discriminator, batch, x_fake, grad_scale=None):
    """D's loss without the penalty's interpolates, their forward and their double backward."""
    x_real = batch.x_real
    b = x_real.shape[0]
    x_fake = x_fake.detach()
    src, cls = discriminator(torch.cat([x_real, x_fake]))
    src_real, src_fake = src.split(b)
    _, cls = discriminator(self._noisy(x_real))
    logs = {
        "D/real": losses.wgan_real(src_real),
        "D/fake": losses.wgan_fake(src_fake),
        "D/cls": self._classification(cls[:b], batch.dataset, batch.labels_org),
    }
    loss = logs["D/real"] + logs["D/fake"] + logs["D/cls"]
    return loss, {k: v.detach() for k, v in logs.items()}


def merged(self, discriminator, batch, x_fake, grad_scale=None):
    """The noisy reals (cls_noise) in the forward of the real and fake rows."""
    x_real, alpha = batch.x_real, batch.alpha
    b = x_real.shape[0]
    x_fake = x_fake.detach()
    x_hat = (alpha * x_real + (1 - alpha) * x_fake).requires_grad_(True)
    src, cls = discriminator(torch.cat([x_real, x_fake, self._noisy(x_real)]))
    src_real, src_fake, _ = src.split(b)
    cls = cls[2 * b :]
    src_hat, _ = discriminator(x_hat)
    logs = {
        "D/real": losses.wgan_real(src_real),
        "D/fake": losses.wgan_fake(src_fake),
        "D/cls": self._classification(cls, batch.dataset, batch.labels_org),
        "D/gp": losses.gradient_penalty(src_hat, x_hat, grad_scale),
    }
    c = self.config
    loss = logs["D/real"] + logs["D/fake"] + c.lambda_cls * logs["D/cls"] + c.lambda_gp * logs["D/gp"]
    return loss, {k: v.detach() for k, v in logs.items()}


def merged_g(self, generator, discriminator, batch, x_fake):
    """The noisy fakes in the forward of the fakes."""
    c_org, _ = self.generator_labels(batch)
    b = x_fake.shape[0]
    src, cls = discriminator(torch.cat([x_fake, self._noisy(x_fake)]))
    src_fake = src[:b]
    cls_fake = cls[b:]
    x_rec = generator(x_fake, c_org)
    logs = {
        "G/fake": -losses.wgan_fake(src_fake),
        "G/rec": losses.l1(batch.x_real, x_rec),
        "G/cls": self._target_classification(cls_fake, batch),
    }
    c = self.config
    loss = logs["G/fake"] + c.lambda_rec * logs["G/rec"] + c.lambda_cls * logs["G/cls"]
    return loss, {k: v.detach() for k, v in logs.items()}


VARIANTS = {
    "as it is": (orig, orig_g),
    "no gradient penalty": (no_gp, orig_g),
    "merged D forwards": (merged, merged_g),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="a prepared toyfaces dataset (stargan prepare toyfaces)")
    p.add_argument("precision", nargs="?", default="bf16", choices=("bf16", "fp32"))
    p.add_argument("--rounds", type=int, default=10, help="rounds of one 10-step block per variant")
    args = p.parse_args()
    names = list(VARIANTS)
    with tempfile.TemporaryDirectory() as scratch:
        recipe, _ = load_recipe(REPO / "recipes" / "toyfaces.toml", [
            f"train.precision={args.precision}", f'data.datasets=["{args.data.resolve()}"]',
            f'output.runs_dir="{scratch}"', "train.sample_every=100000", "train.checkpoint_every=100000"])  # fmt: skip
        trainer = Trainer(recipe)
        times: dict[str, list[float]] = {k: [] for k in names}
        number = 0
        for block in range(len(names) * (args.rounds + 1)):
            variant = names[block % len(names)]
            sg.StarGANObjective.discriminator_loss, sg.StarGANObjective.generator_loss = VARIANTS[variant]
            start = time.perf_counter()
            for _ in range(10):
                number += 1
                trainer.step(number)
            if block >= len(names):
                times[variant].append((time.perf_counter() - start) / 10)
        sg.StarGANObjective.discriminator_loss, sg.StarGANObjective.generator_loss = orig, orig_g
    base = statistics.median(times[names[0]])
    print("| variant | ms per step | images/s | ratio |\n| --- | ---: | ---: | ---: |")
    for variant in names:
        m = statistics.median(times[variant])
        print(f"| {variant} | {m * 1000:.1f} | {16 / m:.0f} | {base / m:.2f}x |")


if __name__ == "__main__":
    main()
