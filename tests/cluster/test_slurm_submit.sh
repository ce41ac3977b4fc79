#!/bin/bash
# `dytbench slurm submit` without a cluster: a stand-in sbatch on PATH logs
# its arguments and answers job ids as `sbatch --parsable` does. Checked:
# --dry-run prints both scripts and writes and submits nothing; bad options
# (and run options submit sets itself) exit 2 before anything is written;
# a submission writes array.sh and merge.sh, submits the array, then the
# merge job with --dependency=afterany:<array id> and the id as its
# argument, and prints the ids with squeue/sacct hints. Then the scripts
# are run as Slurm would run them -- array.sh once per task with the
# array's environment (one task left out, as if scancel'led before it
# started), merge.sh with the array id -- and the merged store and report
# are what they should be: the other shards' cases, the missing ones named;
# the missing task submitted again alone joins its campaign and the report
# becomes whole. A quote in a run option survives the script's quoting.
#
# $1: the dytbench binary.
set -u
exe=$(realpath "$1") || exit 1
tmp=$(mktemp -d /tmp/dytbench-submit-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$tmp" || exit 1
unset $(env | sed -n 's/^\(SLURM_[A-Z_]*\)=.*/\1/p')

cp "$(dirname "$(realpath "$0")")/tiny.suite" tiny.suite || exit 1
mkdir bin
cat > bin/sbatch <<'EOF'
#!/bin/bash
# Records the call; the array gets job 4100, the merge job 4101.
printf '%s\n' "$*" >> "$(dirname "$0")/calls"
case " $* " in
    *" --dependency="*) echo "4101;testcluster" ;;
    *) echo 4100 ;;
esac
EOF
chmod +x bin/sbatch
export PATH="$tmp/bin:$PATH"
run_opts=(--suite "$tmp/tiny.suite" --threads 1 --min-time 0.001 --max-time 0.01
          --min-samples 3 --llc-bytes 1M --label "it's a test")

# --- dry run: both scripts on stdout, nothing written or submitted ---------
"$exe" slurm submit --shards 3 --out "$tmp/dry" --partition cpu --time 0:30:00 \
    --account proj1 --constraint avx512 --dry-run "${run_opts[@]}" > dry.txt 2> dry.err ||
    fail "dry run exit $?: $(cat dry.err)"
grep -q '^#SBATCH --array=1-3$' dry.txt || fail "no array directive"
grep -q '^#SBATCH --exclusive$' dry.txt || fail "not exclusive by default"
grep -q '^#SBATCH --partition=cpu$' dry.txt || fail "no partition"
grep -q '^#SBATCH --time=0:30:00$' dry.txt || fail "no time"
grep -q '^#SBATCH --account=proj1$' dry.txt || fail "no account"
grep -q '^#SBATCH --constraint=avx512$' dry.txt || fail "no constraint"
grep -qF -- 'run --shard "$SLURM_ARRAY_TASK_ID/3" --campaign "$campaign" --resume auto' dry.txt ||
    fail "tasks do not run their shard of 3 with --resume auto"
grep -q '# .*merge.sh' dry.txt || fail "no merge script"
[ ! -e "$tmp/dry" ] || fail "--dry-run wrote $tmp/dry"
[ ! -e bin/calls ] || fail "--dry-run called sbatch"
"$exe" slurm submit --shards 2 --no-exclusive --dry-run --suite "$tmp/tiny.suite" |
    grep -q -- '--exclusive' && fail "--no-exclusive still exclusive"
# A GPU campaign, submitted from a host with or without a GPU.
"$exe" slurm submit --shards 2 --device cuda --dry-run --suite "$tmp/tiny.suite" \
    --out "$tmp/gpu" > gpu.txt 2> gpu.err || fail "GPU dry run exit $?: $(cat gpu.err)"
grep -q '^#SBATCH --gres=gpu:1$' gpu.txt || fail "GPU campaign without --gres gpu:1"
grep -q -- "--device 'cuda'" gpu.txt || fail "--device cuda not passed to the shards"
"$exe" slurm submit --shards 2 --device cuda --gres gpu:h100:1 --dry-run \
    --suite "$tmp/tiny.suite" 2>/dev/null | grep -q '^#SBATCH --gres=gpu:h100:1$' ||
    fail "--gres not kept"

# --- refused before anything is written ------------------------------------
refuse() { # why, then the arguments
    local why="$1"; shift
    "$exe" slurm "$@" > out.txt 2> err.txt
    local rc=$?
    [ $rc -eq 2 ] || fail "slurm $*: exit $rc, want 2"
    grep -q -- "$why" err.txt || fail "slurm $*: '$(cat err.txt)' lacks '$why'"
    [ ! -e "$tmp/never" ] || fail "slurm $*: wrote $tmp/never"
    [ ! -e bin/calls ] || fail "slurm $*: called sbatch"
}
refuse "want 'dytbench slurm submit" --shards 2 --out "$tmp/never"
refuse "--shards N is required" submit --out "$tmp/never"
refuse "the plan has only 12 case" submit --shards 13 --out "$tmp/never" --suite "$tmp/tiny.suite"
refuse "--db: set by slurm submit" submit --shards 2 --db x.db --out "$tmp/never"
refuse "--shard: set by slurm submit" submit --shards 2 --shard 1/2 --out "$tmp/never"
refuse "--resume: set by slurm submit" submit --shards 2 --resume auto --out "$tmp/never"
refuse "is not a Slurm time" submit --shards 2 --time 1:2:3:4 --out "$tmp/never"
refuse "an #SBATCH line cannot carry" submit --shards 2 --partition 'a b' --out "$tmp/never"
refuse "cannot be carried by #SBATCH lines" submit --shards 2 --out "$tmp/ne ver"
refuse "is not a campaign id" submit --shards 2 --campaign 'x/y' --out "$tmp/never"
refuse "unknown option '--bogus'" submit --shards 2 --bogus --out "$tmp/never"
refuse "unknown norm" submit --shards 2 --norm nope --out "$tmp/never"

