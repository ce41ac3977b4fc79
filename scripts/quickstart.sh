#!/usr/bin/env bash
# dytbench quick start: the two commands of the README.
#
#   ./scripts/quickstart.sh        install what is missing, build, run the
#                                  quick suite into results/dytbench.db and
#                                  render its report
#   ./scripts/quickstart.sh test   install what is missing, build, run the
#                                  whole test suite, then each fuzz target of
#                                  tests/fuzz for a bounded time (clang,
#                                  build-fuzz/); the last line printed is
#                                  "N passed, N failed[, N skipped]"
#
# Both are idempotent: packages already present are not touched (apt-get
# update runs only when something is missing), build/ is configured once and
# rebuilt incrementally. With CI=true the build uses -Dwerror=true.
set -euo pipefail

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
}

mode=run
case "${1:-}" in
    "") ;;
    test) mode=test ;;
    -h|--help) usage; exit 0 ;;
    *) echo "quickstart: unknown argument '$1' (none, or 'test')" >&2; usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "quickstart: too many arguments" >&2; exit 2; }

cd "$(dirname "$0")/.."
build=build
say() { printf '==> %s\n' "$*"; }

# --- 1. Debian packages ------------------------------------------------------
# What each is for: README.md, "Dependencies".
packages=(
    build-essential pkg-config git meson ninja-build python3
    libsqlite3-dev libhwloc-dev libjansson-dev libcmocka-dev
    libpapi-dev libdnnl-dev valgrind gnuplot-nox
)
# The test job also fuzzes: clang and its libFuzzer runtime.
[ "$mode" = test ] && packages+=(clang libclang-rt-14-dev)

if command -v dpkg-query >/dev/null 2>&1; then
    missing=()
    for p in "${packages[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        line="apt-get install -y --no-install-recommends ${missing[*]}"
        say "missing Debian packages: ${missing[*]}"
        if [ "$(id -u)" -eq 0 ]; then
            sudo=()
        elif command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
            sudo=(sudo)
        else
            echo "quickstart: cannot install packages (not root, no usable sudo). As root, run:" >&2
            echo "  apt-get update && $line" >&2
            exit 2
        fi
        if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
               "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive $line; }; then
            echo "quickstart: installing packages failed. Install them with:" >&2
            echo "  apt-get update && $line" >&2
            exit 2
        fi
    fi
else
    say "not a Debian system: make sure the equivalents of these are installed: ${packages[*]}"
fi

# --- 2. Configure (once) and build (incremental) -----------------------------
werror=false
[ "${CI:-}" = true ] && werror=true

configured_werror() {
    meson introspect "$build" --buildoptions 2>/dev/null |
        python3 -c 'import json,sys
for o in json.load(sys.stdin):
    if o["name"] == "werror": print(str(o["value"]).lower())'
}

if [ ! -f "$build/build.ninja" ]; then
    say "configuring $build/"
    meson setup "$build" -Dwerror="$werror"
else
    current="$(configured_werror || true)"
    if [ -z "$current" ]; then
        # A build dir from another meson version or a broken one: start over.
        say "reconfiguring $build/ from scratch"
        meson setup --wipe "$build" -Dwerror="$werror"
    elif [ "$current" != "$werror" ]; then
        say "reconfiguring $build/ (werror=$werror)"
        meson configure "$build" -Dwerror="$werror"
    fi
fi
say "building"
if ! ninja -C "$build"; then
    echo "quickstart: the build failed" >&2
    # The test job's last line is the count line even when nothing ran.
    [ "$mode" = test ] && echo "0 passed, 1 failed"
    exit 1
fi

dyt="$build/cli/dytbench"

# --- 3a. Main job: the quick suite and its report ----------------------------
if [ "$mode" = run ]; then
    "$dyt" --version
    say "running the quick suite into results/dytbench.db"
    "$dyt" run
    say "rendering the report"
    "$dyt" report latest
    exit 0
fi

# --- 3b. Test job: every test, then the count line ---------------------------
say "running the tests"
rc=0
meson test -C "$build" --print-errorlogs || rc=$?
log="$build/meson-logs/testlog.json"
if [ ! -f "$log" ]; then
    echo "quickstart: $log not found (meson test exit $rc)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
# --- 3c. Fuzzing: each target of tests/fuzz, FUZZ_SECONDS (25) each ---------
# A build of its own (clang, libFuzzer, ASan+UBSan); each target is a meson
# test of suite `fuzz`, counted below; a crash fails it. Inputs it finds and
# crashes stay in build-fuzz/tests/fuzz/runs/.
fuzz_build=build-fuzz
fuzz_log=
fuzz_broken=0
if command -v clang >/dev/null 2>&1; then
    say "fuzzing (${FUZZ_SECONDS:-25} s per target, $fuzz_build/)"
    if [ ! -f "$fuzz_build/build.ninja" ]; then
        CC=clang meson setup "$fuzz_build" -Dfuzz=enabled -Dwerror="$werror" -Dcuda=disabled \
            -Donednn=disabled -Dfuzz_seconds="${FUZZ_SECONDS:-25}" || fuzz_broken=1
    else
        meson configure "$fuzz_build" -Dfuzz_seconds="${FUZZ_SECONDS:-25}" || fuzz_broken=1
    fi
    targets=(tests/fuzz/fuzz_suite tests/fuzz/fuzz_vectors tests/fuzz/fuzz_options
             tests/fuzz/fuzz_store)
    if [ "$fuzz_broken" = 0 ] && ninja -C "$fuzz_build" "${targets[@]}"; then
        meson test -C "$fuzz_build" --suite fuzz --no-rebuild --print-errorlogs || rc=$?
        fuzz_log="$fuzz_build/meson-logs/testlog.json"
    else
        echo "quickstart: the fuzz build failed" >&2
        fuzz_broken=1
    fi
else
    echo "quickstart: clang not found: the fuzz targets did not run" >&2
    fuzz_broken=1
fi

counts="$(python3 - "$fuzz_broken" "$log" $fuzz_log <<'EOF'
import json, sys
passed = skipped = 0
failed = int(sys.argv[1])  # fuzzing that could not run counts as a failure
for path in sys.argv[2:]:
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line).get("result")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS
                failed += 1
s = f"{passed} passed, {failed} failed"
if skipped:
    s += f", {skipped} skipped"
print(s)
EOF
)"
echo "$counts"
failed="${counts#*, }"
failed="${failed%% failed*}"
[ "$failed" -eq 0 ] || exit 1
exit "$rc"
