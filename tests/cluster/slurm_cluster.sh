#!/bin/bash
# A real Slurm cluster in the tests: brings up a single-node Slurm on this
# machine -- a munge key and munged, a minimal slurm.conf with this
# machine's cores and memory (slurmd -C), slurmctld and slurmd as daemons
# with the process tracking and task plugins that need no cgroups
# (proctrack/pgid, task/none), all of it in a scratch folder on free ports
# -- and tears it down after. Then, through `dytbench slurm submit`:
#   1. a 4-shard campaign of a small suite runs as a job array (one task at
#      a time: every task asks for the whole node) and its merge job after
#      it: every shard complete, the merged store has as many cases as an
#      unsharded run of the same plan, the report is written, nothing is
#      missing;
#   2. a second campaign whose shard 2 is killed with scancel while it runs
#      and shard 4 cancelled before it starts: the merge job still runs and
#      the report names every case they did not store.
# Skips (77), saying why, where Slurm or munge is not installed or this is
# not root (slurmd starts jobs as their users). Prints the figures of the
# run (shards, cases, seconds, the set-up each shard paid).
#
# $1: the dytbench binary.
set -u
exe=$(realpath "$1") || exit 1
for p in munged slurmctld slurmd sbatch squeue scancel sacct scontrol; do
    command -v "$p" >/dev/null 2>&1 || {
        echo "SKIP: $p is not installed (apt-get install slurmctld slurmd slurm-client munge)"
        exit 77
    }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: a Slurm node needs root (slurmd)"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is needed to read the stores"; exit 77; }

