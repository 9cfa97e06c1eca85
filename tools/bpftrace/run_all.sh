#!/bin/bash
# Runs the four bpftrace tools at once around a small workload (tools/cowload
# forks and writes, tools/cowdemo --snapshot and --merge), prints what each
# of them printed, and fails unless each one saw the workload. For the test VM, as root, with the module loaded:
#
#   scripts/vm --timeout 600 -- bash -c 'insmod module/cowmem.ko &&
#       tools/bpftrace/run_all.sh; rc=$?; rmmod cowmem; exit $rc'
#
# Each bpftrace runs a sleep as its -c command: bpftrace starts that command
# only once every probe is attached, so the sleep's start is the sign to run
# the workload ("Attaching N probes" and BEGIN's banner come before the
# probes are on, in bpftrace 0.17), and the sleep's end makes bpftrace print
# its maps and exit.
#
# Nothing waits unbounded: bpftrace gets ATTACH_WAIT seconds (default 150;
# compiling takes tens of seconds under TCG) to attach, the workload 120 s,
# and each bpftrace is killed after TRACE_LIMIT seconds (default 400) anyway;
# each of these is for an idle host, times COWMEM_SLOW (scripts/vm-init) on
# a busy one.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cowload=$here/../cowload
cowdemo=$here/../cowdemo
scripts=(cow_breaks faults_top fork_timeline snapshots)
sleep_bin=$(type -P sleep)
slow=${COWMEM_SLOW:-1}
idle_attach_wait=${ATTACH_WAIT:-150}
attach_wait=$((idle_attach_wait * slow))
trace_limit=$((${TRACE_LIMIT:-400} * slow))

[[ -d /sys/kernel/tracing/events/cowmem ]] || {
	echo "run_all: no cowmem tracepoints: load module/cowmem.ko first (as root)" >&2
	exit 1
}
[[ -x "$cowload" && -x "$cowdemo" ]] || {
	echo "run_all: $cowload or $cowdemo is not built: run 'make tools'" >&2
	exit 1
}

logs=$(mktemp -d)
declare -A pids=()

# The sleep bpftrace started for script $1 once its probes were on, if any:
# bpftrace is the child of timeout (pids[$1]), the sleep bpftrace's.
tracer_sleep() {
	local tracer

	tracer=$(pgrep -P "${pids[$1]}" -x bpftrace) || return 1
	pgrep -P "$tracer" -x sleep
}

# Ending its sleep makes a bpftrace print its maps and exit (it looks for
# its command's exit every 100 ms). Printing them can take tens of seconds
# under TCG on a busy host: 30 s was once too little for cow_breaks.bt.
stop_all() {
	local s sleeper deadline=$((SECONDS + 90 * slow))

	for s in "${!pids[@]}"; do
		if sleeper=$(tracer_sleep "$s"); then
			kill "$sleeper" 2>/dev/null || true
		else
			kill -INT "${pids[$s]}" 2>/dev/null || true
		fi
	done
	for s in "${!pids[@]}"; do
		while kill -0 "${pids[$s]}" 2>/dev/null && ((SECONDS < deadline)); do
			sleep 0.5
		done
		if kill -0 "${pids[$s]}" 2>/dev/null; then
			echo "run_all: $s.bt had not printed its maps and exited within $((90 * slow))s of its command's end: stopping it" >&2
			kill -TERM "${pids[$s]}" 2>/dev/null || true
		fi
		wait "${pids[$s]}" 2>/dev/null || true
		unset "pids[$s]"
	done
}
trap 'stop_all; rm -rf "$logs"' EXIT

wait_attached() {
	local s deadline=$((SECONDS + attach_wait))

	for s in "${scripts[@]}"; do
		until tracer_sleep "$s" >/dev/null; do
			if ! kill -0 "${pids[$s]}" 2>/dev/null; then
				echo "run_all: $s.bt stopped before attaching" >&2
				return 1
			fi
			if ((SECONDS >= deadline)); then
				echo "run_all: $s.bt did not attach within ${attach_wait}s (${idle_attach_wait} s times slowness $slow)" >&2
				return 1
			fi
			sleep 1
		done
	done
}

show_logs() {
	local s

	for s in "${scripts[@]}"; do
		printf '\n===== %s.bt =====\n' "$s"
		cat "$logs/$s.log"
	done
	echo
}

# check NAME REGEX WHAT: does NAME's output hold a line matching REGEX?
failed=0
check() {
	if grep -Eq "$2" "$logs/$1.log"; then
		echo "run_all: $1.bt: ok, $3"
	else
		echo "run_all: $1.bt: FAILED, no $3"
		failed=1
	fi
}

# timeout's -k counts from any signal it passes on: it must outlast
# stop_all's wait for the maps, or a bpftrace still printing them is killed.
# The sleep is a bound too (it starts once the probes are on, so timeout,
# counting from the start, may signal first: either way bpftrace prints
# its maps and exits).
for s in "${scripts[@]}"; do
	timeout -k $((100 * slow)) "$trace_limit" bpftrace \
		-c "$sleep_bin $((trace_limit - 10))" "$here/$s.bt" >"$logs/$s.log" 2>&1 &
	pids[$s]=$!
done
echo "run_all: started ${scripts[*]}; waiting up to ${attach_wait}s for them to attach"
start=$SECONDS
if ! wait_attached; then
	stop_all
	show_logs
	exit 1
fi
echo "run_all: all attached after $((SECONDS - start))s; running cowload and cowdemo"

workload=0
timeout -k 5 $((120 * slow)) "$cowload" || workload=$?
for mode in --snapshot --merge; do
	timeout -k 5 $((60 * slow)) "$cowdemo" "$mode" >/dev/null || workload=$?
done
stop_all
show_logs
if ((workload)); then
	echo "run_all: the workload FAILED (exit $workload)"
	failed=1
fi
check cow_breaks '^@cow_breaks\[cowload, [0-9]+\]: [1-9]' "COW breaks of cowload"
check cow_breaks '^@reuses\[cowload, [0-9]+\]: [1-9]' "reuses of cowload"
check cow_breaks '^@copy_ns\[cowload\]:' "copy-time histogram of cowload"
check faults_top '^@faults\[[0-9]+, cowload, [0-9]+, (read|write|zero)\]: [1-9]' \
	"fault rows of cowload"
check faults_top '^@faults\[[0-9]+, cowload, [0-9]+, zero\]: [1-9]' "zero-page reads"
check fork_timeline '^ *[0-9]+ +clone +[0-9]+ +[0-9]+ +[0-9]+ +cowload ' "clone of cowload"
check fork_timeline '^ *[0-9]+ +child-write +[0-9]+ +[0-9]+ +[0-9]+ +cowload +[0-9]+ ' \
	"child first-write delta"
check fork_timeline '^ *[0-9]+ +parent-write +[0-9]+ +[0-9]+ +[0-9]+ +cowload +[0-9]+ ' \
	"parent first-write delta"
check snapshots '^ *[0-9]+ +snapshot +[0-9]+ +cowdemo +view [0-9]+ -> snapshot [0-9]+, [0-9]+ pages shared' \
	"snapshot by cowdemo"
check snapshots '^ *[0-9]+ +rollback +[0-9]+ +cowdemo +view [0-9]+ <- snapshot [0-9]+, [0-9]+ pages, [1-9][0-9]* freed' \
	"rollback that freed pages"
check snapshots '^ *[0-9]+ +merge +[0-9]+ +cowdemo +region [0-9]+\+0: [1-9][0-9]* scanned, [1-9][0-9]* freed' \
	"merge that freed pages"
exit "$failed"
