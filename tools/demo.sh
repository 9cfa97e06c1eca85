#!/bin/bash
# Runs inside the test VM for `make demo`: loads the module, narrates the
# seed scenario with cowdemo, then a snapshot-and-rollback transaction
# (cowdemo --snapshot) and same-page merging (cowdemo --merge), shows the
# views with cowstat while a workload holds them, then watches COW breaks
# live with bpftrace around the same workload, then programs people know
# under cowrun (a Python child that only reads, Redis's BGSAVE), and unloads
# the module.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
insmod "$here/../module/cowmem.ko"
trap 'rmmod cowmem' EXIT
export NO_COLOR=1

"$here/cowdemo"

echo
echo "=== cowdemo --snapshot: a transaction rolled back"
"$here/cowdemo" --snapshot

echo
echo "=== cowdemo --merge: same-page merging across a parent and its child"
"$here/cowdemo" --merge

echo
echo "=== cowstat, while cowload holds a parent and 3 forked children"
# cowload says "holding" once every child wrote: cowstat then sees them all.
out=$(mktemp)
"$here/cowload" --hold 4 >"$out" &
load=$!
while kill -0 "$load" 2>/dev/null && ! grep -q holding "$out"; do
	sleep 0.2
done
"$here/cowstat"
wait "$load"
rm -f "$out"

echo
echo "=== bpftrace tools/bpftrace/cow_breaks.bt around the same workload"
# -c starts its command once every probe is attached, and the trace ends
# when it exits. (bpftrace prints "Attaching N probes" before it attaches
# them: a workload started on that line can run, in part or whole,
# untraced.) -c splits its command at spaces and ignores its exit status:
# the command is a script of ours that runs cowload and keeps its status.
log=$(mktemp) job=$(mktemp) status=$(mktemp)
printf 'cd %q && ./cowload >/dev/null; echo $? >%q\n' "$here" "$status" >"$job"
trace_rc=0
timeout -s INT 600 bpftrace -o "$log" -c "/bin/bash $job" "$here/bpftrace/cow_breaks.bt" \
	>/dev/null || trace_rc=$?
grep -v '^$' "$log" || true
cowload_rc=$(<"$status")
rm -f "$log" "$job" "$status"
if ((trace_rc)) || [[ $cowload_rc != 0 ]]; then
	echo "demo: bpftrace exited $trace_rc, cowload ${cowload_rc:-not at all}" >&2
	exit 1
fi

echo
"$here/cowdemo" --python --objects 100000

echo
"$here/cowdemo" --redis --keys 20000 --fractions "0 0.01 1"
