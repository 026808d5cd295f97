#!/usr/bin/env bash
# Commit latency that synchronous wal-receive adds (issue 20): pgbench's tps and average latency with
#   none   no synchronous standby (wal-receive not running)
#   local  wal-receive --synchronous into a local-filesystem archive, named in synchronous_standby_names
#   s3     the same into S3 (s3rver on 127.0.0.1, plain http), unless --skip-s3
# Each leg runs pgbench -T SECONDS -c CLIENTS -n (TPC-B-like) RUNS times against one PostgreSQL 15 cluster
# (shared/recipes/start-postgres.sh, pgbench -i -s 10); the legs alternate run by run. Prints one Markdown table.
# Not part of the test suite. Runs as root (the server and pgarchive run as OS user postgres).
#
#   bench/wal-receive-latency.sh [--seconds N] [--clients N] [--runs N] [--scale N] [--skip-s3] [--s3-port PORT]
#   PGARCHIVE_CLI=/path/to/pgarchive skips the publish.
set -euo pipefail

seconds=20 clients=4 runs=2 scale=10 skip_s3=0 s3_port=4600
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --scale) scale=$2; shift 2 ;;
    --skip-s3) skip_s3=1; shift ;;
    --s3-port) s3_port=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--clients N] [--runs N] [--scale N] [--skip-s3] [--s3-port PORT]" >&2; exit 2 ;;
  esac
done
[[ $(id -u) == 0 ]] || { echo "run as root (the server and pgarchive run as OS user postgres)" >&2; exit 1; }

repo="$(cd "$(dirname "$0")/.." && pwd)"
recipes="$(cd "$repo/../shared/recipes" 2>/dev/null && pwd || echo /work/shared/recipes)"
work="$(mktemp -d /tmp/pgarchive-receive-bench-XXXXXX)"
chmod 755 "$work"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
receive_pid=""

cleanup() {
  [[ -n $receive_pid ]] && kill -TERM "$receive_pid" 2>/dev/null && sleep 2
  "$recipes/start-postgres.sh" --stop "$work/pg" >/dev/null 2>&1 || true
  "$recipes/start-s3rver.sh" --stop "$work/s3" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

cli="${PGARCHIVE_CLI:-}"
if [[ -z "$cli" ]]; then
  log "publishing the CLI"
  dotnet publish "$repo/samples/PgArchive.Cli/PgArchive.Cli.csproj" -c Release -o "$work/cli" --nologo -v quiet >&2
  cli="$work/cli/pgarchive"
fi
chmod -R a+rX "$(dirname "$cli")"

log "starting PostgreSQL 15, pgbench -i -s $scale"
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
eval "$(PGPORT=$pgport ARCHIVE_COMMAND='' "$recipes/start-postgres.sh" "$work/pg")"
pgbin=/usr/lib/postgresql/15/bin
psql_q() { "$pgbin/psql" -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
"$pgbin/pgbench" -i -s "$scale" -q >/dev/null 2>&1

mkdir -p "$work/archive" "$work/run"; chown postgres: "$work/archive" "$work/run"
s3_env=()
if ((skip_s3 == 0)); then
  log "starting s3rver on 127.0.0.1:$s3_port"
  # the recipe's exports are read, not evaluated: its S3_* variables stay out of the environment
  s3exports=$(S3RVER_PORT=$s3_port S3_BUCKET=bench-receive "$recipes/start-s3rver.sh" "$work/s3")
  s3var() { sed -n "s/^export $1=//p" <<<"$s3exports" | tr -d "'\""; }
  s3_env=(WALG_S3_PREFIX=s3://bench-receive/archive AWS_ENDPOINT="$(s3var S3_ENDPOINT)" AWS_S3_FORCE_PATH_STYLE=true
    AWS_REGION="$(s3var S3_REGION)" AWS_ACCESS_KEY_ID="$(s3var S3_ACCESS_KEY)" AWS_SECRET_ACCESS_KEY="$(s3var S3_SECRET_KEY)")
fi

start_receive() {   # $1: local | s3
  local store=(WALG_FILE_PREFIX="$work/archive")
  [[ $1 == s3 ]] && store=("${s3_env[@]}")
  # wal-receive records its own PID, the one signalled (SIGTERM: a background job of a script ignores SIGINT)
  rm -f "$work/run/receive.pid"
  runuser -u postgres -- env HOME=/tmp PGHOST=127.0.0.1 PGPORT="$pgport" PGUSER=postgres "${store[@]}" \
    bash -c 'echo $$ > "$0"; exec "$@"' "$work/run/receive.pid" "$cli" wal-receive --slot "bench_$1" --create-slot --synchronous >"$work/receive-$1.log" 2>&1 &
  local waited=0
  until [[ $(psql_q "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pgarchive' AND sync_state = 'sync'") == 1 ]]; do
    [[ -n $(jobs -rp) ]] || { echo "wal-receive ($1) exited" >&2; cat "$work/receive-$1.log" >&2; exit 1; }
    ((++waited < 300)) || { echo "wal-receive ($1) did not become the synchronous standby in 30 s" >&2; cat "$work/receive-$1.log" >&2; exit 1; }
    sleep 0.1
  done
  receive_pid=$(cat "$work/run/receive.pid")
}

stop_receive() {
  kill -TERM "$receive_pid"; while kill -0 "$receive_pid" 2>/dev/null; do sleep 0.1; done; receive_pid=""; wait || true
  psql_q "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active" >/dev/null
}

declare -A tps latency
legs=(none local); ((skip_s3 == 0)) && legs+=(s3)
for run in $(seq "$runs"); do
  for leg in "${legs[@]}"; do
    if [[ $leg == none ]]; then
      psql_q "ALTER SYSTEM SET synchronous_standby_names = ''"; psql_q "SELECT pg_reload_conf()" >/dev/null
    else
      psql_q "ALTER SYSTEM SET synchronous_standby_names = 'pgarchive'"; psql_q "SELECT pg_reload_conf()" >/dev/null
      start_receive "$leg"
    fi
    psql_q "CHECKPOINT"
    out=$("$pgbin/pgbench" -n -T "$seconds" -c "$clients" -j 2 2>&1)
    t=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out") l=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
    [[ -n $t && -n $l ]] || { echo "$out" >&2; exit 1; }
    log "run $run, $leg: tps $t, latency average $l ms"
    tps[$leg]+="$t " latency[$leg]+="$l "
    [[ $leg == none ]] || stop_receive
  done
done

median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo "| commits ($clients clients, ${seconds} s, pgbench -s $scale, median of $runs) | tps | latency average (ms) | every run: tps / ms |"
echo "| --- | --- | --- | --- |"
for leg in "${legs[@]}"; do
  case $leg in
    none) what="no synchronous standby" ;;
    local) what="wal-receive --synchronous, local-filesystem archive" ;;
    s3) what="wal-receive --synchronous, S3 (s3rver, http)" ;;
  esac
  echo "| $what | $(median "${tps[$leg]}") | $(median "${latency[$leg]}") | ${tps[$leg]% }/ ${latency[$leg]% } |"
done
