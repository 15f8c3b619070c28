"""The training-memory estimate (stargan_cli/train/memory.py) against what a real step uses on the CPU.

    python benchmarks/training_memory.py                       # U-GAT-IT light and full, small configs
    python benchmarks/training_memory.py --set model.ngf=32 --batch 2

For each variant: the estimate, then one process builds the networks and Adam, runs two training steps
(D then G) and reports its peak resident memory above its level just before the networks were built.
Each variant runs in a fresh process so peaks do not carry over.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

import psutil
import torch

from stargan_cli.accelerators import fresh_accelerator
from stargan_cli.config import load_recipe
from stargan_cli.labels import DatasetLabels, LabelSpace
from stargan_cli.methods import get_method
from stargan_cli.objectives.spec import Draw, ObjectiveContext
from stargan_cli.train.memory import GIB, estimate
from stargan_cli.train.step import StepRunner, adam

SPACE = LabelSpace((DatasetLabels("selfie2anime", ("selfie", "anime"), "single"),))
SMALL = [
    "model.image_size=64",
    "model.ngf=16",
    "model.ndf=16",
    "model.n_layers_global=5",
    "model.n_layers_local=4",
]


def measure(settings: list[str], batch: int) -> dict:
    recipe, _ = load_recipe("recipes/selfie2anime.toml", [*settings, f"data.batch_size={batch}"])
    method = get_method(recipe.model.architecture)
    guess = estimate(method, recipe, SPACE, [0, 0])
    torch.manual_seed(0)
    before = psutil.Process().memory_info().rss
    networks = method.model.build(recipe.model.params, SPACE)
    optimizers = {
        group: adam([p for n in names for p in networks[n].parameters()], 1e-4, (0.5, 0.999), 1e-4)
        for group, names in method.training.groups.items()
    }
    objective = method.training.objective(
        recipe.loss, ObjectiveContext(SPACE, {}, 0, 0, 1, torch.device("cpu"))
    )
    runner = StepRunner(networks, optimizers, objective, fresh_accelerator(cpu=True))
    size = recipe.model.params.image_size
    for step in (1, 2):
        draws = [Draw(torch.rand(batch, 3, size, size) * 2 - 1, torch.zeros(batch, 2), 0, None) for _ in "ab"]
        runner(objective.batches(draws, step)[0], objective.phases(step))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    return {"estimate": guess.total, "state": guess.state, "activations": guess.activations, "measured": peak}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--set", action="append", default=[], help="recipe settings on top of the small config")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(json.loads(args.child), args.batch)))
        return
    print(
        f"torch {torch.__version__}, CPU; selfie2anime recipe with {' '.join(SMALL + args.set)}, batch {args.batch}"
    )
    for variant in ("light", "full"):
        settings = SMALL + args.set + [f"model.variant={variant}"]
        out = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(settings), "--batch", str(args.batch)],
            check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        r = {k: v / GIB for k, v in json.loads(out).items()}
        print(f"{variant:5s}: estimate {r['estimate']:.2f} GiB (state {r['state']:.2f}, activations "
              f"{r['activations']:.2f}); measured peak {r['measured']:.2f} GiB above the process before the "
              f"networks; measured / estimate {r['measured'] / r['estimate']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
