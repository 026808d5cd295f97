#!/usr/bin/env bash
# backup-push --remote (BASE_BACKUP over a replication connection) beside pg_basebackup -Ft -z and our local
# backup-push, on the same pgbench database (issue 20). One PostgreSQL 15 cluster (shared/recipes/start-postgres.sh,
# archive_command 'true'), pgbench -i -s SCALE; each tool runs REPEAT times, alternating, with a fast checkpoint and
# without WAL (pg_basebackup -X none, as both backup-push forms leave WAL to archiving); caches are dropped before
# every timed step, outside the timing. Both pgarchive commands write lz4 into a local-filesystem archive.
# Prints one Markdown table of median wall times and sizes. Not part of the test suite. Runs as root.
#
#   bench/remote-backup.sh [--scale N] [--repeat N]
#   PGARCHIVE_CLI=/path/to/pgarchive skips the publish.
set -euo pipefail

scale=10 repeat=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    *) echo "usage: $0 [--scale N] [--repeat N]" >&2; exit 2 ;;
  esac
done
[[ $(id -u) == 0 ]] || { echo "run as root (the server and the tools run as OS user postgres)" >&2; exit 1; }

repo="$(cd "$(dirname "$0")/.." && pwd)"
recipes="$(cd "$repo/../shared/recipes" 2>/dev/null && pwd || echo /work/shared/recipes)"
work="$(mktemp -d /tmp/pgarchive-remote-bench-XXXXXX)"
chmod 755 "$work"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
cleanup() { "$recipes/start-postgres.sh" --stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

cli="${PGARCHIVE_CLI:-}"
if [[ -z "$cli" ]]; then
  log "publishing the CLI"
  dotnet publish "$repo/samples/PgArchive.Cli/PgArchive.Cli.csproj" -c Release -o "$work/cli" --nologo -v quiet >&2
  cli="$work/cli/pgarchive"
fi
chmod -R a+rX "$(dirname "$cli")"

pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
eval "$(PGPORT=$pgport "$recipes/start-postgres.sh" "$work/pg")"
pgbin=/usr/lib/postgresql/15/bin
log "pgbench -i -s $scale"
"$pgbin/pgbench" -i -s "$scale" -q >/dev/null 2>&1
size=$("$pgbin/psql" -X -At -c "SELECT pg_size_pretty(sum(pg_database_size(oid))) FROM pg_database")

as_pg() { runuser -u postgres -- env HOME=/tmp PGHOST=127.0.0.1 PGPORT="$pgport" PGUSER=postgres "$@"; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
timed() {   # prints the wall seconds of "$@"
  local start end; start=$(date +%s.%N); "$@" >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }; end=$(date +%s.%N)
  echo "$end - $start" | bc
}

declare -A wall stored
run_remote() { rm -rf "$work/archive-remote"; install -d -o postgres "$work/archive-remote"; as_pg env WALG_FILE_PREFIX="$work/archive-remote" "$cli" backup-push --remote; }
run_local() { rm -rf "$work/archive-local"; install -d -o postgres "$work/archive-local"; as_pg env WALG_FILE_PREFIX="$work/archive-local" "$cli" backup-push "$PGDATA"; }
run_basebackup() { rm -rf "$work/basebackup"; install -d -o postgres "$work/basebackup"; as_pg "$pgbin/pg_basebackup" -D "$work/basebackup" -Ft -z -X none -c fast; }
for i in $(seq "$repeat"); do
  for tool in remote local basebackup; do
    "$pgbin/psql" -X -q -c "SELECT pg_switch_wal()" >/dev/null # a new segment: each backup gets a name of its own
    drop_caches
    seconds=$(timed "run_$tool")
    log "run $i, $tool: $seconds s"
    wall[$tool]+="$seconds "
  done
done
stored[remote]=$(du -sb "$work/archive-remote/basebackups_005" | cut -f1)
stored[local]=$(du -sb "$work/archive-local/basebackups_005" | cut -f1)
stored[basebackup]=$(du -sb "$work/basebackup" | cut -f1)

median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo "| base backup of pgbench -s $scale ($size), median of $repeat | wall (s) | stored (MB) | every run (s) |"
echo "| --- | --- | --- | --- |"
for tool in remote local basebackup; do
  case $tool in
    remote) what="pgarchive backup-push --remote (BASE_BACKUP, lz4)" ;;
    local) what="pgarchive backup-push PGDATA (lz4)" ;;
    basebackup) what="pg_basebackup -Ft -z -X none" ;;
  esac
  echo "| $what | $(median "${wall[$tool]}") | $(echo "scale=1; ${stored[$tool]} / 1000000" | bc) | ${wall[$tool]% } |"
done
