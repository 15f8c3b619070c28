#!/usr/bin/env bash
# Which method when: StarGAN, CycleGAN, U-GAT-IT (light), UNIT and StarGAN v2 trained with their toy recipes on
# the same prepared toyfaces data, then `stargan compare` on the task they share (toy-celeba Black_Hair <->
# Blond_Hair; StarGAN also does Brown_Hair, Male and Young, StarGAN v2 Brown_Hair). Run from the repository
# root with the package installed:
#   bash benchmarks/compare_methods.sh [WORKDIR]
# About 47 minutes on a 2-core CPU. Leaves WORKDIR/comparison.json and comparison.png.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work" && cd "$work"
rm -rf recipes && cp -r "$repo/recipes" .
stargan prepare toyfaces --out data/toyfaces
runs=()
for recipe in toyfaces toyfaces_cyclegan toyfaces_ugatit toyfaces_unit toyfaces_v2; do
  if [ ! -f "runs/$recipe/generator.safetensors" ]; then
    rm -rf "runs/$recipe"
    stargan train "recipes/$recipe.toml" --set output.runs_dir=runs --set output.name="$recipe"
    mv "$(readlink -f runs/latest)" "runs/$recipe"
  fi
  runs+=("runs/$recipe")
done
stargan compare "${runs[@]}" --out comparison.json
echo "workdir: $work"
