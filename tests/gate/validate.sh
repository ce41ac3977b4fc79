#!/bin/sh
# Validation of the regression gate (docs/gate.md): measures, on this
# machine, the false-positive rate over A/A comparisons and the detection
# rate of slowdowns injected with `run --inject-slowdown VARIANT:PCT` (real
# extra work inside the timed region; nothing stored is edited).
#
#   tests/gate/validate.sh DYTBENCH DB ROUNDS VARIANT [run options...]
#
# Each round runs, back to back: A, B (same build, same options: an A/A
# pair), then the same plan with VARIANT slowed by 5%, 10% and 20%. Then
#   A/A:        compare A_i B_i          (any regression = a false positive)
#   detection:  compare B_i INJ<p>_i     (per injected case: flagged or not)
# at thresholds 2%, 3% and 5%, alpha 0.01, and prints the rates.
# Example (the figures in docs/gate.md):
#   tests/gate/validate.sh build/cli/dytbench /tmp/val.db 50 avx512 --pass fwd --quick
set -eu
exe=$1 db=$2 rounds=$3 variant=$4
shift 4
i=1
while [ "$i" -le "$rounds" ]; do
    "$exe" run "$@" --quiet --db "$db" --label "aa-A-$i" >/dev/null || [ $? -eq 1 ]
    "$exe" run "$@" --quiet --db "$db" --label "aa-B-$i" >/dev/null || [ $? -eq 1 ]
    for p in 5 10 20; do
        "$exe" run "$@" --quiet --db "$db" --label "inj$p-$i" \
            --inject-slowdown "$variant:$p" >/dev/null || [ $? -eq 1 ]
    done
    echo "round $i of $rounds done" >&2
    i=$((i + 1))
done
exec python3 "$(dirname "$0")/validate_analyze.py" "$exe" "$db" "$rounds"
