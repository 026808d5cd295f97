#!/usr/bin/env bash
# How closely WALG_DISK_RATE_LIMIT holds (issue 21): backup-push of a pgbench database while pgbench writes, at a
# disk rate limit of LIMIT bytes/s, with 4 readers (WALG_UPLOAD_DISK_CONCURRENCY=4) sharing the one budget. The
# pgarchive process's read bytes (rchar in /proc/PID/io: every read(2) it makes, data files and all) are sampled every
# 0.25 s; the rate is taken over the middle 90% of the bytes read (from the sample at 5% to the sample at 95%: the
# reading of the data directory, without process start-up, pg_backup_start's checkpoint and pg_backup_stop), and over
# the whole run. Prints one Markdown table per run: limit, bytes,
# seconds, rate and rate/limit. Not part of the test suite. Runs as root (the server and pgarchive run as OS user postgres).
#
#   bench/throttle.sh [--scale N] [--limit BYTES_PER_S] [--runs N]
#   PGARCHIVE_CLI=/path/to/pgarchive skips the publish.
set -euo pipefail

scale=20 limit=25000000 runs=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    --limit) limit=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "usage: $0 [--scale N] [--limit BYTES_PER_S] [--runs N]" >&2; exit 2 ;;
  esac
done
[[ $(id -u) == 0 ]] || { echo "run as root (the server and pgarchive run as OS user postgres)" >&2; exit 1; }

repo="$(cd "$(dirname "$0")/.." && pwd)"
recipes="$(cd "$repo/../shared/recipes" 2>/dev/null && pwd || echo /work/shared/recipes)"
work="$(mktemp -d /tmp/pgarchive-throttle-bench-XXXXXX)"
chmod 755 "$work"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

cleanup() {
  "$recipes/start-postgres.sh" --stop "$work/pg" >/dev/null 2>&1 || true
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
"$pgbin/pgbench" -i -s "$scale" -q >/dev/null 2>&1
pgdata=$("$pgbin/psql" -X -At -c "SHOW data_directory")
mkdir -p "$work/archive" "$work/run"; chown postgres: "$work/archive" "$work/run"

echo "| run | limit (B/s) | middle 90% (B) | s | rate/limit | whole run (B) | s | rate/limit |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for run in $(seq 1 "$runs"); do
  "$pgbin/pgbench" -c 2 -T 600 -n >/dev/null 2>&1 &
  load=$!
  rm -f "$work/run/push.pid"
  runuser -u postgres -- env HOME=/tmp PGHOST=127.0.0.1 PGPORT="$pgport" PGUSER=postgres WALG_FILE_PREFIX="$work/archive" \
    WALG_DISK_RATE_LIMIT="$limit" WALG_UPLOAD_DISK_CONCURRENCY=4 \
    bash -c 'echo $$ > "$0"; exec "$@"' "$work/run/push.pid" "$cli" backup-push --full "$pgdata" >"$work/push.log" 2>&1 &
  push=$!
  until [[ -s $work/run/push.pid ]]; do sleep 0.01; done
  pid=$(cat "$work/run/push.pid")
  start=$(date +%s.%N)
  : >"$work/samples"
  while kill -0 "$pid" 2>/dev/null; do
    rchar=$(awk '/^rchar/ {print $2}' "/proc/$pid/io" 2>/dev/null || true)
    [[ -n $rchar ]] && echo "$(date +%s.%N) $rchar" >>"$work/samples"
    sleep 0.25
  done
  wait "$push" || { cat "$work/push.log" >&2; exit 1; }
  end=$(date +%s.%N)
  kill "$load" 2>/dev/null; wait "$load" 2>/dev/null || true
  python3 - "$work/samples" "$limit" "$run" "$start" "$end" <<'EOF'
import sys
samples = [tuple(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
limit, run, start, end = float(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
total = samples[-1][1]
first = next(i for i, (_, r) in enumerate(samples) if r >= 0.05 * total)
last = max(i for i, (_, r) in enumerate(samples) if r <= 0.95 * total)
read = samples[last][1] - samples[first][1]
seconds = samples[last][0] - samples[first][0]
print(f"| {run} | {limit:.0f} | {read:.0f} | {seconds:.2f} | {read / seconds / limit:.3f} | {total:.0f} | {end - start:.2f} | {total / (end - start) / limit:.3f} |")
EOF
done
