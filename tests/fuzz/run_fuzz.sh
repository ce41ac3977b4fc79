#!/bin/sh
# run_fuzz.sh FUZZER SEEDS WORK SECONDS: runs the libFuzzer binary FUZZER for
# SECONDS, starting from the seed corpus SEEDS (read only). What it finds
# goes under WORK: corpus/ (inputs that reached new code), crashes/ (an
# input that crashed, timed out or ran out of memory: copy it into SEEDS
# to keep it as a regression test). Exit 0 when nothing was found.
set -eu
fuzzer=$1 seeds=$2 work=$3 seconds=$4
mkdir -p "$work/corpus" "$work/crashes"
rm -f "$work"/sanitizer.*
# The target's own stdout and stderr are closed (-close_fd_mask=3: help
# texts and error messages, thousands a second); libFuzzer keeps its output,
# and the sanitizers report into files printed below.
export ASAN_OPTIONS="log_path=$work/sanitizer:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="log_path=$work/sanitizer:print_stacktrace=1:${UBSAN_OPTIONS:-}"
# libFuzzer reports a finding with exit 77 by default, which meson reads
# as "skipped": every finding is exit 1 here.
rc=0
"$fuzzer" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -close_fd_mask=3 \
    -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
    -artifact_prefix="$work/crashes/" "$work/corpus" "$seeds" || rc=$?
for f in "$work"/sanitizer.*; do
    [ -e "$f" ] && cat "$f" >&2
done
if [ "$rc" != 0 ]; then
    echo "run_fuzz.sh: $fuzzer found a failing input (exit $rc): $(ls "$work/crashes")" >&2
fi
exit "$rc"
