#!/usr/bin/env bash
# PgArchive end to end: a throwaway PostgreSQL 15 archived with `pgarchive wal-push` to the local-filesystem
# store, filled with pgbench, backed up with `pgarchive backup-push`, marker rows written before and after
# an instant T, the cluster destroyed, restored with `pgarchive backup-fetch LATEST --recovery-target-time T`,
# started, and verified. Prints a short report; exits 0 only when verification passed. Cleans up always.
#
#   ./demo.sh [--scale N]      pgbench scale (default 10, about 150 MB)
set -euo pipefail
cd "$(dirname "$0")"
repo=$(pwd)
scale=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scale) scale=${2:?--scale needs a number}; shift 2 ;;
    *) echo "usage: $0 [--scale N]" >&2; exit 2 ;;
  esac
done

BIN=/usr/lib/postgresql/15/bin
./scripts/install-postgres.sh

if [[ $(id -u) == 0 ]]; then
  osuser=postgres
  as_pg() { runuser -u postgres -- "$@"; }
else
  osuser=$(id -un)
  as_pg() { "$@"; }
fi

work=$(mktemp -d -t pgarchive-demo.XXXXXX)
chmod 0755 "$work"
source_pid="" restored_pid=""
cleanup() {
  local rc=$?
  for data in "$work/source/data" "$work/restored/data"; do
    if [[ -f "$data/postmaster.pid" ]]; then
      as_pg "$BIN/pg_ctl" stop -D "$data" -m immediate -w -t 30 >/dev/null 2>&1 || true
    fi
  done
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT INT TERM

step() { printf '\n== %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
free_port() {
  local port
  for port in $(shuf -i 20000-60000 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "no free port found" >&2; return 1
}

step "Building pgarchive"
cli_dir="$work/cli"
dotnet publish samples/PgArchive.Cli -c Release -o "$cli_dir" --nologo -v quiet -clp:ErrorsOnly >&2
chmod -R a+rX "$cli_dir"
pgarchive="$cli_dir/pgarchive"

mkdir -p "$work/archive" "$work/source" "$work/restored"
chown -R "$osuser:" "$work/archive" "$work/source" "$work/restored"
export WALG_FILE_PREFIX="$work/archive"   # the archive: WAL-G's setting, read by every pgarchive call below
unset WALG_S3_PREFIX WALE_S3_PREFIX WALG_AZ_PREFIX WALE_WABS_PREFIX WALG_GS_PREFIX WALE_GS_PREFIX WALG_SWIFT_PREFIX WALE_SWIFT_PREFIX WALE_FILE_PREFIX

start_cluster() {   # start_cluster DIR PORT: configure and start the cluster in DIR/data
  local dir=$1 port=$2
  cat > "$dir/data/pgarchive-demo.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
wal_level = replica
archive_mode = on
archive_command = '"$pgarchive" wal-push "%p"'
archive_timeout = 60
logging_collector = off
log_line_prefix = '%m [%p] '
CONF
  chown "$osuser:" "$dir/data/pgarchive-demo.conf"
  grep -q "include_if_exists = 'pgarchive-demo.conf'" "$dir/data/postgresql.conf" ||
    echo "include_if_exists = 'pgarchive-demo.conf'" >> "$dir/data/postgresql.conf"
  as_pg "$BIN/pg_ctl" start -D "$dir/data" -w -t 120 -l "$dir/postgres.log" >/dev/null ||
    { tail -n 30 "$dir/postgres.log" >&2; return 1; }
}
sql() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d postgres -tAc "$2"; }

step "Starting a throwaway PostgreSQL 15 that archives with: pgarchive wal-push %p"
as_pg "$BIN/initdb" -D "$work/source/data" -U postgres --data-checksums --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
port=$(free_port)
start_cluster "$work/source" "$port"

step "Filling it with pgbench -i -s $scale"
"$BIN/pgbench" -i -s "$scale" -q -h 127.0.0.1 -p "$port" -U postgres postgres 2>&1 | tail -n 1 >&2
data_size=$(sql "$port" "SELECT sum(pg_database_size(oid)) FROM pg_database")

step "pgarchive backup-push"
t0=$(now)
backup=$(as_pg env PGHOST=127.0.0.1 PGPORT="$port" PGUSER=postgres PGDATABASE=postgres "$pgarchive" backup-push "$work/source/data")
t1=$(now)
push_time=$(elapsed "$t0" "$t1")
echo "backup $backup in ${push_time}s" >&2

step "Writing marker rows before and after an instant T"
sql "$port" "CREATE TABLE marker (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())"
for id in 1 2 3; do sql "$port" "INSERT INTO marker (id) VALUES ($id)"; done
sql "$port" "SELECT pg_switch_wal()" >/dev/null
sleep 1.2
target=$(sql "$port" "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
sleep 1.2
for id in 4 5 6; do sql "$port" "INSERT INTO marker (id) VALUES ($id)"; done
sql "$port" "UPDATE pgbench_accounts SET abalance = abalance + 100 WHERE aid % 1000 = 0"   # after T: must not come back
expected_accounts=$(sql "$port" "SELECT count(*) FROM pgbench_accounts")
last=$(sql "$port" "SELECT pg_walfile_name(pg_switch_wal())")
for _ in $(seq 1 600); do
  archived=$(sql "$port" "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
  [[ "$archived" > "$last" || "$archived" == "$last"* ]] && break
  sleep 0.1
done
[[ "$archived" > "$last" || "$archived" == "$last"* ]] || { echo "WAL $last was not archived" >&2; exit 1; }
echo "T = $target" >&2

step "Destroying the cluster"
as_pg "$BIN/pg_ctl" stop -D "$work/source/data" -m fast -w -t 60 >/dev/null
rm -rf "$work/source/data"
segments_archived=$(find "$work/archive/wal_005" -type f | wc -l)

step "pgarchive backup-fetch <empty dir> LATEST --recovery-target-time T"
t0=$(now)
as_pg "$pgarchive" backup-fetch "$work/restored/data" LATEST --recovery-target-time "$target" --recovery-target-action promote >/dev/null
t1=$(now)
fetch_time=$(elapsed "$t0" "$t1")

step "Starting PostgreSQL on the restored directory (recovery to T)"
port2=$(free_port)
start_cluster "$work/restored" "$port2"
for _ in $(seq 1 600); do
  [[ $(sql "$port2" "SELECT pg_is_in_recovery()" 2>/dev/null) == f ]] && break
  sleep 0.2
done
[[ $(sql "$port2" "SELECT pg_is_in_recovery()") == f ]] || { tail -n 30 "$work/restored/postgres.log" >&2; echo "recovery did not finish" >&2; exit 1; }
segments_fetched=$(grep -c 'restored log file' "$work/restored/postgres.log" || true)

step "Verifying"
ok=1
accounts=$(sql "$port2" "SELECT count(*) FROM pgbench_accounts")
changed=$(sql "$port2" "SELECT count(*) FROM pgbench_accounts WHERE abalance <> 0")
markers=$(sql "$port2" "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker")
[[ "$accounts" == "$expected_accounts" ]] || { echo "FAIL: pgbench_accounts has $accounts rows, want $expected_accounts" >&2; ok=0; }
[[ "$markers" == "1,2,3" ]] || { echo "FAIL: marker rows are [$markers], want [1,2,3] (before T only)" >&2; ok=0; }
[[ "$changed" == 0 ]] || { echo "FAIL: $changed accounts carry changes made after T" >&2; ok=0; }

sentinel="$work/archive/basebackups_005/${backup}_backup_stop_sentinel.json"
stored=$(sed -nE 's/.*"CompressedSize": *([0-9]+).*/\1/p' "$sentinel")
tarred=$(sed -nE 's/.*"UncompressedSize": *([0-9]+).*/\1/p' "$sentinel")
archive_size=$(du -sb "$work/archive" | cut -f1)
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

cat <<REPORT

PgArchive demo report (pgbench scale $scale)
  database size                  $(mib "$data_size")
  backup                         $backup
  backup tar (uncompressed)      $(mib "$tarred")
  backup stored (lz4)            $(mib "$stored")
  archive size (backup + WAL)    $(mib "$archive_size")
  backup-push wall time          ${push_time} s
  backup-fetch wall time         ${fetch_time} s
  WAL segments archived          $segments_archived
  WAL segments fetched           $segments_fetched
  recovery target T              $target
  pgbench_accounts rows          $accounts (expected $expected_accounts)
  marker rows restored           [$markers] (expected [1,2,3])
REPORT

if [[ $ok == 1 ]]; then
  echo "  verification                   PASSED"
  exit 0
fi
echo "  verification                   FAILED"
exit 1