# --- a submission ----------------------------------------------------------
"$exe" slurm submit --shards 3 --out "$tmp/camp" --time 10 "${run_opts[@]}" > sub.txt 2> sub.err ||
    fail "submit exit $?: $(cat sub.err)"
cat sub.txt
[ -x camp/array.sh ] && [ -x camp/merge.sh ] || fail "scripts not written"
[ -d camp/shards ] && [ -d camp/logs ] || fail "no shards/ or logs/"
[ "$(sed -n 1p bin/calls)" = "--parsable $tmp/camp/array.sh" ] ||
    fail "array submitted as: $(sed -n 1p bin/calls)"
[ "$(sed -n 2p bin/calls)" = "--parsable --dependency=afterany:4100 $tmp/camp/merge.sh 4100" ] ||
    fail "merge submitted as: $(sed -n 2p bin/calls)"
grep -q 'campaign 4100: array job 4100 (3 shards), merge job 4101' sub.txt || fail "no job ids"
grep -q 'squeue -j 4100,4101' sub.txt || fail "no squeue hint"
grep -q 'sacct -j 4100,4101' sub.txt || fail "no sacct hint"
grep -q "$tmp/camp/report/index.html" sub.txt || fail "no report path"
[ "$(cat camp/campaign)" = 4100 ] || fail "the campaign id is not recorded in camp/campaign"
"$exe" slurm submit --shards 3 --out "$tmp/camp" "${run_opts[@]}" > /dev/null 2> again.err
[ $? -eq 2 ] && grep -q 'already holds a campaign' again.err || fail "same --out accepted twice"

# --- the scripts as Slurm runs them: tasks 1 and 3, task 2 cancelled -------
for task in 1 3; do
    SLURM_JOB_ID=$((4100 + task + 1)) SLURM_ARRAY_JOB_ID=4100 SLURM_ARRAY_TASK_ID=$task \
        SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=3 SLURM_ARRAY_TASK_COUNT=3 \
        bash camp/array.sh > "camp/logs/shard-$task.out" 2>&1 ||
        fail "task $task: exit $?: $(cat camp/logs/shard-$task.out)"
done
bash camp/merge.sh 4100 > camp/logs/merge.out 2>&1
rc=$?
cat camp/logs/merge.out
[ $rc -eq 0 ] || fail "merge.sh exit $rc"
grep -q 'shard 2/3 stored nothing' camp/logs/merge.out || fail "the missing shard is not named"
[ -s camp/report/report.md ] || fail "no report"
grep -q '## Planned cases no run stored' camp/report/report.md || fail "no missing cases table"
grep -q '| 2/3 |  |  | no run stored |' camp/report/report.md || fail "shard 2 not listed"
q() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$@"; }
stored=$(q camp/merged.db "SELECT count(*) FROM cases")
owed=$(q camp/merged.db "SELECT count(*) FROM campaign_cases WHERE shard_index = 1")
[ "$((stored + owed))" -eq 12 ] || fail "stored $stored + missing $owed != 12"
[ "$(q camp/merged.db "SELECT count(DISTINCT label) FROM runs")" = 1 ] || fail "labels differ"
[ "$(q camp/merged.db "SELECT label FROM runs LIMIT 1")" = "it's a test" ] ||
    fail "the label's quote did not survive: $(q camp/merged.db 'SELECT label FROM runs LIMIT 1')"
[ "$(q camp/merged.db "SELECT group_concat(DISTINCT campaign) FROM runs")" = 4100 ] ||
    fail "campaign is not the array job id"

# --- task 2 submitted again alone (sbatch --array=2 array.sh): a new job id,
# an array of one, yet shard 2/3 of campaign 4100; merged again, whole ----
SLURM_JOB_ID=4300 SLURM_ARRAY_JOB_ID=4300 SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=2 \
    SLURM_ARRAY_TASK_MAX=2 SLURM_ARRAY_TASK_COUNT=1 \
    bash camp/array.sh > camp/logs/shard-2.out 2>&1 || fail "task 2 again: $(cat camp/logs/shard-2.out)"
[ "$(q camp/shards/shard-2.db "SELECT campaign || ' ' || shard_index || '/' || shard_count FROM runs")" = "4100 1/3" ] ||
    fail "task 2 again is not shard 2/3 of campaign 4100"
bash camp/merge.sh 4300 > camp/logs/merge.out 2>&1 || fail "merge again: $(cat camp/logs/merge.out)"
[ "$(q camp/merged.db "SELECT count(*) FROM cases")" -eq 12 ] || fail "not whole after task 2 ran"
grep -q 'Planned cases no run stored' camp/report/report.md && fail "still missing cases"
grep -q "12 of the plan's 12 cases are stored" camp/report/report.md || fail "report not whole"
echo "slurm submit: ok"
exit 0
