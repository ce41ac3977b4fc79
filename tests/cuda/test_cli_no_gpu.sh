#!/bin/sh
# `dytbench run --device cuda` on a machine without a usable GPU: exit 2
# and a plain message (CUDA build: "no usable GPU was found: <reason>";
# CPU-only build: "built without CUDA"). On a machine with a GPU this
# test has nothing to check and is skipped (77).
exe="$1"; kind="$2"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
if [ "$kind" = cuda ] && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    echo "a GPU is present: nothing to check"; exit 77
fi
"$exe" run --suite quick --device cuda --db "$tmp/t.db" >"$tmp/out" 2>"$tmp/err"
rc=$?
cat "$tmp/err"
[ $rc -eq 2 ] || { echo "expected exit 2, got $rc"; exit 1; }
if [ "$kind" = cuda ]; then
    grep -q 'no usable GPU was found: ..*' "$tmp/err" || { echo "message missing"; exit 1; }
else
    grep -qi 'without CUDA' "$tmp/err" || { echo "message missing"; exit 1; }
fi
exit 0
