#!/usr/bin/env bash
# Restoring a chain of 10 deltas against restoring one full backup of the same final data, side by side.
#   sudo bench/chain-restore.sh [SCALE]   (run as root: the server runs as user postgres, and caches are dropped
#                                          before each restore; default scale 100, the issue's target is 300)
# pgbench at SCALE, a full backup, then 10 deltas (WALG_DELTA_MAX_STEPS=10), each after updating a different 1% of
# pgbench_accounts' rows and a CHECKPOINT, then a full backup (--full) of the same final data. Then, RUNS rounds
# (default 1) of four restores, caches dropped before each (sync; echo 3 > /proc/sys/vm/drop_caches):
#   full      the final full backup
#   forward   the chain oldest first (WALG_USE_REVERSE_UNPACK=false)
#   reverse   the chain newest first, each page written once (--reverse-unpack)
#   skip      --reverse-unpack --skip-redundant-tars
# Each restore's wall time, user+sys CPU and the bytes it read from disk (the store: a local directory) and wrote
# (from /proc/PID/io, read before the process is reaped), and the ratios to the full restore (medians over rounds).
# The three chain restores must be byte-identical (every file's SHA-1); the full is compared with them file by file,
# leaving out what two backups of the same data differ in (backup_label, pg_control, pg_wal); autovacuum is off so
# nothing rewrites pages between the last delta and the final full. Any difference fails the run.
# Uses ../shared/recipes/start-postgres.sh for a throwaway cluster on 127.0.0.1 (PGPORT, default 55473);
# everything lives under a new /tmp/pgarchive-chain-restore.* directory, removed at the end.
# PGARCHIVE_CLI=/path/to/pgarchive benchmarks a given build instead of publishing one.
set -euo pipefail
scale=${1:-100}
deltas=10
repo=$(cd "$(dirname "$0")/.." && pwd)
recipes=${RECIPES:-$repo/../shared/recipes}
work=$(mktemp -d /tmp/pgarchive-chain-restore.XXXXXX)
chmod 0755 "$work"
export PGPORT=${PGPORT:-55473}
cleanup() { "$recipes/start-postgres.sh" --stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
cli=$(bench_cli "$work" "$repo")

eval "$(ARCHIVE_COMMAND=true PG_EXTRA_CONF="autovacuum = off" "$recipes/start-postgres.sh" "$work/pg")"
export PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=postgres
export WALG_FILE_PREFIX="$work/archive" WALG_DELTA_MAX_STEPS=$deltas
pgbench=/usr/lib/postgresql/15/bin/pgbench
psql=/usr/lib/postgresql/15/bin/psql
data="$work/pg/data"

echo "pgbench -i -s $scale..." >&2
"$pgbench" -i -s "$scale" -q >&2
"$psql" -qAt -c "CHECKPOINT" >/dev/null
"$cli" backup-push --full "$data" 2>/dev/null >/dev/null
rows=$(( scale * 100000 / 100 ))
last=
for i in $(seq 1 "$deltas"); do
  first=$(( (i - 1) * rows + 1 ))
  "$psql" -qAt -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid BETWEEN $first AND $(( first + rows - 1 ))" >/dev/null
  "$psql" -qAt -c "CHECKPOINT" >/dev/null
  last=$("$cli" backup-push "$data" 2>/dev/null)
  echo "delta $i: $last" >&2
done
final=$("$cli" backup-push --full "$data" 2>/dev/null)
echo "final full: $final" >&2
"$recipes/start-postgres.sh" --stop "$work/pg" >/dev/null 2>&1 # nothing else on the disk while restoring

# Runs a command; prints wall seconds, user+sys CPU seconds, bytes read from disk and bytes written (its /proc/PID/io,
# read once it has exited but before it is reaped).
cat >"$work/measure.py" <<'PY'
import os, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
wall = time.monotonic() - t0
io = dict(line.split(": ") for line in open(f"/proc/{p.pid}/io").read().splitlines())
_, status, usage = os.wait4(p.pid, 0)
if os.waitstatus_to_exitcode(status) != 0:
    sys.exit(f"{sys.argv[1:]} failed with exit code {os.waitstatus_to_exitcode(status)}")
print(f"{wall:.3f} {usage.ru_utime + usage.ru_stime:.3f} {int(io['read_bytes'])} {int(io['write_bytes'])}")
PY

# name, then the environment and arguments of its restore
modes=(full forward reverse skip)
restore() { # mode target
  case $1 in
    full) "$cli" backup-fetch "$2" "$final" ;;
    forward) WALG_USE_REVERSE_UNPACK=false "$cli" backup-fetch "$2" "$last" ;;
    reverse) "$cli" backup-fetch "$2" "$last" --reverse-unpack ;;
    skip) "$cli" backup-fetch "$2" "$last" --reverse-unpack --skip-redundant-tars ;;
  esac
}
export -f restore
export cli final last
manifest() { # dir: "path sha1" of every regular file, sorted
  (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha1sum) | awk '{print $2, $1}'
}

