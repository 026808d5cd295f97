#!/usr/bin/env bash
# Delta vs full backup-push: size stored and time taken, on a pgbench database (default scale 50)
# with 1% of pgbench_accounts' rows updated between the backups.
#   sudo bench/delta-bench.sh [SCALE]     (run as root: the server runs as user postgres; RUNS=N pairs, default 3)
# Uses ../shared/recipes/start-postgres.sh for a throwaway cluster on 127.0.0.1 (PGPORT, default 55471);
# everything lives under a new /tmp/pgarchive-delta-bench.* directory, removed at the end.
# PGARCHIVE_CLI=/path/to/pgarchive benchmarks a given build (e.g. a Native AOT one) instead of publishing.
set -euo pipefail
scale=${1:-50}
repo=$(cd "$(dirname "$0")/.." && pwd)
recipes=${RECIPES:-$repo/../shared/recipes}
work=$(mktemp -d /tmp/pgarchive-delta-bench.XXXXXX)
chmod 0755 "$work"
export PGPORT=${PGPORT:-55471}
cleanup() { "$recipes/start-postgres.sh" --stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
cli=$(bench_cli "$work" "$repo")

eval "$(ARCHIVE_COMMAND=true "$recipes/start-postgres.sh" "$work/pg")"
export PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=postgres
export WALG_FILE_PREFIX="$work/archive" WALG_DELTA_MAX_STEPS=3
pgbench=/usr/lib/postgresql/15/bin/pgbench
psql=/usr/lib/postgresql/15/bin/psql

echo "pgbench -i -s $scale..." >&2
"$pgbench" -i -s "$scale" -q >&2
"$psql" -qAt -c "CHECKPOINT" >/dev/null
data="$work/pg/data"

now() { date +%s.%N; }
rows=$(( scale * 100000 / 100 ))
runs=${RUNS:-3}
# Each run: a full backup, then 1% of the rows updated (a different 1% each run), then a delta on that full.
# The machine is noisy: the ratios are taken from the medians of the runs, side by side.
results=()
for run in $(seq 1 "$runs"); do
  t0=$(now); full=$("$cli" backup-push --full "$data" 2>/dev/null); t1=$(now)
  first=$(( (run - 1) * rows + 1 ))
  "$psql" -qAt -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid BETWEEN $first AND $(( first + rows - 1 ))" >/dev/null
  "$psql" -qAt -c "CHECKPOINT" >/dev/null
  t2=$(now); delta=$(WALG_DELTA_ORIGIN=LATEST_FULL "$cli" backup-push "$data" 2>/dev/null); t3=$(now)
  results+=("$full $t0 $t1 $delta $t2 $t3")
done

dbsize=$("$psql" -qAt -c "SELECT pg_database_size('postgres')")
python3 - "$scale" "$rows" "$dbsize" "$WALG_FILE_PREFIX/basebackups_005" "${results[@]}" <<'PY'
import json, statistics, sys
scale, rows, db, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def sentinel(name):
    return json.load(open(f"{folder}/{name}_backup_stop_sentinel.json"))
print(f"pgbench scale {scale}, database {db/2**20:.0f} MiB, {rows} rows (1%) updated before each delta")
fulls, deltas, sizes = [], [], []
for i, line in enumerate(sys.argv[5:], 1):
    full, t0, t1, delta, t2, t3 = line.split()
    f, d = sentinel(full), sentinel(delta)
    assert d.get("DeltaFrom") == full, f"{delta} is not a delta on {full}"
    tf, td = float(t1) - float(t0), float(t3) - float(t2)
    fulls.append(tf); deltas.append(td); sizes.append(d["CompressedSize"] / f["CompressedSize"])
    print(f"run {i}: full {full} stored {f['CompressedSize']/2**20:.1f} MiB (tar {f['UncompressedSize']/2**20:.1f} MiB) in {tf:.2f} s; "
          f"delta stored {d['CompressedSize']/2**20:.2f} MiB (tar {d['UncompressedSize']/2**20:.2f} MiB) in {td:.2f} s; time ratio {td/tf:.3f}")
mf, md, ms = statistics.median(fulls), statistics.median(deltas), statistics.median(sizes)
print(f"median of {len(fulls)}: full {mf:.2f} s, delta {md:.2f} s")
print(f"delta/full: size {ms:.3f} (target <= 0.10), time {md/mf:.3f} (target <= 0.30)")
PY
