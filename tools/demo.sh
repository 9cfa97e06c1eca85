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
"$here/cowload" --hold 4 >/dev/null &
load=$!
sleep 2
"$here/cowstat"
wait "$load"

echo
echo "=== bpftrace tools/bpftrace/cow_breaks.bt around the same workload"
log=$(mktemp)
timeout -s INT 240 bpftrace "$here/bpftrace/cow_breaks.bt" >"$log" 2>&1 &
trace=$!
for _ in $(seq 180); do
	grep -q '^Attaching' "$log" && break
	sleep 1
done
"$here/cowload" >/dev/null
kill -INT "$trace"
wait "$trace" || true
grep -v '^$' "$log"
rm -f "$log"

echo
"$here/cowdemo" --python --objects 100000

echo
"$here/cowdemo" --redis --keys 20000 --fractions "0 0.01 1"
