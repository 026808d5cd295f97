#!/usr/bin/env bash
# archive_command latency and .ready backlog with pgbench flat out, three ways of archiving:
#   (i)   pgarchive wal-push %p                                    (one pgarchive process per segment)
#   (ii)  pgarchive daemon-client SOCK wal-push %p                 (against a running `pgarchive daemon SOCK`)
#   (iii) pgbackrest archive-push --archive-async %p               (pgBackRest's asynchronous archiving)
#
#   bench/daemon-latency.sh [--seconds N] [--scale N] [--clients N] [--bulk-rows N] [--out FILE.md] [--skip-pgbackrest]
#
# Runs as root (installs pgbackrest with apt when missing, as bench/compare.sh; PostgreSQL and the tools run as OS user
# postgres). Starts a throwaway PostgreSQL 15 (shared/recipes/start-postgres.sh) on a free port with
# archive_timeout = 0, builds pgbench's tables (--scale, default 10), then for each variant in turn: sets archive_command,
# lets the backlog of the previous one drain, runs `pgbench -c CLIENTS -j 2 -T SECONDS` (default 4 clients, 60 s; TPC-B
# transactions and, one time in five, an insert of --bulk-rows rows of 100 bytes, default 2000, so that WAL segments
# fill fast enough for archive_command to be the bottleneck) and meanwhile counts pg_wal/archive_status/*.ready every 0.5 s. Each archive_command call runs under a tiny wrapper that
# appends its wall time (microseconds) and exit status to a file; after pgbench, the backlog is drained and the time it
# took recorded. All three archive into a local directory (lz4). Prints one table (also written as Markdown):
# archive_command calls, failures, latency p50 / p99 / max, max .ready during the run, .ready when pgbench ended,
# drain time, pgbench tps and WAL written. pgarchive is the build at PGARCHIVE_CLI, else published (Release) here.
set -euo pipefail

seconds=60 scale=10 clients=4 bulk_rows=2000 out="" skip_pgbr=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --scale) scale=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --bulk-rows) bulk_rows=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --skip-pgbackrest) skip_pgbr=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
for n in "$seconds" "$scale" "$clients" "$bulk_rows"; do [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "'$n' is not a positive number" >&2; exit 2; }; done
[[ $(id -u) == 0 ]] || { echo "run as root (apt, and the tools run as OS user postgres)" >&2; exit 1; }

repo_root=$(cd "$(dirname "$0")/.." && pwd)
recipes=$repo_root/../shared/recipes
[[ -d $recipes ]] || recipes=/work/shared/recipes
out=${out:-$repo_root/bench/daemon-latency-results.md}
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

if ((skip_pgbr == 0)) && ! command -v pgbackrest >/dev/null; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbackrest >&2 || { log "pgbackrest cannot be installed: leaving it out"; skip_pgbr=1; }
fi

work=$(mktemp -d -t pgarchive-daemon-bench.XXXXXX)
chmod 0755 "$work"
port=${BENCH_PGPORT:-$((56000 + RANDOM % 1000))}
cli=${PGARCHIVE_CLI:-}
if [[ -z $cli ]]; then
  log "publishing pgarchive (Release)"
  dotnet publish "$repo_root/samples/PgArchive.Cli/PgArchive.Cli.csproj" -c Release -o "$work/cli" --nologo -v quiet -clp:ErrorsOnly >&2
  cli=$work/cli/pgarchive
fi
chmod -R a+rX "$(dirname "$cli")"

