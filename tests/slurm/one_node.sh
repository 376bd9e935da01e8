#!/usr/bin/env bash
# docs/cluster.md's Slurm recipe, run for real: a one-node Slurm (Debian's slurm-wlm + munge, installed when
# missing, started here from a scratch folder) runs the documented job array and the report job that depends
# on it, on the smoke profile (the recipe's `--profile cpu --seeds 5` becomes `--profile smoke --seeds 2`) and a
# shared cache folder; then the report must exist and name every run a cache hit (the array trained them all).
# Opt-in: GPA_TEST_SLURM=1 deno test -A tests/slurm_test.ts (root and apt-get needed). Prints its timing.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
start=$(date +%s)

# Exit 3: this machine cannot run the test (not root, no apt-get, the packages would not install).
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
    { echo "slurm test: needs root and apt-get to install slurm-wlm and munge"; exit 3; }
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge; } >/dev/null 2>&1 ||
    { echo "slurm test: slurm-wlm and munge could not be installed"; exit 3; }
fi

tmp=$(mktemp -d /tmp/gpa-slurm-XXXXXX)
chmod 755 "$tmp"
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
pids=()
cleanup() {
  scontrol -Q shutdown >/dev/null 2>&1 || true # slurmctld and slurmd of this test only (its own SLURM_CONF)
  for f in "$tmp"/slurmd.pid "$tmp"/slurmctld.pid "$tmp"/munged.pid; do
    [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  sleep 1
  rm -rf "$tmp"
}
trap cleanup EXIT

# munge: a key and a daemon of our own (socket in the scratch folder).
mkdir -p "$tmp/munge" "$tmp/spool/ctld" "$tmp/spool/d" "$tmp/logs" "$tmp/nodata"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "$tmp/munge"
chmod 400 "$tmp/munge/munge.key"
munged --force --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/munge.sock" \
  --pid-file="$tmp/munged.pid" --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/munge.seed"

export SLURM_CONF="$tmp/slurm.conf"
cat >"$SLURM_CONF" <<CONF
ClusterName=gpa-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/munge.sock
CredType=cred/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$tmp/spool/ctld
SlurmdSpoolDir=$tmp/spool/d
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -f "$SLURM_CONF"
nice -n 19 slurmd -f "$SLURM_CONF" # the jobs inherit its niceness: they never slow the machine's other work
for _ in $(seq 1 60); do
  sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix)' && break
  sleep 1
done
sinfo -h -o %t | grep -qE '^(idle|mix)' || { cat "$tmp"/slurm*.log; echo "slurm test: the node never came up"; exit 1; }

# The documented job script and its two submit commands, taken from docs/cluster.md as they are written.
awk '/^## Slurm/ {on=1} on && /^```sh$/ {inblock=1; next} inblock && /^```$/ {exit} inblock {print}' \
  "$ROOT/docs/cluster.md" >"$tmp/table1-array.sh"
scale() { sed -e 's/--profile cpu --seeds 5/--profile smoke --seeds 2/g'; }
scale <"$tmp/table1-array.sh" >"$tmp/array.sh"
submit_array=$(grep -E '^#   jid=' "$tmp/table1-array.sh" | sed 's/^#   //' | scale)
submit_report=$(grep -E '^#   sbatch --dependency' "$tmp/table1-array.sh" | sed 's/^#   //' | scale)
[ -n "$submit_array" ] && [ -n "$submit_report" ] || { echo "slurm test: no submit commands in docs/cluster.md"; exit 1; }
grep -q -- '--shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}"' "$tmp/array.sh"

# The shared folders the recipe names, here in the scratch folder; 1 GB a task is plenty for smoke.
sed -i -e "s|/shared/gpa-cache|$tmp/cache|" -e "s|/shared/datasets|$tmp/nodata|" -e 's|--mem=16G|--mem=1G|' \
  -e "s|--output=logs/|--output=$tmp/logs/|" "$tmp/array.sh"
export CACHE="$tmp/cache"
cd "$ROOT"
eval "${submit_array/table1-array.sh/$tmp/array.sh}"
echo "array job $jid"
submit_report=${submit_report/sbatch /sbatch --parsable --output=$tmp/logs/report-%j.out }
report_jid=$(eval "${submit_report/--cache-dir \$CACHE\"/--cache-dir \$CACHE --reports-dir $tmp/reports\"}")
report_jid=${report_jid%%;*}
echo "report job $report_jid"

state() { scontrol show job "$1" 2>/dev/null | grep -oE 'JobState=[A-Z_]+' | sort -u | tr '\n' ' '; }
for _ in $(seq 1 600); do
  s=$(state "$report_jid")
  case "$s" in *COMPLETED*|*FAILED*|*CANCELLED*|*TIMEOUT*) break ;; esac
  case "$(state "$jid")" in *FAILED*|*CANCELLED*|*TIMEOUT*) echo "array: $(state "$jid")"; break ;; esac
  sleep 2
done
echo "array: $(state "$jid")"
echo "report: $(state "$report_jid")"
tail -n 5 "$tmp"/logs/*.out || true
grep -q 'JobState=COMPLETED' <(scontrol show job "$report_jid")
md="$tmp/reports/smoke/table1.md"
[ -s "$md" ] || { echo "slurm test: no report $md"; exit 1; }
hits=$(grep -oE '\| Cache hits \| [0-9]+ of [0-9]+ runs \|' "$md")
echo "report: $hits"
n=$(echo "$hits" | sed -E 's/.* ([0-9]+) of ([0-9]+) runs.*/\1 \2/')
[ "${n% *}" = "${n#* }" ] || { echo "slurm test: the report trained runs the array should have"; exit 1; }
echo "slurm test: ok in $(( $(date +%s) - start )) s (array tasks: $(ls "$tmp"/logs/gpa-table1-*.out | wc -l))"
