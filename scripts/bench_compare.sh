#!/usr/bin/env bash
# Speed before and after a change, in one run (not a test): the generation, training and
# effect-application benchmarks from a checkout of BEFORE and from this tree, alternating,
# so both sides see the same machine state. Prints each benchmark's result lines.
#
#   scripts/bench_compare.sh BEFORE [ROUNDS]     (BEFORE: a commit; ROUNDS: default 2)
set -euo pipefail
before=${1:?usage: scripts/bench_compare.sh BEFORE_COMMIT [ROUNDS]}
rounds=${2:-2}
here=$(cd "$(dirname "$0")/.." && pwd)
py=$here/.venv/bin/python
tmp=$(mktemp -d)
trap 'git -C "$here" worktree remove --force "$tmp/before" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
git -C "$here" worktree add -q --detach "$tmp/before" "$before"
echo "before: $(git -C "$here" log -1 --format='%h %s' "$before" | cut -c1-80)"
echo "after:  this tree ($(git -C "$here" log -1 --format=%h))"
for r in $(seq "$rounds"); do
  for side in before after; do
    dir=$here
    [ "$side" = before ] && dir=$tmp/before
    echo "== round $r, $side"
    cd "$dir"
    PYTHONPATH=$dir $py scripts/bench_generate.py --cores flat tiered --seconds 2 \
      --prime-seconds 5 --prime-repeats 1 --original-samples 3 2>/dev/null | grep -E "samples/s|x real"
    PYTHONPATH=$dir $py scripts/bench_train.py --steps 4 2>/dev/null | grep -E "/s|ratio"
    PYTHONPATH=$dir $py scripts/bench_effect.py --skip-training --seconds 10 2>/dev/null \
      | grep -v -E "^machine|^$"
  done
done
