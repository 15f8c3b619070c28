"""UNIT's options on the toy faces (issue 24): each remedy for codes that mean different things in the two
domains, trained with recipes/toyfaces_unit.toml and scored side by side.

    python benchmarks/unit_options.py --data data/toyfaces --out /tmp/unit_options [--only NAME ...]

Per variant: train (timed), evaluate (target accuracy, attributes kept, L1 to the rendered answer and of
doing nothing), and the shared-latent check: UNIT assumes a face and its counterfactual in the other
domain (the same face rendered with the other hair colour, which toyfaces can draw exactly) have the
same code. `code gap` = mean |E_a(x) - E_b(truth(x))| over test faces of both domains, divided by the
same with the counterfactuals shuffled: 1 = the codes of corresponding faces are no closer than those of
any two faces (they do not line up), lower = they line up. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
VARIANTS = {
    "reference (1 shared block each)": [],
    "no sharing (shared_layers 0)": ["model.shared_layers=0"],
    "latent adversarial 1": ["loss.latent_adversarial=1.0"],
    "semantic L1 1": ["loss.semantic=1.0"],
    "semantic cosine 1": ["loss.semantic=1.0", "loss.semantic_distance=cosine"],
    "no sharing + latent + semantic": [
        "model.shared_layers=0",
        "loss.latent_adversarial=1.0",
        "loss.semantic=1.0",
    ],
}


@torch.no_grad()
def code_gap(run: Path, data: Path) -> float:
    from stargan_cli.data.prepared import PreparedDataset
    from stargan_cli.evaluate.metrics import _counterfactuals
    from stargan_cli.images import to_tensor
    from stargan_cli.translate import LoadedModel

    translator = LoadedModel.load(run)
    domains = translator.model.domains
    encoders = {"a": translator.model.into["b"].enc, "b": translator.model.into["a"].enc}  # E_a, E_b
    dataset = PreparedDataset(data)
    test = dataset.split("test")
    files, style = dataset.files("test"), dataset.manifest["toyfaces"]["style"]
    rows = dict(zip("ab", domains.rows(test.labels), strict=True))
    paired, shuffled = [], []
    rng = np.random.default_rng(0)
    for source, other in (("a", "b"), ("b", "a")):
        index = rows[source]
        targets = test.labels[index].copy()
        here, there = (domains.a, domains.b) if source == "a" else (domains.b, domains.a)
        targets[:, here.index] = 1 - here.value
        targets[:, there.index] = there.value
        x = to_tensor(test.images[index]).contiguous()
        truth = _counterfactuals([files[i] for i in index], style, targets, dataset.image_size)
        h, h_truth = encoders[source](x), encoders[other](truth)
        paired.append((h - h_truth).abs().mean((1, 2, 3)))
        shuffled.append((h - h_truth[rng.permutation(len(index))]).abs().mean((1, 2, 3)))
    return (torch.cat(paired).mean() / torch.cat(shuffled).mean()).item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a prepared toyfaces dataset")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", nargs="*", help="variant names (default: all)")
    args = parser.parse_args()
    from stargan_cli.evaluate.run import evaluate

    rows = []
    for name, settings in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
        command = [sys.executable, "-m", "stargan_cli", "train", str(REPO / "recipes/toyfaces_unit.toml"),
                   "--set", f'data.datasets=["{args.data.resolve()}"]', "--set", f"output.runs_dir={args.out}",
                   "--set", f"output.name={slug}"]  # fmt: skip
        for setting in settings:
            command += ["--set", setting]
        start = time.perf_counter()
        subprocess.run(command, check=True)
        minutes = (time.perf_counter() - start) / 60
        run = sorted(args.out.glob(f"*-{slug}"))[-1]
        s = evaluate(run, fid=False).summary
        gap = code_gap(run, args.data)
        rows.append(
            f"| {name} | {100 * s['target_accuracy']:.1f}% | {100 * s['preservation']:.1f}% | "
            f"{s['counterfactual_l1']:.3f} vs {s['identity_l1']:.3f} | {gap:.3f} | {minutes:.1f} |"
        )
        print(rows[-1], flush=True)
    print("| variant | acc | kept | truth L1 vs noop | code gap | minutes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
