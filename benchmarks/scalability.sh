#!/usr/bin/env bash
# Issue 25, the paper's scalability claim measured on toy data: one StarGAN for toy-celeba's three hair
# colours, gender and age against the CycleGAN models every pair of those domains needs (black <-> blond,
# black <-> brown, blond <-> brown, male <-> female, young <-> old: 5 models, 10 generators), each trained
# with recipes/toyfaces_cyclegan.toml; StarGAN is scored against each CycleGAN on that model's own faces
# (`stargan compare`). Needs the StarGAN run of benchmarks/compare_methods.sh in the same WORKDIR:
#   bash benchmarks/compare_methods.sh WORKDIR && bash benchmarks/scalability.sh WORKDIR
# About 35 minutes on a 2-core CPU. Prints one markdown table.
set -euo pipefail
work="${1:?give the WORKDIR of benchmarks/compare_methods.sh}"
cd "$work"
test -f runs/toyfaces/generator.safetensors || { echo "run benchmarks/compare_methods.sh $work first" >&2; exit 1; }
pairs=("Black_Hair,Blond_Hair" "Black_Hair,Brown_Hair" "Blond_Hair,Brown_Hair" "Male=0,Male=1" "Young=0,Young=1")
for pair in "${pairs[@]}"; do
  name="cyclegan-${pair//,/+}"
  if [ ! -f "runs/$name/generator.safetensors" ]; then
    rm -rf "runs/$name"
    stargan train recipes/toyfaces_cyclegan.toml --set output.runs_dir=runs --set output.name="$name" \
      --set model.domains="$pair"
    mv "$(readlink -f runs/latest)" "runs/$name"
  fi
  stargan compare runs/toyfaces "runs/$name" --out "scalability/$name.json" > /dev/null
done
python3 - <<'PY'
import json
from pathlib import Path

files = sorted(Path("scalability").glob("cyclegan-*.json"))
reports = [json.loads(p.read_text()) for p in files]
star = reports[0]["models"][0]
cyclegans = [r["models"][1] for r in reports]
rows = []
for p, r in zip(files, reports):
    s, c = r["models"][0]["shared_summary"], r["models"][1]["shared_summary"]
    pair = p.stem.removeprefix("cyclegan-").replace("+", " <-> ")
    rows.append(f"| {pair} | {100 * s['target_accuracy']:.1f}% / {100 * s['preservation']:.1f}% | "
                f"{100 * c['target_accuracy']:.1f}% / {100 * c['preservation']:.1f}% |")
acc = lambda m: sum(r["models"][m]["shared_summary"]["target_accuracy"] for r in reports) / len(reports)
print("| models | generators | parameters (exported) | parameters (all networks) | training minutes | mean acc over the 5 pairs |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
print(f"| StarGAN, 1 model | 1 | {star['parameters'] / 1e6:.2f} M | {star['trained_parameters'] / 1e6:.2f} M | "
      f"{star['minutes']:.1f} | {100 * acc(0):.1f}% |")
print(f"| CycleGAN, {len(cyclegans)} models | {2 * len(cyclegans)} | {sum(m['parameters'] for m in cyclegans) / 1e6:.2f} M | "
      f"{sum(m['trained_parameters'] for m in cyclegans) / 1e6:.2f} M | {sum(m['minutes'] for m in cyclegans):.1f} | "
      f"{100 * acc(1):.1f}% |")
print()
print("| domains (both directions) | StarGAN acc / kept | CycleGAN acc / kept |")
print("| --- | ---: | ---: |")
print("\n".join(rows))
PY
