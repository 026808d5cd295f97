#!/usr/bin/env bash
# Issue 22's delta targets, side by side in one run: for each PERCENT, a full backup-push, then PERCENT of
# pgbench_accounts' rows updated (a contiguous range, a different one each time), then a delta on that full
# (WALG_DELTA_ORIGIN=LATEST_FULL). On PostgreSQL 17+ the delta finds its blocks in the WAL summaries
# (summarize_wal = on); below 17 in the WAL block maps that `wal-push` stores (WALG_USE_WAL_DELTA=true, pgarchive is
# the archive_command from the first backup on). Before each backup-push the data files' pages are evicted from
# the page cache (posix_fadvise DONTNEED on these files only) and the archiver is let catch up (a delta's own cost
# is measured, not the archive backlog the update left).
# Prints, per PERCENT: full and delta wall, their ratio (targets: <= 0.05 at 1%, <= 0.25 at 10%), the delta's
# /proc/PID/io read_bytes (from disk) and rchar (every read call), the bytes of the pages it stored and the
# ratio read_bytes / stored pages (target <= 3), and pgarchive's own "blocks read" line.
#   sudo bench/delta-targets.sh [MAJOR] [SCALE] [PERCENT...]     (defaults: 15 300 1 10)
# Uses ../shared/recipes/start-postgres.sh (PG_MAJOR) on 127.0.0.1 (PGPORT, default 55475); everything lives under
# a new /tmp/pgarchive-delta-targets.* directory, removed at the end. PGARCHIVE_CLI=/path/to/pgarchive benchmarks a
# given build (the Native AOT one: bench/compare.sh's note); without it a Release build is published first.
# BASELINE_CLI=/path/to/other/pgarchive also times that build's delta over the same changes, just before this one's
# (both on the same full, caches evicted before each): before/after figures from one run.
# One run: the machine is shared and noisy, the ratios are taken side by side.
set -euo pipefail
major=${1:-15}
scale=${2:-300}
shift $(( $# < 2 ? $# : 2 ))
percents=("${@:-1 10}")
read -r -a percents <<<"${percents[*]}"
[[ $(id -u) == 0 ]] || { echo "run as root (drops page-cache pages, the server runs as user postgres)" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/.." && pwd)
recipes=${RECIPES:-$repo/../shared/recipes}
work=$(mktemp -d /tmp/pgarchive-delta-targets.XXXXXX)
chmod 0755 "$work"
export PGPORT=${PGPORT:-55475}
# BENCH_LOGS=DIR keeps each backup-push's log (stderr) there.
cleanup() { [[ -z ${BENCH_LOGS:-} ]] || { mkdir -p "$BENCH_LOGS" && cp "$work"/*.err "$BENCH_LOGS"/ 2>/dev/null; } || true
  PG_MAJOR=$major "$recipes/start-postgres.sh" --stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

source "$repo/bench/lib.sh"
cli=$(bench_cli "$work" "$repo")
chmod -R a+rX "$(dirname "$cli")"

# The server's environment is archive_command's: wal-push stores block maps below 17.
mkdir -p "$work/archive" && chown postgres: "$work/archive" 2>/dev/null || true
export WALG_FILE_PREFIX="$work/archive" WALG_COMPRESSION_METHOD=${WALG_COMPRESSION_METHOD:-lz4}
extra=""
if (( major >= 17 )); then extra='summarize_wal = on'; else export WALG_USE_WAL_DELTA=true; fi
pgenv=$(PG_MAJOR=$major PG_EXTRA_CONF="$extra" ARCHIVE_TIMEOUT=0 "$recipes/start-postgres.sh" "$work/pg")
eval "$pgenv"
export PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=postgres WALG_DELTA_MAX_STEPS=3 WALG_DELTA_ORIGIN=LATEST_FULL
bin=/usr/lib/postgresql/15/bin
psql() { "$bin/psql" -qAtX "$@"; }
echo "PostgreSQL $major, pgbench -i -s $scale..." >&2
"$bin/pgbench" -i -s "$scale" -q >&2
psql -c "ALTER SYSTEM SET archive_command = '$cli wal-push %p'" -c "SELECT pg_reload_conf()" >/dev/null
psql -c "CHECKPOINT" >/dev/null
data="$work/pg/data"

evict() { evict_page_cache "$data"; }

# Waits until the archiver has stored every finished segment (the one just switched away from included) and, on 17+,
# the WAL summarizer has read them (pending_lsn: it writes a summary only at the next checkpoint): the background work a delta relies on, done as the WAL is written.
catch_up() {
  local end last ready
  end=$(psql -c "SELECT pg_switch_wal() - 1")
  last=$(psql -c "SELECT pg_walfile_name('$end')")
  ready="SELECT coalesce(last_archived_wal, '') >= '$last' FROM pg_stat_archiver"
  (( major < 17 )) || ready="$ready UNION ALL SELECT pending_lsn >= '$end' FROM pg_get_wal_summarizer_state() ORDER BY 1 LIMIT 1"
  for _ in $(seq 1 1200); do
    [[ "$(psql -c "$ready")" == t ]] && return 0
    sleep 0.25
  done
  echo "the archiver or the summarizer did not reach $last in 300 s" >&2; return 1
}

# One timed backup-push: "wall read_bytes rchar" on stdout; its stderr kept in $work/LABEL.err. MEASURED_CLI: which build.
measure() { # LABEL ARGS...
  local label=$1 t0 t1 pid io=""
  shift
  evict
  t0=$(date +%s.%N)
  "${MEASURED_CLI:-$cli}" backup-push "$@" "$data" >"$work/$label.out" 2>"$work/$label.err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do io=$(cat "/proc/$pid/io" 2>/dev/null || echo "$io"); sleep 0.01; done
  wait "$pid" || { cat "$work/$label.err" >&2; return 1; }
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc) $(awk '/^read_bytes/ {print $2}' <<<"$io") $(awk '/^rchar/ {print $2}' <<<"$io")"
}

size=$(psql -c "SELECT pg_size_pretty(pg_database_size('postgres'))")
rows_total=$(( scale * 100000 ))
first=1
echo "PostgreSQL $major, pgbench scale $scale ($size), $( (( major >= 17 )) && echo 'WAL summaries' || echo 'WAL block maps (WALG_USE_WAL_DELTA)')"
echo "| updated (%) | full wall (s) | delta wall (s) | delta/full | pages stored (MiB) | read_bytes (MiB) | read/stored | rchar (MiB) |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for pct in "${percents[@]}"; do
  catch_up
  read -r fw _ _ < <(measure "full-$pct" --full)
  rows=$(( rows_total * pct / 100 ))
  psql -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid BETWEEN $first AND $(( first + rows - 1 ))" >/dev/null
  first=$(( first + rows ))
  psql -c "CHECKPOINT" >/dev/null
  for build in ${BASELINE_CLI:+baseline} this; do
    catch_up
    label=delta-$pct${build/#this/}
    read -r dw rb rc < <(MEASURED_CLI=$([[ $build == baseline ]] && echo "$BASELINE_CLI" || echo "$cli") measure "$label")
    line=$(grep -o "Delta .*blocks read" "$work/$label.err" || echo "no delta line: $(tail -n 3 "$work/$label.err")")
    pages=$(sed -nE 's/.* increments of ([0-9]+) pages.*/\1/p' <<<"$line")
    python3 - "$pct${BASELINE_CLI:+ ($build)}" "$fw" "$dw" "${pages:-0}" "$rb" "$rc" <<'PY'
import sys
pct, fw, dw, pages, rb, rc = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5] or 0), int(sys.argv[6] or 0)
stored = pages * 8192
mib = 2**20
print(f"| {pct} | {fw:.2f} | {dw:.2f} | {dw / fw:.3f} | {stored / mib:.1f} | {rb / mib:.1f} | "
      f"{(rb / stored if stored else float('nan')):.2f} | {rc / mib:.1f} |")
PY
    echo "  $line" >&2
  done
done
