#!/usr/bin/env bash
# Cold start and the CPU of one WAL segment, per artifact, beside pgBackRest:
#   - `--version`, wall time, median of 30 runs (pgbackrest: `pgbackrest version`);
#   - one `wal-push` of a real 16 MiB segment (lz4, local directory), user+sys CPU and wall from /usr/bin/time
#     (pgbackrest: `archive-push` of the same segment into its own repository, lz4, synchronous).
#   bench/cold-start.sh [--aot FILE] [--jit FILE] [--out FILE.md]
# Defaults: the Native AOT executable of scripts/release.sh (artifacts/pgarchive-*-linux-x64; the .deb and the
# .NET tool on linux-x64 install this same file) and a framework-dependent publish (the portable tool, JIT; published
# here when --jit is not given). As root; PostgreSQL 15 from shared/recipes, pgbackrest from apt when missing.
# The machine may be shared: numbers from a loaded machine are noisy, and say so nowhere else.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
recipes=${PGARCHIVE_RECIPES:-$repo/../shared/recipes}
aot="" jit="" out=""
while (($#)); do
  case $1 in
    --aot) aot=$2; shift 2 ;;
    --jit) jit=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
[[ -n $aot ]] || aot=$(ls "$repo"/artifacts/pgarchive-*-linux-x64 2>/dev/null | head -n 1)
[[ -x $aot ]] || { echo "no Native AOT executable: run scripts/release.sh or pass --aot" >&2; exit 1; }
command -v pgbackrest >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbackrest >&2; }
[[ -x /usr/bin/time ]] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >&2

work=$(mktemp -d -t pgarchive-cold-start.XXXXXX)
chmod 0755 "$work"
cleanup() { PG_STOP_TIMEOUT=10 "$recipes/start-postgres.sh" --stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
if [[ -z $jit ]]; then
  dotnet publish "$repo/samples/PgArchive.Cli/PgArchive.Cli.csproj" -c Release -o "$work/jit" --nologo -v quiet -clp:ErrorsOnly >&2
  jit=$work/jit/pgarchive
fi
cp "$aot" "$work/pgarchive-aot"; aot=$work/pgarchive-aot
chmod -R a+rX "$work" "$(dirname "$jit")"
as_pg() { runuser -u postgres -- "$@"; }

port=$((57000 + RANDOM % 1000))
eval "$(PGPORT=$port ARCHIVE_TIMEOUT=0 ARCHIVE_COMMAND=true "$recipes/start-postgres.sh" "$work/pg")"
psqlq() { as_pg psql -h "$PGARCHIVE_PG_DIR" -p "$port" -U postgres -d postgres -Atqc "$1"; }
as_pg pgbench -h "$PGARCHIVE_PG_DIR" -p "$port" -U postgres -i -s 2 -q postgres >/dev/null 2>&1
segment=$(psqlq "SELECT pg_walfile_name(pg_current_wal_lsn())")
psqlq "SELECT pg_switch_wal()" >/dev/null
mkdir -p "$work/pgbr/repo" "$work/pgbr/log" "$work/pgbr/lock" "$work/walg-aot" "$work/walg-jit" "$work/out"
chown -R postgres: "$work/pgbr" "$work/walg-aot" "$work/walg-jit" "$work/out"
cat >"$work/pgbr/pgbackrest.conf" <<CONF
[global]
repo1-path=$work/pgbr/repo
log-path=$work/pgbr/log
lock-path=$work/pgbr/lock
compress-type=lz4
archive-check=n
log-level-console=warn
log-level-file=off

[bench]
pg1-path=$PGDATA
pg1-port=$port
pg1-socket-path=$PGARCHIVE_PG_DIR
CONF
chown postgres: "$work/pgbr/pgbackrest.conf"
as_pg pgbackrest --config="$work/pgbr/pgbackrest.conf" --stanza=bench stanza-create >/dev/null

median_ms() {   # median wall time in ms of 30 runs of the command
  local times=() t0 t1
  for _ in $(seq 30); do
    t0=$(date +%s%N); as_pg "$@" >/dev/null 2>&1; t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 15p | awk '{printf "%.1f", $1 / 1000}'
}
push_cpu() {    # "user+sys s | wall s" of one push
  as_pg /usr/bin/time -f '%U %S %e' -o "$work/out/time" "$@" >/dev/null 2>"$work/push.err" || { cat "$work/push.err" >&2; return 1; }
  awk '{printf "%.3f | %.3f", $1 + $2, $3}' "$work/out/time"
}
wal=$PGDATA/pg_wal/$segment
rows=()
rows+=("| pgarchive Native AOT (single binary, .deb, .NET tool on linux-x64) | $(median_ms "$aot" --version) | $(push_cpu env WALG_FILE_PREFIX="$work/walg-aot" WALG_COMPRESSION_METHOD=lz4 "$aot" wal-push "$wal") |")
rows+=("| pgarchive portable (JIT, the tool's any package) | $(median_ms "$jit" --version) | $(push_cpu env WALG_FILE_PREFIX="$work/walg-jit" WALG_COMPRESSION_METHOD=lz4 "$jit" wal-push "$wal") |")
rows+=("| pgbackrest $(pgbackrest version | awk '{print $2}') | $(median_ms pgbackrest version) | $(push_cpu pgbackrest --config="$work/pgbr/pgbackrest.conf" --stanza=bench archive-push "$wal") |")

report=$(cat <<TEXT
Cold start and one 16 MiB WAL segment ($segment, lz4, local directory), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end.

| artifact | \`--version\` median of 30 (ms) | one wal-push: user+sys CPU (s) | wall (s) |
|---|---|---|---|
$(printf '%s\n' "${rows[@]}")
TEXT
)
echo "$report"
[[ -z $out ]] || echo "$report" >"$out"
