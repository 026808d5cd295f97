#!/usr/bin/env bash
# Delta vs full backup-push: size stored and time taken, on a pgbench database (default scale 50)
# with 1% of pgbench_accounts' rows updated between the backups.
#   sudo bench/delta-bench.sh [SCALE]     (run as root: the server runs as user postgres)
# Uses ../shared/recipes/start-postgres.sh for a throwaway cluster on 127.0.0.1 (PGPORT, default 55471);
# everything lives under a new /tmp/pgarchive-delta-bench.* directory, removed at the end.
set -euo pipefail
scale=${1:-50}
repo=$(cd "$(dirname "$0")/.." && pwd)
recipes=${RECIPES:-$repo/../shared/recipes}
work=$(mktemp -d /tmp/pgarchive-delta-bench.XXXXXX)
chmod 0755 "$work"
export PGPORT=${PGPORT:-55471}
cleanup() { "$recipes/start-postgres.sh" --stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

echo "publishing the CLI (Release)..." >&2
dotnet publish "$repo/samples/PgArchive.Cli" -c Release -o "$work/cli" --nologo -v quiet >&2
cli="$work/cli/pgarchive"

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
t0=$(now); full=$("$cli" backup-push "$data" 2>/dev/null); t1=$(now)

rows=$(( scale * 100000 / 100 ))
"$psql" -qAt -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= $rows" >/dev/null
"$psql" -qAt -c "CHECKPOINT" >/dev/null
t2=$(now); delta=$("$cli" backup-push "$data" 2>/dev/null); t3=$(now)

size() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['CompressedSize'], d['UncompressedSize'], d.get('DeltaFrom'))" "$WALG_FILE_PREFIX/basebackups_005/$1_backup_stop_sentinel.json"; }
read -r fullStored fullTar _ <<<"$(size "$full")"
read -r deltaStored deltaTar deltaFrom <<<"$(size "$delta")"
dbsize=$("$psql" -qAt -c "SELECT pg_database_size('postgres')")
python3 - "$scale" "$rows" "$dbsize" "$full" "$fullStored" "$fullTar" "$t0" "$t1" "$delta" "$deltaFrom" "$deltaStored" "$deltaTar" "$t2" "$t3" <<'PY'
import sys
scale, rows, db, full, fs, ft, t0, t1, delta, dfrom, ds, dt, t2, t3 = sys.argv[1:]
fs, ft, ds, dt, db = map(int, (fs, ft, ds, dt, db))
tf, td = float(t1) - float(t0), float(t3) - float(t2)
print(f"pgbench scale {scale}, database {db/2**20:.0f} MiB, {rows} rows (1%) updated between the backups")
print(f"full  {full}: stored {fs/2**20:.1f} MiB (tar {ft/2**20:.1f} MiB) in {tf:.1f} s")
print(f"delta {delta} (on {dfrom}): stored {ds/2**20:.2f} MiB (tar {dt/2**20:.2f} MiB) in {td:.1f} s")
print(f"delta/full: size {ds/fs:.3f} (target <= 0.10), time {td/tf:.3f} (target <= 0.30)")
PY