runs=${RUNS:-1}
results="$work/results"
: >"$results"
for run in $(seq 1 "$runs"); do
  for mode in "${modes[@]}"; do
    target="$work/restore-$mode"
    sync; echo 3 >/proc/sys/vm/drop_caches
    m=$(python3 "$work/measure.py" bash -c "restore $mode $target 2>/dev/null")
    echo "$run $mode $m" >>"$results"
    echo "round $run $mode: $m" >&2
    if [[ $run == 1 ]]; then
      manifest "$target" >"$work/manifest-$mode"
    fi
    rm -rf "$target"
  done
done

# The chain restores are the same backup: identical. The full is another backup of the same data.
for mode in reverse skip; do
  if ! cmp -s "$work/manifest-forward" "$work/manifest-$mode"; then
    diff "$work/manifest-forward" "$work/manifest-$mode" | head -20 >&2
    echo "FAIL: the $mode restore differs from the forward restore" >&2; exit 1
  fi
done
strip() { grep -v -E '^\./(backup_label|tablespace_map|global/pg_control|pg_wal/)' "$1"; }
if ! diff <(strip "$work/manifest-full") <(strip "$work/manifest-forward") >"$work/full-diff"; then
  head -20 "$work/full-diff" >&2
  echo "FAIL: the chain restores differ from the final full backup's restore" >&2; exit 1
fi
files=$(strip "$work/manifest-full" | wc -l)

chain_stored=$(python3 - "$WALG_FILE_PREFIX/basebackups_005" "$last" <<'PY'
import json, sys
folder, name = sys.argv[1], sys.argv[2]
total = 0
while name:
    s = json.load(open(f"{folder}/{name}_backup_stop_sentinel.json"))
    total += s["CompressedSize"]
    name = s.get("DeltaFrom")
print(total)
PY
)
full_stored=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['CompressedSize'])" "$WALG_FILE_PREFIX/basebackups_005/${final}_backup_stop_sentinel.json")
restored=$(du -sb --exclude=pg_wal "$data" | cut -f1)

python3 - "$scale" "$rows" "$deltas" "$restored" "$full_stored" "$chain_stored" "$files" "$results" <<'PY'
import statistics, sys
scale, rows, deltas, restored, full_stored, chain_stored, files, path = sys.argv[1:]
restored, gib = int(restored), 2**30
by = {}
for line in open(path):
    run, mode, wall, cpu, rd, wr = line.split()
    by.setdefault(mode, []).append((float(wall), float(cpu), int(rd), int(wr)))
med = {m: tuple(statistics.median(v[i] for v in vs) for i in range(4)) for m, vs in by.items()}
print(f"pgbench scale {scale}: {restored/2**20:.0f} MiB restored (pg_wal left out), {deltas} deltas each after {rows} rows (1%) updated; "
      f"stored: final full {int(full_stored)/2**20:.0f} MiB, chain {int(chain_stored)/2**20:.0f} MiB; {len(by['full'])} round(s), medians")
print("| restore | wall s | × full | CPU s (user+sys) | CPU s/GiB | read MiB | written MiB |")
print("|---|---|---|---|---|---|---|")
fw = med["full"][0]
names = {"full": "final full backup", "forward": "chain, forward", "reverse": "chain, --reverse-unpack", "skip": "chain, --reverse-unpack --skip-redundant-tars"}
for mode in ["full", "forward", "reverse", "skip"]:
    wall, cpu, rd, wr = med[mode]
    print(f"| {names[mode]} | {wall:.2f} | {wall/fw:.2f} | {cpu:.2f} | {cpu/(restored/gib):.2f} | {rd/2**20:.0f} | {wr/2**20:.0f} |")
print(f"the three chain restores are byte-identical; {files} files compared with the full's restore (backup_label, pg_control, pg_wal left out): identical")
PY
