#!/bin/sh
# Validation of the regression gate (docs/gate.md): measures, on this
# machine, the false-positive rate over A/A comparisons and the detection
# rate of slowdowns injected with `run --inject-slowdown VARIANT:PCT` (real
# extra work inside the timed region; nothing stored is edited).
#
#   tests/gate/validate.sh DYTBENCH DB SESSIONS VARIANT [run options...]
#
# Each session is one `dytbench interleave` of five arms of the same build,
# measured in lockstep as a CI job measures base and candidate: A and B
# (an A/A pair) and the same plan with VARIANT slowed by 5%, 10% and 20%.
# Then, per session,
#   A/A:        compare A-i B-i          (any regression = a false positive)
#   detection:  compare B-i inj<p>-i     (per injected case: flagged or not)
# at thresholds 2, 3, 5 and 10%, alpha 0.01 (validate_analyze.py).
# Example (the figures in docs/gate.md):
#   tests/gate/validate.sh build/cli/dytbench /tmp/val.db 50 avx512 \
#       --pass fwd --quick --threads 1 --rounds 8 --max-time 0.25
set -eu
exe=$1 db=$2 sessions=$3 variant=$4
shift 4
i=1
while [ "$i" -le "$sessions" ]; do
    "$exe" interleave --db "$db" "$@" \
        --arm "A-$i=self" --arm "B-$i=self" \
        --arm "inj5-$i=self --inject-slowdown $variant:5" \
        --arm "inj10-$i=self --inject-slowdown $variant:10" \
        --arm "inj20-$i=self --inject-slowdown $variant:20" >/dev/null 2>&1 || [ $? -eq 1 ]
    echo "session $i of $sessions done" >&2
    i=$((i + 1))
done
exec python3 "$(dirname "$0")/validate_analyze.py" "$exe" "$db" "$sessions"
