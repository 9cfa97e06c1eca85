#!/usr/bin/env bash
# cowstat --map as the room sees it: in an 80x24 tmux pane, beside
# cowload --native (the same accesses on cowmem and on a private anonymous
# mapping). Checks, from tmux's capture of the pane:
#  - the map fits 80x24: every row of the region and of the kernel's own
#    COW is on screen, whole, one line each;
#  - each process's cowmem row is the cell-for-cell picture of its native
#    row: the same workload gives the same sharing on both COWs;
#  - the cells say what cowload did: the parent's pages 0-35 shared by 3,
#    36-39 its own, 40-47 shared by all 4, 48-63 untouched; child c's block
#    of 12 its own, the pages nobody wrote the zero page;
#  - once the children are gone and the parent rewrote its pages, the
#    changed cells flash (reverse video): 48 pages its own, and the 16 its
#    check read, the zero page.
# Root, in the test VM, with the module loaded; exits 1 on a failed check.
# Every wait is for a condition, within a time for an idle host times
# COWMEM_SLOW (scripts/vm-init), and so are cowload's --hold and --linger.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
session=cowmap$$
work=$(mktemp -d)
failed=0
slow=${COWMEM_SLOW:-1}
# shellcheck disable=SC2317 # the EXIT trap calls it
cleanup() {
	tmux kill-session -t "$session" 2>/dev/null || true
	[[ -z "${load:-}" ]] || kill "$load" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
# expect WHAT COMMAND...: one line, ok or FAILED, for COMMAND's status.
expect() {
	local what=$1
	shift
	if "$@"; then
		echo "map: ok, $what"
	else
		echo "map: FAILED, $what"
		failed=1
	fi
}
# repeat CHAR N: CHAR N times.
repeat() { printf "%${2}s" "" | tr ' ' "$1"; }
# shellcheck disable=SC2317 # await's conditions run it
# capture NAME: the pane, as text in $work/NAME and with its styles in
# $work/NAME.e, from one capture.
capture() {
	tmux capture-pane -p -e -t "$session" >"$work/$1.e"
	sed 's/\x1b\[[0-9;]*m//g' "$work/$1.e" >"$work/$1"
}
# cells NAME PID [N]: the cells of PID's Nth row (1: cowmem, 2: native).
cells() { awk -v pid="$2" '$1 == pid { print $3 }' "$work/$1" | sed -n "${3:-1}p"; }
# await WHAT SECONDS COMMAND...: COMMAND again every 0.2 s until it
# succeeds; after SECONDS (times the slowness), a FAILED line saying what
# it waited for, and status 1.
await() {
	local what=$1 limit=$(($2 * slow)) start=$SECONDS

	shift 2
	until "$@"; do
		if ((SECONDS - start >= limit)); then
			echo "map: FAILED, waited ${limit}s for $what"
			return 1
		fi
		sleep 0.2
	done
}
# shellcheck disable=SC2317 # await runs it
held() { grep -q '^cowload: parent' "$work/load"; }

"$here/cowload" -n 64 -c 3 --hold $((12 * slow)) --linger $((20 * slow)) \
	--native >"$work/load" &
load=$!
await "cowload's children to write their pages" 60 held || exit 1
parent=$(sed -n 's/^cowload: parent \([0-9]*\),.*/\1/p' "$work/load")
read -ra kids < <(sed -n 's/^cowload: parent [0-9]*, children \(.*\);.*/\1/p' "$work/load")

tmux new-session -d -s "$session" -x 80 -y 24 \
	"$here/cowstat --map -p $parent --native $parent --watch 2"
# shellcheck disable=SC2317 # await runs it
drawn() {
	local pid

	capture held
	for pid in "$parent" "${kids[@]}"; do
		[[ $(cells held "$pid" 2 | wc -L) == 64 ]] || return 1
	done
}
await "cowstat's first frame with both rows of all 4 processes" 30 drawn || failed=1
sed 's/^/map: | /' "$work/held"

# shellcheck disable=SC2317 # fits and twins run through expect
fits() {
	grep -q '^cowmem region [0-9]*: 64 pages, 4 views$' "$work/held" &&
		grep -q "^kernel's own COW" "$work/held" &&
		! awk 'length > 80 { bad = 1 } END { exit !bad }' "$work/held"
}
# shellcheck disable=SC2317
twins() {
	[[ $(cells held "$1" 1 | wc -L) == 64 && "$(cells held "$1" 1)" == "$(cells held "$1" 2)" ]]
}
expect "the region's 4 views and the native rows fit 80 columns" fits
for pid in "$parent" "${kids[@]}"; do
	expect "pid $pid: 64 cells, cowmem's row equal to the kernel's own" twins "$pid"
done
parent_cells=$(repeat 3 36)$(repeat '#' 4)$(repeat 4 8)$(repeat . 16)
expect "the parent: 36 pages shared by 3, 4 its own, 8 shared by 4, 16 untouched" \
	test "$(cells held "$parent")" == "$parent_cells"
for c in 0 1 2; do
	row=$(cells held "${kids[$c]}")
	expect "child $c: its block of 12 its own, pages 48-63 the zero page" \
		test "${row:$((12 * c)):12}${row:48}" == "$(repeat '#' 12)$(repeat z 16)"
done

# The children end, the parent rewrites its pages and reads the rest: the
# first frame that shows the last of it (frames are 2 s apart, the pane is
# read every 0.2 s) flashes the cells that changed.
# shellcheck disable=SC2317 # await runs it
rewritten() {
	capture after
	[[ $(cells after "$parent") == "$(repeat '#' 48)$(repeat z 16)" ]]
}
await "a frame after the children's exit and the parent's rewrite" 30 rewritten || failed=1
sed 's/^/map: | /' "$work/after"
expect "after the children: the parent's 48 written pages its own, the rest (read in its check) the zero page" \
	test "$(cells after "$parent")" == "$(repeat '#' 48)$(repeat z 16)"
expect "the cells that changed flash in reverse video" \
	grep -qE $'\e\\[([0-9]*;)*7(;[0-9]*)*m' "$work/after.e"
exit "$failed"