daemon_pid=""
cleanup() {
  [[ -n $daemon_pid ]] && kill -TERM "$daemon_pid" 2>/dev/null || true
  PG_STOP_TIMEOUT=10 "$recipes/start-postgres.sh" --stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
as_pg() { runuser -u postgres -- "$@"; }

log "starting PostgreSQL on 127.0.0.1:$port"
eval "$(PGPORT=$port ARCHIVE_TIMEOUT=0 ARCHIVE_COMMAND=true PG_EXTRA_CONF="max_wal_size = 4GB
checkpoint_timeout = 30min" "$recipes/start-postgres.sh" "$work/pg")"
pgdir=$PGARCHIVE_PG_DIR
psqlq() { as_pg psql -h "$pgdir" -p "$port" -U postgres -d postgres -Atqc "$1"; }
log "pgbench -i -s $scale"
as_pg pgbench -h "$pgdir" -p "$port" -U postgres -i -s "$scale" -q postgres >&2
psqlq "CREATE TABLE bulk (id bigint, payload text)" >/dev/null
echo "INSERT INTO bulk SELECT g, repeat('x', 100) FROM generate_series(1, $bulk_rows) g;" >"$work/bulk.sql"
chmod 0644 "$work/bulk.sql"

mkdir -p "$work/walg" "$work/walg-daemon" "$work/run" "$work/pgbr/repo" "$work/pgbr/log" "$work/pgbr/lock" "$work/pgbr/spool" "$work/out"
chown -R postgres: "$work/walg" "$work/walg-daemon" "$work/run" "$work/pgbr" "$work/out"

# The timing wrapper: runs its command, appends "<microseconds> <exit status>" to its first argument, exits as the command.
cat >"$work/timed.sh" <<'EOF'
#!/bin/sh
file=$1; shift
t0=$(date +%s%N)
"$@"
rc=$?
t1=$(date +%s%N)
echo "$(( (t1 - t0) / 1000 )) $rc" >>"$file"
exit $rc
EOF
chmod 0755 "$work/timed.sh"

# pgarchive's daemon, as postgres, with its own archive directory; stopped with SIGTERM at the end.
socket=$work/run/daemon.sock
# The shell writes its pid and execs pgarchive, so the pid is the daemon's own (runuser does not pass SIGTERM on).
as_pg env WALG_FILE_PREFIX="$work/walg-daemon" WALG_COMPRESSION_METHOD=lz4 HOME=/var/lib/postgresql \
  sh -c 'echo $$ >"$0"; exec "$@"' "$work/run/daemon.pid" "$cli" daemon "$socket" --pgdata "$PGDATA" >"$work/out/daemon.log" 2>&1 &
for ((i = 0; i < 100; i++)); do [[ -S $socket && -s $work/run/daemon.pid ]] && break; sleep 0.1; done
daemon_pid=$(cat "$work/run/daemon.pid")
[[ -S $socket ]] || { echo "the daemon did not start:" >&2; cat "$work/out/daemon.log" >&2; exit 1; }

if ((skip_pgbr == 0)); then
  cat >"$work/pgbr/pgbackrest.conf" <<EOF
[global]
repo1-path=$work/pgbr/repo
log-path=$work/pgbr/log
lock-path=$work/pgbr/lock
spool-path=$work/pgbr/spool
compress-type=lz4
process-max=2
archive-check=n
log-level-console=warn
log-level-file=off

[bench]
pg1-path=$PGDATA
pg1-port=$port
pg1-socket-path=$pgdir
EOF
  chown postgres: "$work/pgbr/pgbackrest.conf"
  as_pg pgbackrest --config="$work/pgbr/pgbackrest.conf" --stanza=bench stanza-create >&2
fi

ready_count() { find "$PGDATA/pg_wal/archive_status" -name '*.ready' | wc -l; }
drain() {   # waits (up to 300 s) until no .ready is left; prints the seconds it took
  local t0; t0=$(date +%s%N)
  for ((i = 0; i < 3000; i++)); do
    [[ $(ready_count) == 0 ]] && break
    sleep 0.1
  done
  awk -v ns=$(( $(date +%s%N) - t0 )) 'BEGIN { printf "%.1f", ns / 1e9 }'
}

declare -A figure
run() {   # NAME ARCHIVE_COMMAND (without the wrapper)
  local name=$1 command=$2 lat=$work/out/$1.lat
  install -o postgres -m 0644 /dev/null "$lat"
  psqlq "ALTER SYSTEM SET archive_command = '$(sed "s/'/''/g" <<<"$work/timed.sh $lat $command")'" >/dev/null
  psqlq "SELECT pg_reload_conf()" >/dev/null
  psqlq "SELECT pg_switch_wal()" >/dev/null
  drain >/dev/null
  : >"$lat"
  psqlq "SELECT pg_stat_reset_shared('archiver')" >/dev/null
  local before_wal; before_wal=$(psqlq "SELECT pg_current_wal_lsn()")
  log "$name: pgbench -c $clients -j 2 -T $seconds"
  as_pg pgbench -h "$pgdir" -p "$port" -U postgres -c "$clients" -j 2 -T "$seconds" -n -b tpcb-like@4 -f "$work/bulk.sql@1" postgres \
    >"$work/out/$name.pgbench" 2>&1 &
  local bench_pid=$! max_ready=0 ready
  while kill -0 "$bench_pid" 2>/dev/null; do
    ready=$(ready_count)
    ((ready > max_ready)) && max_ready=$ready
    sleep 0.5
  done
  wait "$bench_pid" || true
  figure[$name.end_ready]=$(ready_count)
  figure[$name.drain]=$(drain)
  figure[$name.max_ready]=$max_ready
  figure[$name.tps]=$(awk '/^tps/ { print int($3); exit }' "$work/out/$name.pgbench")
  local wal; wal=$(psqlq "SELECT (pg_current_wal_lsn() - '$before_wal'::pg_lsn) / 1048576")
  figure[$name.wal]=${wal%.*}
  # calls failures p50 p99 max, in ms
  read -r calls failures p50 p99 max < <(sort -n "$lat" | awk '
    { t[NR] = $1 / 1000; if ($2 != 0) f++ }
    END {
      if (NR == 0) { print "0 0 - - -"; exit }
      i50 = int(NR * 0.50 + 0.999); i99 = int(NR * 0.99 + 0.999)
      printf "%d %d %.1f %.1f %.1f\n", NR, f + 0, t[i50], t[i99], t[NR]
    }')
  figure[$name.calls]=$calls figure[$name.failures]=$failures figure[$name.p50]=$p50 figure[$name.p99]=$p99 figure[$name.max]=$max
  log "$name: $calls calls ($failures failed), p50 $p50 ms, p99 $p99 ms, max $max ms; max .ready $max_ready, ${figure[$name.end_ready]} at the end, drained in ${figure[$name.drain]} s; ${figure[$name.tps]} tps, ${figure[$name.wal]} MiB WAL"
}

run wal-push "env WALG_FILE_PREFIX=$work/walg WALG_COMPRESSION_METHOD=lz4 HOME=/var/lib/postgresql $cli wal-push %p"
run daemon-client "$cli daemon-client $socket wal-push %p"
((skip_pgbr == 1)) || run pgbackrest-async "pgbackrest --config=$work/pgbr/pgbackrest.conf --stanza=bench archive-push --archive-async %p"

kill -TERM "$daemon_pid" 2>/dev/null || true
for ((i = 0; i < 100; i++)); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
daemon_pid=""

{
  echo "archive_command under pgbench -c $clients -j 2 -T $seconds (scale $scale; TPC-B and 1 in 5 an insert of $bulk_rows rows), PostgreSQL 15, local-filesystem repositories, lz4; $(nproc) cores"
  echo
  echo "| archive_command | calls | failed | p50 ms | p99 ms | max ms | max .ready | .ready at end | drain s | tps | WAL MiB |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for name in wal-push daemon-client pgbackrest-async; do
    [[ -n ${figure[$name.calls]:-} ]] || continue
    echo "| $name | ${figure[$name.calls]} | ${figure[$name.failures]} | ${figure[$name.p50]} | ${figure[$name.p99]} | ${figure[$name.max]} | ${figure[$name.max_ready]} | ${figure[$name.end_ready]} | ${figure[$name.drain]} | ${figure[$name.tps]} | ${figure[$name.wal]} |"
  done
} | tee "$out"
log "written to $out"
