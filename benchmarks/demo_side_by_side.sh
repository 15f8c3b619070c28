#!/usr/bin/env bash
# The README's first command, verbatim, on fresh clones of two revisions, one after the other:
# each clone runs the first line of its own README's first ```bash block (venv, install, prepare, train,
# evaluate) and is timed as a whole. Prints the wall time of each, their ratio, and the evaluate table.
#   bash benchmarks/demo_side_by_side.sh OLD_REV NEW_REV [WORKDIR]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
old="$1"
new="$2"
work="${3:-$(mktemp -d)}"
mkdir -p "$work"
declare -A seconds
for name in old new; do
  rev="${!name}"
  clone="$work/$name"
  rm -rf "$clone"
  git clone -q "$repo" "$clone"
  git -C "$clone" checkout -q "$rev"
  command="$(awk '/^```bash/{getline; print; exit}' "$clone/README.md")"
  echo "== $name ($rev): $command"
  start=$(date +%s.%N)
  (cd "$clone" && bash -c "$command") > "$work/$name.log" 2>&1
  end=$(date +%s.%N)
  seconds[$name]=$(python3 -c "print(f'{$end - $start:.0f}')")
  echo "$name: ${seconds[$name]} s"
  grep -E "^\s*(\S+_Hair|Male|Young|all|toy-celeba)|training stargan on" "$work/$name.log" | tail -9 || true
done
python3 -c "print(f'new / old = ${seconds[new]} / ${seconds[old]} = {${seconds[new]} / ${seconds[old]}:.2f}')"
echo "logs and runs: $work"
