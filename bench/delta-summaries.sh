#!/usr/bin/env bash
# Delta block sources side by side on PostgreSQL 17 (summarize_wal = on), one run: a full backup, 1% of pgbench_accounts'
# rows updated (contiguous), then a delta with PGARCHIVE_DELTA_BLOCK_SOURCE=auto (WAL summaries) and one with =scan, both
# on that full (WALG_DELTA_ORIGIN=LATEST_FULL). Before each backup-push the data files' pages are evicted from the page
# cache (posix_fadvise DONTNEED on these files only: other processes' caches are left alone); prints each run's wall,
# its /proc/PID/io rchar and read_bytes (last sample before it exited), and pgarchive's own blocks-read line.
#   sudo bench/delta-summaries.sh [SCALE]       (default 50; PGARCHIVE_CLI=/path/to/pgarchive to skip publishing)
# The machine is shared and noisy: one run says where the time goes, not a median.
set -euo pipefail
scale=${1:-50}
repo=$(cd "$(dirname "$0")/.." && pwd)
recipes=${RECIPES:-$repo/../shared/recipes}
work=$(mktemp -d /tmp/pgarchive-delta-summaries.XXXXXX)
chmod 0755 "$work"
export PGPORT=${PGPORT:-55473}
cleanup() { PG_MAJOR=17 "$recipes/start-postgres.sh" --stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

source "$repo/bench/lib.sh"
cli=$(bench_cli "$work" "$repo")

eval "$(ARCHIVE_COMMAND=true PG_MAJOR=17 PG_EXTRA_CONF='summarize_wal = on' "$recipes/start-postgres.sh" "$work/pg")"
export PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=postgres
export WALG_FILE_PREFIX="$work/archive" WALG_DELTA_MAX_STEPS=3 WALG_DELTA_ORIGIN=LATEST_FULL
psql=/usr/lib/postgresql/15/bin/psql
/usr/lib/postgresql/15/bin/pgbench -i -s "$scale" -q >&2
"$psql" -qAt -c "CHECKPOINT" >/dev/null
data="$work/pg/data"

evict() { evict_page_cache "$data"; }

measure() { # LABEL VAR=VALUE...
  local label=$1 t0 t1 pid io=""
  shift
  evict
  t0=$(date +%s.%N)
  env "$@" "$cli" backup-push "$data" >"$work/$label.out" 2>"$work/$label.err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do io=$(cat "/proc/$pid/io" 2>/dev/null || echo "$io"); sleep 0.02; done
  wait "$pid"
  t1=$(date +%s.%N)
  printf '%-16s wall %6.2f s  %s\n' "$label" "$(echo "$t1 - $t0" | bc)" "$(echo "$io" | grep -E '^(rchar|read_bytes)' | tr '\n' ' ')"
  grep -o "Delta .*blocks read" "$work/$label.err" || true
}

echo "pgbench scale $scale, database $("$psql" -qAt -c "SELECT pg_size_pretty(pg_database_size('postgres'))")"
measure full WALG_DELTA_MAX_STEPS=0
rows=$(( scale * 100000 / 100 ))
"$psql" -qAt -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= $rows" >/dev/null
"$psql" -qAt -c "CHECKPOINT" >/dev/null
"$psql" -qAt -c "SELECT pg_switch_wal()" >/dev/null
measure delta-summaries PGARCHIVE_DELTA_BLOCK_SOURCE=auto
"$psql" -qAt -c "SELECT pg_switch_wal()" >/dev/null
measure delta-scan PGARCHIVE_DELTA_BLOCK_SOURCE=scan