t0=$(date +%s.%N)
tmp=$(mktemp -d /tmp/dytbench-slurm-XXXXXX) || exit 1
chmod 755 "$tmp"
unset $(env | sed -n 's/^\(SLURM_[A-Z_]*\)=.*/\1/p')
pids=()
teardown() {
    for f in "$tmp"/slurmd.pid "$tmp"/slurmctld.pid "$tmp"/munge/munged.pid; do
        [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    sleep 1
    for f in "$tmp"/slurmd.pid "$tmp"/slurmctld.pid "$tmp"/munge/munged.pid; do
        [ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap teardown EXIT
fail() {
    echo "FAIL: $*"
    for log in "$tmp"/log/*.log "$tmp"/munge/munged.log; do
        [ -f "$log" ] && { echo "--- $log"; tail -20 "$log"; }
    done
    exit 1
}
q() { python3 -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' "$@"; }

# --- munge -------------------------------------------------------------------
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/log"
chmod 700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$tmp/munge/munge.key"
sock="$tmp/munge/munge.socket"
# --force: the scratch folder is not munge's own /run/munge.
munged --force --socket="$sock" --key-file="$tmp/munge/munge.key" \
    --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" \
    --seed-file="$tmp/munge/munged.seed" || fail "munged did not start"
munge -S "$sock" -n | unmunge -S "$sock" >/dev/null || fail "munge does not work"

# --- slurm.conf: this machine, free ports ------------------------------------
read -r ctld_port slurmd_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
node=$(slurmd -C | sed -n 's/^NodeName=[^ ]* //p' | head -1)
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<< "$node")
mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<< "$node")
[ -n "$cpus" ] && [ -n "$mem" ] || fail "slurmd -C gave no CPUs/RealMemory: $node"
node=$(sed "s/RealMemory=[0-9]*/RealMemory=$((mem * 9 / 10))/" <<< "$node")
host=$(hostname -s)
cat > "$tmp/slurm.conf" <<EOF
ClusterName=dytbench-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=600
KillWait=10
InactiveLimit=0
NodeName=dytnode NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=test Nodes=dytnode Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$tmp/slurm.conf"
slurmctld -i || fail "slurmctld did not start"
slurmd -N dytnode || fail "slurmd did not start"
for i in $(seq 1 60); do
    sinfo -h -N -o '%t' 2>/dev/null | grep -qE '^idle' && break
    sleep 0.5
done
sinfo -h -N -o '%t' | grep -qE '^idle' || fail "the node did not come up: $(sinfo -N 2>&1)"
t_up=$(date +%s.%N)
echo "cluster up: 1 node, $cpus CPUs, $((mem * 9 / 10)) MB (ports $ctld_port, $slurmd_port)"

# --- the suite and an unsharded run of it ------------------------------------
cp "$(dirname "$(realpath "$0")")/tiny.suite" "$tmp/tiny.suite" || fail "no tiny.suite"
fast=(--suite "$tmp/tiny.suite" --threads 1 --min-time 0.001 --max-time 0.01 --min-samples 3
      --llc-bytes 1M)
"$exe" run "${fast[@]}" --db "$tmp/whole.db" -q > /dev/null || fail "unsharded run failed"
whole=$(q "$tmp/whole.db" "SELECT count(*) FROM cases")

# Waits (up to $2 s) until none of the jobs $1 is queued or running.
wait_jobs() {
    for i in $(seq 1 $(( $2 * 2 ))); do
        [ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return 0
        sleep 0.5
    done
    fail "jobs $1 still queued after $2 s: $(squeue -j "$1")"
}

# --- 1. a whole campaign -----------------------------------------------------
"$exe" slurm submit --shards 4 --out "$tmp/a" "${fast[@]}" > "$tmp/a.txt" 2>&1 ||
    fail "submit: $(cat "$tmp/a.txt")"
cat "$tmp/a.txt"
array=$(sed -n 's/.*array job \([0-9]*\).*/\1/p' "$tmp/a.txt")
merge=$(sed -n 's/.*merge job \([0-9]*\).*/\1/p' "$tmp/a.txt")
[ -n "$array" ] && [ -n "$merge" ] || fail "no job ids in: $(cat "$tmp/a.txt")"
t_a=$(date +%s.%N)
wait_jobs "$array,$merge" 120
t_a_end=$(date +%s.%N)
for i in 1 2 3 4; do
    [ "$(q "$tmp/a/shards/shard-$i.db" "SELECT status FROM runs")" = complete ] ||
        fail "shard $i is not complete: $(cat "$tmp/a/logs/shard-$i.out")"
done
cat "$tmp/a/logs/merge.out"
merged=$(q "$tmp/a/merged.db" "SELECT count(*) FROM cases")
[ "$merged" -eq "$whole" ] || fail "merged $merged cases, the unsharded run $whole"
[ "$(q "$tmp/a/merged.db" "SELECT count(DISTINCT seq) FROM cases")" -eq "$whole" ] ||
    fail "a case is stored twice"
[ "$(q "$tmp/a/merged.db" "SELECT count(DISTINCT campaign) || '/' || min(campaign) FROM runs")" = "1/$array" ] ||
    fail "the shards' campaign is not the array job id"
[ -s "$tmp/a/report/report.md" ] && [ -s "$tmp/a/report/index.html" ] || fail "no report"
grep -q 'Planned cases no run stored' "$tmp/a/report/report.md" && fail "a whole campaign reports missing cases"
grep -q "$whole of the plan's $whole cases are stored" "$tmp/a/report/report.md" ||
    fail "the report does not say every case is stored"
# Never two tasks at once on the node: their runs do not overlap in time.
overlap=$(python3 - "$tmp/a/shards" <<'EOF'
import sqlite3, sys, glob
spans = []
for db in glob.glob(sys.argv[1] + "/shard-*.db"):
    spans.append(sqlite3.connect(db).execute("SELECT started_at, ended_at FROM runs").fetchone())
spans.sort()
print(sum(1 for a, b in zip(spans, spans[1:]) if b[0] < a[1]))
EOF
)
[ "$overlap" = 0 ] || fail "$overlap shard(s) ran beside another"
setup=$(grep -h '^set-up:' "$tmp"/a/logs/shard-*.out | sed 's/set-up: //')

# --- 2. a shard killed with scancel, another cancelled before it starts ------
slow=(--suite "$tmp/tiny.suite" --threads 1 --min-time 0.7 --max-time 0.8 --max-samples 1000000
      --llc-bytes 1M)
"$exe" slurm submit --shards 4 --out "$tmp/b" "${slow[@]}" > "$tmp/b.txt" 2>&1 ||
    fail "submit: $(cat "$tmp/b.txt")"
array_b=$(sed -n 's/.*array job \([0-9]*\).*/\1/p' "$tmp/b.txt")
merge_b=$(sed -n 's/.*merge job \([0-9]*\).*/\1/p' "$tmp/b.txt")
scancel "${array_b}_4" || fail "scancel of a pending task failed"
# Shard 2 is killed once it has stored a case, while it still has others.
for i in $(seq 1 240); do
    n=$(q "$tmp/b/shards/shard-2.db" "SELECT count(*) FROM cases" 2>/dev/null)
    [ -n "$n" ] && [ "$n" -ge 1 ] && break
    sleep 0.25
done
[ -n "$n" ] && [ "$n" -ge 1 ] || fail "shard 2 never stored a case: $(cat "$tmp/b/logs/shard-2.out")"
scancel "${array_b}_2" || fail "scancel of a running task failed"
wait_jobs "$array_b,$merge_b" 120
cat "$tmp/b/logs/merge.out"
[ "$(q "$tmp/b/shards/shard-2.db" "SELECT status FROM runs")" = aborted ] ||
    fail "the killed shard's run is not aborted"
[ ! -e "$tmp/b/shards/shard-4.db" ] || fail "the cancelled shard stored something"
grep -q 'shard 4/4 stored nothing' "$tmp/b/logs/merge.out" || fail "the merge job does not name shard 4"
report="$tmp/b/report/report.md"
[ -s "$report" ] || fail "no report of the broken campaign"
grep -q '## Planned cases no run stored' "$report" || fail "the report lists no missing case"
grep -q '| 4/4 |  |  | no run stored |' "$report" || fail "the report does not name shard 4"
stored=$(q "$tmp/b/merged.db" "SELECT count(*) FROM cases")
missing=$(python3 - "$tmp/b/merged.db" "$report" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
have = {r[0] for r in db.execute("SELECT seq FROM cases")}
text = open(sys.argv[2]).read()
n = 0
for seq, shard, model, norm in db.execute(
        "SELECT seq, shard_index, model, norm FROM campaign_cases ORDER BY seq"):
    if seq in have:
        continue
    n += 1
    if f"| {seq} | {shard + 1}/4 | {model}" not in text:
        print(f"missing case {seq} (shard {shard + 1}) is not in the report", file=sys.stderr)
        sys.exit(1)
print(n)
EOF
) || fail "the report does not name every missing case"
[ $((stored + missing)) -eq "$whole" ] || fail "stored $stored + missing $missing != $whole"
[ "$missing" -gt 0 ] || fail "nothing is missing after a kill"
t_end=$(date +%s.%N)

python3 - "$t0" "$t_up" "$t_a" "$t_a_end" "$t_end" "$whole" "$stored" "$missing" <<EOF
import sys
t0, up, a, a_end, end = map(float, sys.argv[1:6])
whole, stored, missing = sys.argv[6:9]
print(f"cluster test: cluster up in {up - t0:.1f} s; campaign 1: 4 shards, {whole} cases "
      f"(= the unsharded run), array + merge + report in {a_end - a:.1f} s; campaign 2: "
      f"{stored} cases stored, {missing} named missing; whole test {end - t0:.1f} s")
EOF
echo "set-up per shard (campaign 1):"
echo "$setup" | sed 's/^/  /'
exit 0
