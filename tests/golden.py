"""The golden runs: short seeded CPU trainings of the toy recipes, recorded once and replayed.

`python -m tests.golden` (from the repository root) records `tests/golden/training.json` from the code as
it is; tests/test_golden.py trains the same runs and compares. A run is a toy recipe as shipped when the
record was made (frozen copies in tests/golden/: networks, losses, learning rates, n_critic, cross-dataset
targets, reframing; so a later change of a shipped recipe does not move the invariant), shortened to STEPS
steps on a small rendering of the toy datasets, logged every step. What is kept: every logged loss of every step
(metrics.jsonl, 6 decimals) and a SHA-256 of the final weights of every network.

Exact float results depend on the CPU's kernels and the thread count, so the hashes are compared only on
a machine with the recorded fingerprint (torch version, CPU capability, threads); elsewhere the first two
steps' losses are compared to a tolerance (later ones drift apart with the rounding: tests/test_golden.py).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

RECORD = Path(__file__).with_name("golden") / "training.json"
STEPS = 24
RUNS = {
    "demo": "demo.toml",  # recipes/toyfaces.toml at 0.1.0
    "joint": "joint.toml",  # recipes/toyfaces_joint.toml at 0.1.0
    # the recipes as shipped on 2026-12-03: the demo with g_residual, cls_noise and EMA; the two-domain methods
    "toyfaces": "toyfaces.toml",
    "cyclegan": "toyfaces_cyclegan.toml",
    "ugatit": "toyfaces_ugatit.toml",
    "unit": "toyfaces_unit.toml",
    "stargan_v2": "toyfaces_v2.toml",  # recipes/toyfaces_v2.toml as shipped on 2026-12-05
}
JOINT = {"joint"}  # the runs on toy-celeba and toy-rafd; the others are on toy-celeba alone


def fingerprint() -> dict[str, str]:
    return {
        "torch": torch.__version__,
        "cpu": torch.backends.cpu.get_cpu_capability(),
        "threads": str(torch.get_num_threads()),
    }


def datasets(root: Path) -> dict[str, Path]:
    from stargan_cli.data.readers.toyfaces import prepare_toyfaces

    out = {}
    for style in ("celeba", "rafd"):
        out[style] = root / f"toy-{style}"
        prepare_toyfaces(str(out[style]), style, 32, 64, 8, 0, False)
    return out


def weights_hash(run_dir: Path) -> str:
    from safetensors.torch import load_file

    from stargan_cli.checkpoint import complete_checkpoints

    digest = hashlib.sha256()
    last = complete_checkpoints(run_dir)[-1]
    for file in sorted(last.glob("*.safetensors")):
        state = load_file(str(file))
        for name in sorted(state):
            digest.update(f"{file.name}:{name}".encode())
            digest.update(state[name].contiguous().numpy().tobytes())
    return digest.hexdigest()


def run(name: str, root: Path, data: dict[str, Path]) -> dict:
    from stargan_cli.config import load_recipe
    from stargan_cli.train.loop import train

    recipe_path = RECORD.parent / RUNS[name]
    paths = [data["celeba"], data["rafd"]] if name in JOINT else [data["celeba"]]
    overrides = [
        "data.datasets=[" + ", ".join(f'"{p}"' for p in paths) + "]",
        f"train.steps={STEPS}",
        f"train.decay_start={STEPS // 2}",
        "train.log_every=1",
        f"train.sample_every={STEPS}",
        f"train.checkpoint_every={STEPS}",
        f'output.runs_dir="{root / name}"',
    ]
    recipe, _ = load_recipe(recipe_path, overrides)
    run_dir = train(recipe).run_dir
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    losses = [{k: v for k, v in r.items() if "/" in k and k != "images/s"} for r in records]
    return {"losses": losses, "weights": weights_hash(run_dir)}


def record_all(root: Path) -> dict:
    data = datasets(root)
    return {"fingerprint": fingerprint(), "steps": STEPS, "runs": {n: run(n, root, data) for n in RUNS}}


if __name__ == "__main__":
    import os
    import tempfile

    os.environ["STARGAN_QUIET"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        result = record_all(Path(tmp))
    RECORD.parent.mkdir(exist_ok=True)
    RECORD.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {RECORD}", file=sys.stderr)
