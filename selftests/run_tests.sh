#!/bin/bash
# Runs inside the test VM: loads the module, runs every selftest program,
# unloads the module. Prints each program's KTAP output, writes the totals
# "pass fail skip" to the file named by $1 (when given) and exits non-zero
# when anything failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
module="$here/../module/cowmem.ko"
results=${1:-}
# Every timeout here is for an idle host, times the boot's slowness
# (COWMEM_SLOW, from scripts/vm-init; the selftests scale their own).
slow=${COWMEM_SLOW:-1}
idle_timeout=${COWMEM_TEST_TIMEOUT:-300}
per_test_timeout=$((idle_timeout * slow))
pass=0
fail=0
skip=0

finish() {
	[[ -n "$results" ]] && echo "$pass $fail $skip" >"$results"
	((fail == 0))
	exit
}

if ! insmod "$module"; then
	echo "not ok - insmod $module"
	fail=1
	finish
fi
echo "ok - insmod cowmem ($(uname -r))"
pass=$((pass + 1))

log=$(mktemp)

# Runs one kselftest program, adding its KTAP totals to the counts. A
# program that crashed, hung or exited non-zero without reporting a failed
# test still counts as one failure.
run_program() {
	local test=$1 name rc totals counted=0

	name=$(basename "$test")
	echo "# ===== $name"
	timeout -k 5 "$per_test_timeout" "$test" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	if ((rc == 124)); then
		echo "# $name did not finish within ${per_test_timeout}s (${idle_timeout}s times slowness $slow): stopped"
	fi
	totals=$(grep -E '^# Totals: ' "$log" | tail -n 1)
	if [[ "$totals" =~ pass:([0-9]+)\ fail:([0-9]+)\ xfail:([0-9]+)\ xpass:([0-9]+)\ skip:([0-9]+)\ error:([0-9]+) ]]; then
		pass=$((pass + BASH_REMATCH[1] + BASH_REMATCH[3]))
		fail=$((fail + BASH_REMATCH[2] + BASH_REMATCH[4] + BASH_REMATCH[6]))
		skip=$((skip + BASH_REMATCH[5]))
		counted=$((BASH_REMATCH[2] + BASH_REMATCH[4] + BASH_REMATCH[6]))
	fi
	if ((rc == 4 && counted == 0)) && [[ -z "$totals" ]]; then
		skip=$((skip + 1))
	elif ((rc != 0 && counted == 0)); then
		echo "not ok - $name exited with status $rc"
		fail=$((fail + 1))
	fi
}

for test in "$here"/cowmem_*; do
	[[ -x "$test" && -f "$test" ]] || continue
	run_program "$test"
done

# Runs a test script of the tools where the program it needs exists: one
# ok/not ok line for its exit status, or a skip naming what is missing.
run_script() {
	local what=$1 needs=$2 seconds=$(($3 * slow)) script=$4 rc=0

	if ! command -v "$needs" >/dev/null; then
		echo "ok - $what # SKIP no $needs in this guest"
		skip=$((skip + 1))
		return
	fi
	timeout -k 10 "$seconds" "$script" || rc=$?
	if ((rc == 0)); then
		echo "ok - $what"
		pass=$((pass + 1))
	elif ((rc == 124)); then
		echo "not ok - $what ($script did not finish within ${seconds}s)"
		fail=$((fail + 1))
	else
		echo "not ok - $what ($script)"
		fail=$((fail + 1))
	fi
}

# The bpftrace tools, all at once around a workload (each bpftrace start
# compiles for tens of seconds under TCG): one test.
run_script "bpftrace tools saw the workload" bpftrace 600 \
	"$here/../tools/bpftrace/run_all.sh"
# cowstat --map in an 80x24 tmux pane beside the kernel's own COW.
run_script "cowstat --map draws the views and the kernel's own COW alike" tmux 180 \
	"$here/../tools/test-map.sh"

# Every process of the run is gone: the module must hold nothing any more.
stats=/sys/kernel/debug/cowmem/stats
held=$(grep -E '^(regions|views|pages|shared_pages): ' "$stats" | grep -v ': 0$' || true)
if [[ -z "$held" ]]; then
	echo "ok - module holds no regions, views or pages after the run"
	pass=$((pass + 1))
else
	echo "not ok - module still holds after the run: $(echo "$held" | tr '\n' ' ')"
	fail=$((fail + 1))
fi

if rmmod cowmem; then
	echo "ok - rmmod cowmem"
	pass=$((pass + 1))
else
	echo "not ok - rmmod cowmem"
	fail=$((fail + 1))
fi

# Loading and unloading 100 times in a row leaves nothing behind.
reloads=0
for _ in $(seq 100); do
	if ! insmod "$module" || ! rmmod cowmem; then
		break
	fi
	reloads=$((reloads + 1))
done
if ((reloads == 100)) && ! grep -q '^cowmem ' /proc/modules &&
	[[ ! -e /sys/kernel/debug/cowmem && ! -e /dev/cowmem ]]; then
	echo "ok - 100 loads and unloads leave nothing behind"
	pass=$((pass + 1))
else
	echo "not ok - load/unload $reloads times, or something was left behind"
	fail=$((fail + 1))
fi

# The core alone (scripts/build-core), when given: it loads, its tests
# pass, and the features and observers are absent.
core_module=${COWMEM_CORE_MODULE:-}
if [[ -n "$core_module" ]]; then
	if insmod "$core_module"; then
		echo "ok - insmod the core alone"
		pass=$((pass + 1))
		COWMEM_FEATURES=n run_program "$here/cowmem_core"
		if rmmod cowmem; then
			echo "ok - rmmod the core alone"
			pass=$((pass + 1))
		else
			echo "not ok - rmmod the core alone"
			fail=$((fail + 1))
		fi
	else
		echo "not ok - insmod $core_module"
		fail=$((fail + 1))
	fi
fi
rm -f "$log"
finish
