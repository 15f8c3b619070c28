"""Speed of a real `stargan train` run, read from its metrics.jsonl (one record per log interval).

    python benchmarks/loop_speed.py runs/0001-celeba [--batch 16] [--skip 5]

Prints the median and the overall images/s of the intervals after the first `--skip` (cuDNN's autotuner
and the first allocations happen there), seconds per 1,000 iterations (an iteration is one D update on
every dataset's batch, as the reference counts them) and the time 200,000 iterations would take at that
rate. The overall rate includes the intervals that saved samples or checkpoints; the median does not.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path)
    p.add_argument("--skip", type=int, default=5, help="log intervals left out at the start")
    args = p.parse_args()
    records = [json.loads(line) for line in (args.run / "metrics.jsonl").read_text().splitlines()]
    config = json.loads((args.run / "config.json").read_text())
    images_per_step = config["data"]["batch_size"] * len(config["data"]["datasets"])
    kept = list(zip(records, records[1:], strict=False))[args.skip :]
    if not kept:
        raise SystemExit(f"{args.run}: too few log intervals after --skip {args.skip}")
    rates = [later["images/s"] for _, later in kept]
    steps = sum(later["step"] - earlier["step"] for earlier, later in kept)
    seconds = sum(
        (later["step"] - earlier["step"]) * images_per_step / later["images/s"] for earlier, later in kept
    )
    overall = steps * images_per_step / seconds
    for name, rate in (("median interval", statistics.median(rates)), ("overall", overall)):
        per_1000 = 1000 * images_per_step / rate
        print(
            f"{args.run.name}: {name}: {rate:.1f} img/s, {per_1000:.2f} s per 1,000 iterations, "
            f"200k iterations in {per_1000 * 200 / 60:.1f} min"
        )


if __name__ == "__main__":
    main()
