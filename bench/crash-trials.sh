#!/usr/bin/env bash
# Crash trials (issue 9): kill -9 of wal-push and of backup-push at random instants while pgbench writes,
# then check that no incomplete backup is listed, that wal-verify finds no gap once PostgreSQL has retried,
# and that a PITR restore of LATEST to a named restore point is row-identical to the source at that point.
# Not part of the test suite. Needs PostgreSQL 15 (shared/recipes/start-postgres.sh), pgbench, .NET 10.
#
#   bench/crash-trials.sh [--trials N] [--faults RATE] [--keep]
#     --trials N     trials (default 50)
#     --faults RATE  also wrap the store in the fault injector: PGARCHIVE_FAULT_INJECTION=RATE:SEED (testing only)
#     --keep         keep the work directory
#   PGARCHIVE_CLI=/path/to/pgarchive skips the publish.
# Prints "trials: N failures: F" and exits 1 when F > 0.
set -uo pipefail

trials=50 faults="" keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --trials) trials="$2"; shift 2 ;;
    --faults) faults="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--trials N] [--faults RATE] [--keep]" >&2; exit 2 ;;
  esac
done

repo="$(cd "$(dirname "$0")/.." && pwd)"
recipes="$(cd "$repo/../shared/recipes" 2>/dev/null && pwd || echo /work/shared/recipes)"
work="$(mktemp -d /tmp/pgarchive-crash-XXXXXX)"
chmod 755 "$work"
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

cli="${PGARCHIVE_CLI:-}"
if [[ -z "$cli" ]]; then
  log "publishing the CLI"
  dotnet publish "$repo/samples/PgArchive.Cli/PgArchive.Cli.csproj" -c Release -o "$work/cli" --nologo -v quiet >&2 || exit 2
  cli="$work/cli/pgarchive"
fi
chmod -R a+rX "$(dirname "$cli")"

export WALG_FILE_PREFIX="$work/archive"
mkdir -p "$WALG_FILE_PREFIX"
[[ $(id -u) == 0 ]] && chown postgres: "$WALG_FILE_PREFIX"
if [[ -n "$faults" ]]; then
  export PGARCHIVE_FAULT_INJECTION="$faults:$RANDOM" PGARCHIVE_STORE_RETRY_DELAY=0.05
fi

pgarchive() { as_pg env HOME=/tmp "$cli" "$@"; }

