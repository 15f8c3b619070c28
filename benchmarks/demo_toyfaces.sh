#!/usr/bin/env bash
# Quality benchmark of issue 2: the README's demo (prepare + train recipes/toyfaces.toml + evaluate), timed
# stage by stage, in a scratch directory. Run from the repository root with the package installed:
#   bash benchmarks/demo_toyfaces.sh [WORKDIR] [RECIPE]
# RECIPE: another recipe on the same data, e.g. toyfaces_cyclegan.toml (issue 22).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
recipe="${2:-toyfaces.toml}"
mkdir -p "$work" && cd "$work"
cp -r "$repo/recipes" .
t0=$(date +%s.%N)
stargan prepare toyfaces --out data/toyfaces
t1=$(date +%s.%N)
stargan train "recipes/$recipe"
t2=$(date +%s.%N)
stargan evaluate runs/latest
t3=$(date +%s.%N)
python3 - "$t0" "$t1" "$t2" "$t3" <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:])
print(f"prepare {t1 - t0:.0f} s, train {t2 - t1:.0f} s, evaluate {t3 - t2:.0f} s, total {t3 - t0:.0f} s")
PY
echo "workdir: $work"
