#!/usr/bin/env bash
# Full backup-push against the physical floor: the cold read of the same files (pg_wal left out) with two readers,
# side by side in one run, caches dropped before each step. Prints wall, the command's CPU (user + system), CPU
# seconds per GiB read, and the ratio to the floor (issue 22's target: backup <= 1.5x the floor).
#   sudo bench/full-backup-floor.sh [SCALE]     (default scale 100; RUNS=N alternations, default 3; run as root)
# SMALL_TABLES=N also creates N small tables (40 rows and a primary key each: three files of 8-16 KiB apiece) in a
# database of their own, the shape of a cluster with many relations, where reading is bound by the disk's latency.
# Uses ../shared/recipes/start-postgres.sh for a throwaway cluster on 127.0.0.1 (PGPORT, default 55491), a local
# repository under a new /tmp/pgarchive-floor-bench.* directory (removed at the end), lz4 (WALG_COMPRESSION_METHOD
# to change it). PGARCHIVE_CLI=/path/to/pgarchive benchmarks a given build (e.g. the Native AOT one);
# BASELINE_CLI=/path/to/other/pgarchive also times that build in each alternation (floor, baseline, this build):
# before/after ratios to the same floors, from one run.
set -euo pipefail
scale=${1:-100}
repo=$(cd "$(dirname "$0")/.." && pwd)
recipes=${RECIPES:-$repo/../shared/recipes}
work=$(mktemp -d /tmp/pgarchive-floor-bench.XXXXXX)
chmod 0755 "$work"
export PGPORT=${PGPORT:-55491}
cleanup() { "$recipes/start-postgres.sh" --stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
cli=$(bench_cli "$work" "$repo")

# A start that fails (a port in use) must stop the script: pgbench -i below would otherwise reach another cluster.
pgenv=$(ARCHIVE_COMMAND=true "$recipes/start-postgres.sh" "$work/pg")
eval "$pgenv"
export PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=postgres
export WALG_FILE_PREFIX="$work/archive" WALG_COMPRESSION_METHOD=${WALG_COMPRESSION_METHOD:-lz4}
bin=/usr/lib/postgresql/15/bin
echo "pgbench -i -s $scale..." >&2
"$bin/pgbench" -i -s "$scale" -q >&2
small=${SMALL_TABLES:-0}
if (( small > 0 )); then
  echo "$small small tables..." >&2
  "$bin/psql" -qAt -c "CREATE DATABASE small_tables" >/dev/null
  # In batches: one transaction holds a lock per table it creates (max_locks_per_transaction).
  for ((from = 1; from <= small; from += 1000)); do
    to=$(( from + 999 < small ? from + 999 : small ))
    "$bin/psql" -qAt -d small_tables -c "DO \$\$ BEGIN FOR i IN $from..$to LOOP
      EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text); INSERT INTO t%s SELECT g, repeat(''x'', 50) FROM generate_series(1, 40) g', i, i);
    END LOOP; END \$\$" >/dev/null
  done
fi
"$bin/psql" -qAt -c "CHECKPOINT" >/dev/null
data="$work/pg/data"
bytes=$(find "$data" -type f ! -path "$data/pg_wal/*" -printf '%s\n' | awk '{s+=$1} END {printf "%.0f\n", s}')

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# One timed command: prints "wall cpu" (CPU = user + system of the command and its children).
timed() {
  /usr/bin/time -o "$work/time" -f '%e %U %S' "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; return 1; }
  awk '{printf "%.2f %.2f\n", $1, $2 + $3}' "$work/time"
}
floor() { find "$data" -type f ! -path "$data/pg_wal/*" -print0 | xargs -0 -P2 -n 64 cat >/dev/null; }
export -f floor; export data

runs=${RUNS:-3}
declare -a floors backups baselines
backup() { drop; timed "$1" backup-push --full "$data"; rm -rf "$WALG_FILE_PREFIX/basebackups_005"; }
for run in $(seq 1 "$runs"); do
  drop; f=$(timed bash -c floor)
  floors+=("$f")
  if [[ -n ${BASELINE_CLI:-} ]]; then
    a=$(backup "$BASELINE_CLI"); baselines+=("$a")
  fi
  b=$(backup "$cli"); backups+=("$b")
  echo "run $run: floor $f, ${BASELINE_CLI:+baseline $a, }backup-push $b (wall s, CPU s)" >&2
done

files=$(find "$data" -type f ! -path "$data/pg_wal/*" | wc -l)
python3 - "$scale" "$bytes" "${floors[*]}" "${backups[*]}" "${baselines[*]:-}" "$small" "$files" <<'PY'
import statistics, sys
scale, size = sys.argv[1], int(sys.argv[2])
extra = (f" and {sys.argv[6]} small tables" if int(sys.argv[6]) else "") + f", {sys.argv[7]} files"
def pairs(text):
    v = [float(x) for x in text.split()]
    return list(zip(v[0::2], v[1::2]))
floors, builds = pairs(sys.argv[3]), [("backup-push --full", pairs(sys.argv[4]))]
if sys.argv[5].strip():
    builds.insert(0, ("baseline backup-push --full", pairs(sys.argv[5])))
gib = size / 2**30
fw = statistics.median(w for w, _ in floors)
print(f"pgbench scale {scale}{extra}: {size / 2**20:.0f} MiB of files (pg_wal left out), medians of {len(floors)} alternating runs, caches dropped before each")
print("| measure | cold read, 2 readers (floor) | " + " | ".join(f"{name} | ratio" for name, _ in builds) + " |")
print("| --- | ---: | " + " | ".join("---: | ---:" for _ in builds) + " |")
print(f"| wall (s) | {fw:.2f} | " + " | ".join(f"{statistics.median(w for w, _ in runs):.2f} | {statistics.median(w for w, _ in runs) / fw:.2f}" for _, runs in builds) + " |")
print(f"| CPU user+sys (s) | {statistics.median(c for _, c in floors):.2f} | " + " | ".join(f"{statistics.median(c for _, c in runs):.2f} | " for _, runs in builds) + " |")
print("| CPU s per GiB | | " + " | ".join(f"{statistics.median(c for _, c in runs) / gib:.2f} | " for _, runs in builds) + " |")
print("runs (wall/CPU): floor " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in floors)
      + "".join(f"; {name} " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in runs) for name, runs in builds))
PY