source_dir="$work/source"
restore_dir="$work/restored"
cleanup() {
  [[ -n "${bench_pid:-}" ]] && psql_src "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgbench'" >/dev/null 2>&1
  "$recipes/start-postgres.sh" --stop "$restore_dir" >/dev/null 2>&1
  "$recipes/start-postgres.sh" --stop "$source_dir" >/dev/null 2>&1
  [[ $keep == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

log "starting the source cluster"
eval "$(PGPORT=$(free_port) ARCHIVE_COMMAND="\"$cli\" wal-push \"%p\"" ARCHIVE_TIMEOUT=60s "$recipes/start-postgres.sh" "$source_dir")" || exit 2
src_port=$PGPORT
psql_src() { as_pg psql -X -q -t -A -h 127.0.0.1 -p "$src_port" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$1"; }
as_pg pgbench -h 127.0.0.1 -p "$src_port" -U postgres -i -s 1 -q postgres >/dev/null 2>&1 || exit 2

# The pgarchive wal-push processes the archiver runs (children of the archiver's sh -c), by PID.
wal_push_pids() {
  local archiver
  archiver=$(pgrep -f "postgres: archiver" -u postgres -P "$(head -1 "$source_dir/data/postmaster.pid")" | head -1)
  [[ -z "$archiver" ]] && return
  for sh in $(pgrep -P "$archiver"); do pgrep -P "$sh"; echo "$sh"; done | while read -r pid; do
    [[ "$(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null)" == *" wal-push "* ]] && echo "$pid"
  done
}

wait_archived() {
  local seg
  seg=$(psql_src "SELECT pg_walfile_name(pg_current_wal_lsn())")
  psql_src "SELECT pg_switch_wal()" >/dev/null
  for _ in $(seq 1 600); do
    [[ "$(psql_src "SELECT coalesce(last_archived_wal >= '$seg', false) FROM pg_stat_archiver")" == t ]] && return 0
    sleep 0.1
  done
  return 1
}

# pgbench runs as another user through runuser: stop it by ending its sessions (it exits when they go), then wait for it.
stop_pgbench() {
  psql_src "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'pgbench' AND pid <> pg_backend_pid()" >/dev/null
  wait "$bench_pid" 2>/dev/null
  bench_pid=""
}

state_sql="SELECT md5(string_agg(aid || ':' || abalance, ',' ORDER BY aid)) || '/' || (SELECT count(*) FROM pgbench_history) || '/' || (SELECT coalesce(sum(delta),0) FROM pgbench_history) FROM pgbench_accounts"

failures=0 retried=0
started=$(date +%s)
push_time=4
for trial in $(seq 1 "$trials"); do
  fail() { log "trial $trial: FAIL: $*"; failures=$((failures + 1)); }
  as_pg pgbench -h 127.0.0.1 -p "$src_port" -U postgres -n -c 2 -T 3600 postgres >/dev/null 2>&1 &
  bench_pid=$!

  # 1. kill -9 of a wal-push at a random instant: force segment switches until one is caught running.
  killed_wal=0
  for _ in $(seq 1 50); do
    psql_src "SELECT pg_switch_wal()" >/dev/null
    for _ in $(seq 1 40); do
      pid=$(wal_push_pids | head -1)
      if [[ -n "$pid" ]]; then
        sleep "0.0$((RANDOM % 10))"
        kill -9 "$pid" 2>/dev/null && killed_wal=1
        break 2
      fi
      sleep 0.01
    done
  done
  [[ $killed_wal == 1 ]] || log "trial $trial: no wal-push caught running (it finished first)"

  # 2. kill -9 of a backup-push at a random instant of its usual duration.
  as_pg env HOME=/tmp PGHOST=127.0.0.1 PGPORT="$src_port" PGUSER=postgres "$cli" backup-push "$source_dir/data" >/dev/null 2>"$work/push-killed.err" &
  push_pid=$!
  sleep "$(awk -v t="$push_time" -v r="$RANDOM" 'BEGIN { printf "%.2f", t * r / 32768 }')"
  kill -9 "$push_pid" 2>/dev/null
  wait "$push_pid" 2>/dev/null

  # No incomplete backup listed: every listed backup has its sentinel, pg_control and backup_label partitions.
  for name in $(pgarchive backup-list --json | python3 -c 'import json,sys; [print(b["backup_name"]) for b in json.load(sys.stdin)]'); do
    [[ -f "$WALG_FILE_PREFIX/basebackups_005/${name}_backup_stop_sentinel.json" ]] || fail "$name listed without a sentinel"
    ls "$WALG_FILE_PREFIX/basebackups_005/$name/tar_partitions/" | grep -q '^pg_control\.tar' || fail "$name listed without pg_control"
    ls "$WALG_FILE_PREFIX/basebackups_005/$name/tar_partitions/" | grep -q '^backup_label\.tar' || fail "$name listed without backup_label"
  done

  # 3. A backup that completes, still under load; then a named target.
  t0=$(date +%s.%N)
  name=$(as_pg env HOME=/tmp PGHOST=127.0.0.1 PGPORT="$src_port" PGUSER=postgres "$cli" backup-push "$source_dir/data" 2>"$work/push.err") \
    || { fail "backup-push failed: $(tail -1 "$work/push.err")"; stop_pgbench; continue; }
  push_time=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  sleep 1
  stop_pgbench
  psql_src "SELECT pg_create_restore_point('trial_$trial')" >/dev/null
  expected=$(psql_src "$state_sql")
  psql_src "UPDATE pgbench_accounts SET abalance = abalance + 7 WHERE aid % 10 = 0" # after the target: must not be restored
  wait_archived || fail "the archive did not catch up (PostgreSQL's retries of wal-push)"

  # wal-verify: no gap once PostgreSQL has retried.
  verify=$(as_pg env HOME=/tmp PGHOST=127.0.0.1 PGPORT="$src_port" PGUSER=postgres "$cli" wal-verify integrity 2>&1) \
    || fail "wal-verify integrity: $(echo "$verify" | tr '\n' ' ')"
  [[ -n "$faults" ]] && { pgarchive backup-verify "$name" >/dev/null 2>"$work/verify.err" || fail "backup-verify $name: $(tail -1 "$work/verify.err")"; }

  # 4. PITR restore of LATEST to the restore point: row-identical.
  rm -rf "$restore_dir"; mkdir -p "$restore_dir"; [[ $(id -u) == 0 ]] && chown postgres: "$restore_dir"
  if pgarchive backup-fetch "$restore_dir/data" LATEST --recovery-target-name "trial_$trial" --recovery-target-action promote >/dev/null 2>"$work/fetch.err"; then
    if eval "$(PGPORT=$(free_port) ARCHIVE_COMMAND="" "$recipes/start-postgres.sh" "$restore_dir" 2>/dev/null)"; then
      r_port=$PGPORT
      for _ in $(seq 1 600); do
        [[ "$(as_pg psql -X -t -A -h 127.0.0.1 -p "$r_port" -U postgres -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" == f ]] && break
        sleep 0.2
      done
      actual=$(as_pg psql -X -t -A -h 127.0.0.1 -p "$r_port" -U postgres -d postgres -c "$state_sql" 2>&1)
      [[ "$actual" == "$expected" ]] || fail "restored state '$actual' differs from the source's '$expected' at trial_$trial"
      "$recipes/start-postgres.sh" --stop "$restore_dir" >/dev/null 2>&1
    else
      fail "the restored cluster did not start"
    fi
  else
    fail "backup-fetch: $(tail -1 "$work/fetch.err")"
  fi
  retried=$((retried + $(cat "$work/push.err" "$work/fetch.err" "$work/verify.err" 2>/dev/null | grep -c "Injected\|transient storage failure")))
  log "trial $trial done ($name, backup-push ${push_time}s, wal-push killed: $killed_wal)"
  # Keep the archive small: only the newest backup and the WAL it needs.
  pgarchive delete retain FULL 1 --confirm >/dev/null 2>&1
done

elapsed=$(( $(date +%s) - started ))
echo "trials: $trials failures: $failures faults: ${faults:-none} retries logged by backup-push/fetch/verify: $retried elapsed: ${elapsed}s"
[[ $failures == 0 ]]
