#!/usr/bin/env bash
# GPU device check: on one H100/H200 (or any GPU of CC >= 7.0) in under
# five minutes, build dytbench with CUDA, verify every GPU variant (golden
# vectors and random shapes against the float64 ref), run the llm and
# vision suites in bf16 forward and backward on the GPU, collect CUPTI
# counters for a few cases, and leave the DB, the reports and a log in
# OUTDIR.
#
#   runners/cuda/device-check.sh OUTDIR
#
# Every step runs even when an earlier one fails (a failed verify does not
# hide the timings); the exit status is the number of failed steps (0 = all
# passed), and OUTDIR/summary.txt lists each step with its status. It has
# NOT been run on a GPU yet: none was available while it was written.
set -u
OUT=${1:?usage: device-check.sh OUTDIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
LOG="$OUT/device-check.log"
SUMMARY="$OUT/summary.txt"
BUILD=${DYT_BUILD_DIR:-"$OUT/build"}
DB="$OUT/dytbench.db"
EXE="$BUILD/cli/dytbench"
: >"$LOG"
: >"$SUMMARY"
failures=0
start=$(date +%s)

step() { # step NAME TIMEOUT_S CMD...
    local name=$1 limit=$2
    shift 2
    echo "=== $name: $*" | tee -a "$LOG"
    local t0=$(date +%s)
    timeout --signal=TERM --kill-after=10 "$limit" "$@" >>"$LOG" 2>&1
    local rc=$?
    local dt=$(($(date +%s) - t0))
    if [ $rc -eq 0 ]; then
        echo "ok      $name (${dt}s)" | tee -a "$SUMMARY"
    else
        [ $rc -eq 124 ] && echo "    (timed out after ${limit}s)" >>"$LOG"
        echo "FAILED  $name (rc $rc, ${dt}s)" | tee -a "$SUMMARY"
        failures=$((failures + 1))
    fi
    return $rc
}

{
    echo "dytbench device check, $(date -u +%FT%TZ)"
    echo "source: $SRC ($(git -C "$SRC" describe --always --dirty 2>/dev/null || echo unknown))"
    nvidia-smi --query-gpu=name,pci.bus_id,driver_version,clocks.max.sm,clocks.sm,temperature.gpu,power.draw \
        --format=csv 2>&1 || echo "nvidia-smi not available"
} | tee -a "$LOG"

if ! step build 180 sh -c "{ [ -f '$BUILD/build.ninja' ] || meson setup '$BUILD' '$SRC' -Dcuda=enabled -Dbuildtype=release; } && ninja -C '$BUILD'"; then
    echo "build failed: nothing else can run (see $LOG)" | tee -a "$SUMMARY"
    exit 1
fi
step cuda-tests 120 meson test -C "$BUILD" --suite cuda --print-errorlogs
step verify 150 "$EXE" verify --random
# Timed runs: short budgets so both suites fit in the five minutes.
RUNOPTS="--dtype bf16 --pass fwd,bwd --variant all --min-time 0.02 --max-time 0.2 --max-noise 0.02 --quiet"
step run-llm 150 "$EXE" run --device cuda --suite llm $RUNOPTS --label device-check-llm --cupti-metrics none --db "$DB"
step run-vision 100 "$EXE" run --device cuda --suite vision $RUNOPTS --label device-check-vision --cupti-metrics none --db "$DB"
# Counters in a run of their own (replay): the LLaMA-7B shape.
step cupti 90 "$EXE" run --device cuda --suite llm --model llama-7b --dtype bf16 --pass fwd,bwd --variant all \
    --min-time 0.01 --max-time 0.05 --label device-check-cupti --db "$DB"
step report-llm 30 sh -c "'$EXE' report device-check-llm --db '$DB' --out '$OUT/report-llm' > '$OUT/report-llm.txt'"
step report-vision 30 sh -c "'$EXE' report device-check-vision --db '$DB' --out '$OUT/report-vision' > '$OUT/report-vision.txt'"
step counters 30 sh -c "sqlite3 -header -column '$DB' \"SELECT model, norm, variant, pass, name, value, unavailable_reason FROM v_counters WHERE run_id = (SELECT id FROM runs WHERE label = 'device-check-cupti' ORDER BY id DESC LIMIT 1) ORDER BY model, norm, variant, pass, name\" > '$OUT/counters.txt'"
step targets 30 sh -c "sqlite3 -header -column '$DB' \"SELECT v.model, v.norm, v.variant, v.pass, v.rows, v.cols, printf('%.1f', v.median_ns / 1000.0) AS us, printf('%.0f', v.gbps) AS gbps, printf('%.1f', v.roofline_pct) AS pct_of_d2d FROM v_results v WHERE v.run_id = (SELECT id FROM runs WHERE label = 'device-check-llm' ORDER BY id DESC LIMIT 1) AND v.rows = 8192 AND v.cols = 4096 ORDER BY v.norm, v.pass, v.variant\" > '$OUT/targets.txt'"

echo "total $(($(date +%s) - start)) s, $failures failed step(s)" | tee -a "$SUMMARY"
exit $failures
