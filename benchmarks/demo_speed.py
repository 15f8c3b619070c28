"""Training speed of the README's demo recipe (recipes/toyfaces.toml) in several variants, side by side.

Each variant trains the first `--steps` steps of the recipe in its own process (so that compilation and
thread pools start fresh), one after the other, `--repeats` times interleaved; the rate of a run is the
median images/s of its log intervals after the first (start-up and the first allocations are there).
Printed per variant: the median over repeats, its ratio to the first variant, and the minutes the
recipe's steps would take at that rate.

    python benchmarks/demo_speed.py data/toyfaces [--steps 400] [--repeats 2]
    python benchmarks/demo_speed.py data/toyfaces --recipe toyfaces_unit.toml --only "fp32, D weight grads kept" fp32

Variants (`--set` overrides of the recipe): fp32 with the discriminator's weight gradients computed during
the generator's update (what training did before 2026-12-05; the script brings it back by freezing nothing),
fp32 as training does now, bf16 autocast, bf16 with the generator compiled.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VARIANTS = {  # name -> (recipe overrides, keep the frozen networks' weight gradients)
    "fp32, D weight grads kept": (["train.precision=fp32"], True),
    "fp32": (["train.precision=fp32"], False),
    "bf16": (["train.precision=bf16"], False),
    "bf16 + compiled G": (["train.precision=bf16", "train.compile_generator=true"], False),
    "bf16 + channels_last": (["train.precision=bf16", "train.memory_format=channels_last"], False),
}

CHILD = """
import sys
from stargan_cli.config import load_recipe
from stargan_cli.train import step
from stargan_cli.train.loop import train

if sys.argv[2] == "keep":  # the step before 2026-12-05: no parameter frozen in any phase
    view = step.StepRunner.view
    step.StepRunner.view = lambda self, phase: step.PhaseView((), view(self, phase).networks)
recipe, _ = load_recipe(sys.argv[1], sys.argv[3:])
train(recipe)
"""


def one_run(recipe: Path, data: Path, work: Path, overrides: list[str], keep: bool, steps: int) -> float:
    settings = [
        f"train.steps={steps}",
        f"train.decay_start={steps}",
        "train.log_every=25",
        f"train.sample_every={steps}",
        f"train.checkpoint_every={steps}",
        f'data.datasets=["{data}"]',
        f'output.runs_dir="{work}"',
        *overrides,
    ]
    env = {**os.environ, "STARGAN_QUIET": "1"}
    subprocess.run(
        [sys.executable, "-c", CHILD, str(recipe), "keep" if keep else "free", *settings],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    run = max(p for p in work.iterdir() if p.name[:1].isdigit())
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return statistics.median(r["images/s"] for r in records[1:])


def images_per_step(recipe: Path) -> int:
    """Images a step of the recipe trains on (every stream's batch: StarGAN one, two-domain methods two)."""
    from stargan_cli.config import load_recipe

    loaded, _ = load_recipe(recipe, [])
    streams = 1 if loaded.model.architecture == "stargan" else 2
    return loaded.data.batch_size * streams * len(loaded.data.datasets)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="a prepared toyfaces dataset (stargan prepare toyfaces)")
    p.add_argument("--recipe", default="toyfaces.toml", help="a recipe of recipes/ on the toy data")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--only", nargs="*", default=list(VARIANTS), help="variants to run (default: all)")
    args = p.parse_args()
    rates: dict[str, list[float]] = {name: [] for name in args.only}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats):
            for name in args.only:
                overrides, keep = VARIANTS[name]
                recipe = REPO / "recipes" / args.recipe
                rate = one_run(recipe, args.data.resolve(), Path(scratch), overrides, keep, args.steps)
                rates[name].append(rate)
                print(f"repeat {repeat + 1}: {name}: {rate:.1f} images/s", flush=True)
    first = statistics.median(rates[args.only[0]])
    recipe = REPO / "recipes" / args.recipe
    from stargan_cli.config import load_recipe

    steps, per_step = load_recipe(recipe, [])[0].train.steps, images_per_step(recipe)
    print(f"\n{args.recipe}: minutes for its {steps:,} steps at each rate")
    print("| variant | images/s (runs) | ratio | minutes |\n| --- | ---: | ---: | ---: |")
    for name, values in rates.items():
        rate = statistics.median(values)
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(
            f"| {name} | {rate:.1f} ({runs}) | {rate / first:.2f}x | {steps * per_step / rate / 60:.1f} min |"
        )


if __name__ == "__main__":
    main()
