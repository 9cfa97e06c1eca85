#!/bin/bash
# Programs people know, under cowrun, each checked by its own means, with
# the COW breaks it caused (debugfs stats, before and after) and how many
# mappings cowrun served (--verbose):
#   - gcc compiles tools/cowload.c, its headers read from the project's
#     9p mount (no page cache: 9p reads straight into the served buffers);
#   - git fsck of this repository, on the same mount;
#   - PostgreSQL: initdb, a server, pgbench, and its invariant (the
#     accounts', tellers' and branches' balances each sum to the history's
#     deltas), as the user postgres.
# Nothing is copied to tmpfs first. For the test VM, as root, the module
# loaded; on a kernel where cowmem's memory is pinnable (7.1 and later):
#   scripts/check-newer 7.3 -- tools/cowrun-apps.sh [SECONDS]
# SECONDS: pgbench's run (default 30). Exits 1 if any program failed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
seconds=${1:-30}
stats=/sys/kernel/debug/cowmem/stats
work=$(mktemp -d /tmp/cowrun-apps.XXXXXX)
pg=$work/pg
pgbin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
failed=0
rows=()

# shellcheck disable=SC2317 # the EXIT trap calls it
cleanup() {
	if [[ -n $pgbin && -s $pg/postmaster.pid ]]; then
		runuser -u postgres -- "$pgbin/pg_ctl" -D "$pg" -m fast stop >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

[[ -r $stats ]] || {
	echo "cowrun-apps: no $stats: load module/cowmem.ko first (as root)" >&2
	exit 1
}
cow_breaks() { awk '$1 == "cow_breaks:" { print $2 }' "$stats"; }
# Mappings served, summed over the --verbose lines in log $1.
served() { sed -n 's/.*: served \([0-9]*\) mappings.*/\1/p' "$1" | awk '{ n += $1 } END { print n + 0 }'; }

# run NAME CHECK-DESCRIPTION COMMAND...: runs COMMAND and records a row.
run() {
	local name=$1 what=$2 before rc=0
	shift 2
	before=$(cow_breaks)
	"$@" >"$work/$name.log" 2>&1 || rc=$?
	if ((rc)); then
		failed=1
		what="FAILED (exit $rc): its output below"
		{
			echo "cowrun-apps: $name failed (exit $rc); its output ends:"
			tail -n 15 "$work/$name.log"
		} >&2
	fi
	rows+=("$(printf '%-10s %8d %8d  %s' "$name" "$(served "$work/$name.log")" \
		"$(($(cow_breaks) - before))" "$what")")
}

# The project's sources, on its 9p mount.
run gcc "cowload.o built from tools/cowload.c" \
	"$here/cowrun" --verbose -- gcc -O2 -Wall -I "$here/lib" -I "$top/module/uapi" \
	-c -o "$work/cowload.o" "$here/cowload.c"

run git "git fsck of the repository" \
	"$here/cowrun" --verbose -- git -c safe.directory="$top" -C "$top" fsck --no-progress

if [[ -z $pgbin ]] || ! id postgres >/dev/null 2>&1; then
	rows+=("$(printf '%-10s %8s %8s  %s' postgres - - "not run: no PostgreSQL (apt-get install postgresql)")")
else
	# The user postgres opens /dev/cowmem too (0600 by default).
	chmod 0666 /dev/cowmem
	chown postgres "$work"
	as_pg=(runuser -u postgres --)
	pg_run=("$here/cowrun" --verbose -- "${as_pg[@]}")
	run initdb "a cluster made" "${pg_run[@]}" "$pgbin/initdb" -D "$pg" -A trust --no-sync
	run server "started (pg_ctl start -w)" \
		"${pg_run[@]}" "$pgbin/pg_ctl" -D "$pg" -w -t 600 -l "$work/postgres.log" \
		-o "-c listen_addresses='' -k $work" start
	run pgbench "pgbench -i -s 2, then -c 4 -j 2 -T $seconds" \
		"${pg_run[@]}" sh -c "pgbench -h $work -q -i -s 2 postgres &&
			pgbench -h $work -n -c 4 -j 2 -T $seconds postgres"
	sums=$("${as_pg[@]}" psql -h "$work" -At postgres -c "
		select (select sum(abalance) from pgbench_accounts) = h.d and
		       (select sum(tbalance) from pgbench_tellers) = h.d and
		       (select sum(bbalance) from pgbench_branches) = h.d
		from (select sum(delta) as d from pgbench_history) h") || sums=error
	tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/pgbench.log" | head -n 1)
	if [[ $sums == t ]]; then
		rows+=("$(printf '%-10s %8s %8s  %s' check - - "the balances sum to the history's deltas ($tps tps)")")
	else
		failed=1
		rows+=("$(printf '%-10s %8s %8s  %s' check - - "FAILED: the balances and the history disagree ($sums)")")
	fi
	if [[ -s $work/postgres.log ]] && grep -q FAILED <<<"${rows[-1]}${rows[-2]}"; then
		echo "cowrun-apps: the server's log ends:" >&2
		tail -n 15 "$work/postgres.log" >&2
	fi
	run stop "the server stopped" "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pg" -m fast stop
	# The server's processes print their --verbose lines into its log.
	rows+=("$(printf '%-10s %8d %8s  %s' postgres "$(served "$work/postgres.log")" - \
		"the server's processes, their --verbose lines in its log")")
fi

printf '%-10s %8s %8s  %s\n' program served breaks result
printf '%s\n' "${rows[@]}"
exit "$failed"
