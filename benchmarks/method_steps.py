"""Each method's training step with and without the weight gradients of the networks a phase does not step,
interleaved in one process.

For each toy recipe (StarGAN's demo in fp32, CycleGAN, U-GAT-IT, UNIT) a Trainer is set up once; then blocks
of `--block` steps alternate between the step as it was before 2026-12-05 (no parameter frozen in any phase:
the discriminators' weight gradients are computed and thrown away during the generator updates) and the
step as it is now, `--blocks` blocks in all. Interleaving in one process puts both variants on the same
machine state (this 2-core VM's speed drifts by 10-30% from minute to minute). Printed per method: the
median seconds per step of each variant and their ratio. The numbers of both variants are the same to the
bit (tests/test_golden.py); only the time differs.

    python benchmarks/method_steps.py data/toyfaces [--blocks 12] [--block 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from stargan_cli.config import load_recipe
from stargan_cli.train import step as step_module
from stargan_cli.train.loop import Trainer

REPO = Path(__file__).resolve().parent.parent
RECIPES = {
    "StarGAN (demo, fp32)": "toyfaces.toml",
    "CycleGAN": "toyfaces_cyclegan.toml",
    "U-GAT-IT (light)": "toyfaces_ugatit.toml",
    "UNIT": "toyfaces_unit.toml",
}
NOW = step_module.StepRunner.view


def before(self, phase):  # the step before 2026-12-05: nothing frozen
    return step_module.PhaseView((), NOW(self, phase).networks)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="a prepared toyfaces dataset (stargan prepare toyfaces)")
    p.add_argument("--blocks", type=int, default=12, help="blocks of steps, alternating the two variants")
    p.add_argument("--block", type=int, default=10, help="steps per block")
    args = p.parse_args()
    print("| method | before: s per step | now: s per step | ratio (before / now) |")
    print("| --- | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as scratch:
        for name, recipe_name in RECIPES.items():
            recipe, _ = load_recipe(
                REPO / "recipes" / recipe_name,
                [
                    "train.precision=fp32",
                    f'data.datasets=["{args.data.resolve()}"]',
                    f'output.runs_dir="{scratch}"',
                    "train.sample_every=100000",
                    "train.checkpoint_every=100000",
                ],
            )
            trainer = Trainer(recipe)
            times: dict[str, list[float]] = {"before": [], "now": []}
            number = 0
            for block in range(args.blocks + 2):  # the first two blocks warm up, uncounted
                variant = "before" if block % 2 == 0 else "now"
                step_module.StepRunner.view = before if variant == "before" else NOW
                trainer.run_step._views = {}
                start = time.perf_counter()
                for _ in range(args.block):
                    number += 1
                    trainer.step(number)
                if block >= 2:
                    times[variant].append((time.perf_counter() - start) / args.block)
            step_module.StepRunner.view = NOW
            old, new = statistics.median(times["before"]), statistics.median(times["now"])
            print(f"| {name} | {old:.4f} | {new:.4f} | {old / new:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
