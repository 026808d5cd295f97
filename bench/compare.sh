#!/usr/bin/env bash
# Side-by-side benchmark: pgarchive vs pgBackRest vs pg_basebackup on one pgbench database.
#
#   bench/compare.sh [--scale N] [--repeat N] [--segments N] [--s3-segments N] [--backlog-seconds N]
#                    [--out FILE.md] [--skip-backlog] [--skip-s3]
#
# Runs as root (installs pgbackrest, GNU time and socat with apt; PostgreSQL and the tools run as OS user
# postgres). Starts its own PostgreSQL 15 (shared/recipes/start-postgres.sh) on a free port, builds the
# pgbench database (scale 100 by default, about 1.5 GB), then, one after another in the same run:
#   local-filesystem repository:
#     backup:  pgarchive backup-push | pgbackrest backup --type=full (lz4, process-max=2) | pg_basebackup -Ft -z | -Ft
#     restore: pgarchive backup-fetch | pgbackrest restore | tar -x of pg_basebackup's output
#     wal-push per-call latency over N segments (default 200) vs pgbackrest archive-push
#     cold start (--version)
#   S3 repository (unless --skip-s3): s3rver (shared/recipes/start-s3rver.sh) behind a socat TLS front
#   with a self-signed certificate made by openssl, one bucket per tool; pgBackRest (repo1-type=s3,
#   repo1-storage-verify-tls=n: it speaks S3 only over TLS) and pgarchive (WALG_S3_PREFIX, trusting the
#   certificate through WALG_S3_CA_CERT_FILE) both go through that same front, so both pay for TLS:
#     backup-push vs pgbackrest backup, backup-fetch vs pgbackrest restore,
#     wal-push latency over --s3-segments segments (default: --segments) vs pgbackrest archive-push
#   archive backlog (.ready count, pg_stat_archiver) while pgbench runs flat out with each archive_command
#   peak RSS of our commands and theirs (/usr/bin/time -v)
# Each repository's leg starts with one untimed backup by each tool (warm-up). Then backups and restores run --repeat
# times (default 1), the tools alternating (ours, theirs, ours, theirs...);
# the table gives the median wall time and the largest peak RSS, the log and the Markdown every run's figure.
# Caches are dropped (sync; echo 3 > drop_caches) before every timed step, outside the timing; each restore
# starts from an empty directory. S3 credentials reach the tools through the environment, never argv.
# Prints one table of ratios (ours / theirs) with the raw figures, also written as Markdown.
# Every figure comes from this one run: the machines are noisy, only ratios taken side by side mean much.
# pgarchive is published with Native AOT (BENCH_BUILD=r2r: ReadyToRun), or PGARCHIVE_CLI=path names a build.
set -euo pipefail

scale=100 segments=200 s3_segments="" backlog_seconds=60 out="" skip_backlog=0 skip_s3=0 repeat=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --segments) segments=$2; shift 2 ;;
    --s3-segments) s3_segments=$2; shift 2 ;;
    --skip-s3) skip_s3=1; shift ;;
    --backlog-seconds) backlog_seconds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --skip-backlog) skip_backlog=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
s3_segments=${s3_segments:-$segments}
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "--repeat takes a positive number, not '$repeat'" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "run as root (apt, and the tools run as OS user postgres)" >&2; exit 1; }

repo_root=$(cd "$(dirname "$0")/.." && pwd)
recipes=$repo_root/../shared/recipes
[[ -d $recipes ]] || recipes=/work/shared/recipes
out=${out:-$repo_root/bench/results-scale$scale.md}

# --- tools ------------------------------------------------------------------------------
if ! command -v pgbackrest >/dev/null || [[ ! -x /usr/bin/time ]] || { ((skip_s3 == 0)) && ! command -v socat >/dev/null; }; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbackrest time socat openssl curl >&2
fi

work=$(mktemp -d -t pgarchive-bench.XXXXXX)
chmod 0755 "$work"
port=${BENCH_PGPORT:-$((56000 + RANDOM % 1000))}
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

cli=${PGARCHIVE_CLI:-}
if [[ -z $cli ]]; then
  # The build we recommend for archive_command: Native AOT (one process per WAL segment, so start-up counts).
  # BENCH_BUILD=r2r benchmarks the ReadyToRun build instead (dotnet publish -r linux-x64 without AOT).
  if [[ ${BENCH_BUILD:-aot} == r2r ]]; then
    log "publishing pgarchive (Release, linux-x64: ReadyToRun)"
    dotnet publish "$repo_root/samples/PgArchive.Cli/PgArchive.Cli.csproj" -c Release -r linux-x64 --self-contained false -o "$work/cli" --nologo -v quiet >&2
  else
    log "publishing pgarchive (Release, linux-x64: Native AOT; takes a few minutes)"
    dotnet publish "$repo_root/samples/PgArchive.Cli/PgArchive.Cli.csproj" -c Release -r linux-x64 -p:PublishAot=true -o "$work/cli" --nologo -v quiet -clp:ErrorsOnly >&2
  fi
  cli=$work/cli/pgarchive
fi
chmod -R a+rX "$(dirname "$cli")"

socat_pid=""
cleanup() {
  [[ -n $socat_pid ]] && kill "$socat_pid" 2>/dev/null || true
  "$recipes/start-s3rver.sh" --stop "$work/s3" >/dev/null 2>&1 || true
  PG_STOP_TIMEOUT=10 "$recipes/start-postgres.sh" --stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

as_pg() { runuser -u postgres -- "$@"; }

# --- cluster ------------------------------------------------------------------------------
log "starting PostgreSQL on 127.0.0.1:$port"
eval "$(PGPORT=$port ARCHIVE_TIMEOUT=0 PG_EXTRA_CONF="max_wal_size = 4GB
checkpoint_timeout = 30min" "$recipes/start-postgres.sh" "$work/pg")"
pgdir=$PGARCHIVE_PG_DIR
psqlq() { as_pg psql -h "$pgdir" -p "$port" -U postgres -d postgres -Atqc "$1"; }
log "pgbench -i -s $scale"
as_pg pgbench -h "$pgdir" -p "$port" -U postgres -i -s "$scale" -q postgres >&2
db_bytes=$(du -sb "$PGDATA" | cut -f1)
log "data directory: $((db_bytes >> 20)) MiB"

# --- settings of each tool -------------------------------------------------------------------
mkdir -p "$work/walg" "$work/pgbr/repo" "$work/pgbr/log" "$work/pgbr/lock" "$work/pgbr/spool" "$work/out"
chown -R postgres: "$work/walg" "$work/pgbr" "$work/out"
base_env=(WALG_COMPRESSION_METHOD=lz4 PGHOST="$pgdir" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres HOME=/var/lib/postgresql)
walg_env=(WALG_FILE_PREFIX="$work/walg" "${base_env[@]}")
# pgbr_config FILE SPOOL_DIR REPOSITORY_SETTINGS: pgBackRest's configuration of the stanza "bench" for one repository
pgbr_config() {
  cat >"$1" <<EOF
[global]
$3
log-path=$work/pgbr/log
lock-path=$work/pgbr/lock
spool-path=$2
compress-type=lz4
process-max=2
start-fast=y
archive-check=n
log-level-console=warn
log-level-file=off

[bench]
pg1-path=$PGDATA
pg1-port=$port
pg1-socket-path=$pgdir
EOF
  chown postgres: "$1"
}
pgbr_config "$work/pgbr/pgbackrest.conf" "$work/pgbr/spool" "repo1-path=$work/pgbr/repo"
pgbr=(pgbackrest --config="$work/pgbr/pgbackrest.conf" --stanza=bench)
as_pg "${pgbr[@]}" stanza-create >&2

# timed NAME CMD...: runs CMD as postgres under /usr/bin/time -v; records wall seconds, peak RSS (KiB), the CPU
# seconds of the command's processes (user + system) and those of the whole machine meanwhile (servers included)
declare -A wall rss runs cpu busy
clock_ticks=$(getconf CLK_TCK)
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }   # user nice system irq softirq
timed() {
  local name=$1; shift
  local tv="$work/out/$name.time" t0 t1
  sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  t0=$(machine_ticks)
  if ! /usr/bin/time -v -o "$tv" runuser -u postgres -- "$@" >"$work/out/$name.log" 2>&1; then
    echo "$name failed:" >&2; tail -20 "$work/out/$name.log" >&2; exit 1
  fi
  t1=$(machine_ticks)
  wall[$name]=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$tv")
  rss[$name]=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tv")
  cpu[$name]=$(awk -F': ' '/(User|System) time \(seconds\)/ { s += $2 } END { printf "%.1f", s }' "$tv")
  busy[$name]=$(awk -v t=$((t1 - t0)) -v hz="$clock_ticks" 'BEGIN { printf "%.1f", t / hz }')
  log "$name: ${wall[$name]} s, peak RSS $((rss[$name] / 1024)) MiB, CPU ${cpu[$name]} s (machine ${busy[$name]} s)"
}
# summarize NAME: from the runs NAME.1 .. NAME.$repeat, wall[NAME] = median, rss[NAME] = largest, runs[NAME] = each
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
summarize() {
  local name=$1 r w=() c=() m=0
  for ((r = 1; r <= repeat; r++)); do
    w+=("${wall[$name.$r]}")
    c+=("${cpu[$name.$r]}/${busy[$name.$r]}")
    ((${rss[$name.$r]} > m)) && m=${rss[$name.$r]}
  done
  wall[$name]=$(median "${w[@]}")
  rss[$name]=$m
  runs[$name]="${w[*]} (CPU s, the command's / the machine's: ${c[*]})"
  log "$name: median ${wall[$name]} s of ${w[*]}; largest peak RSS $((m / 1024)) MiB"
}

# --- backups and restores -----------------------------------------------------------------------
restore_dir=$work/restore
fresh() { rm -rf "$restore_dir"; install -d -o postgres -m 0700 "$restore_dir"; }
restored() {   # NAME: after a restore (untimed), a data directory must be there
  [[ -f $restore_dir/PG_VERSION && -d $restore_dir/base ]] || { echo "$1 left no data directory in $restore_dir" >&2; exit 1; }
  log "$1: restored $(($(du -sb "$restore_dir" | cut -f1) >> 20)) MiB"
}
# rounds LEG LABEL OURS_ENV PGBR [MORE_BACKUPS MORE_RESTORES]: --repeat rounds of backups, then --repeat rounds of
# restores, pgarchive and pgBackRest alternating, for one repository. OURS_ENV and PGBR name the arrays of pgarchive's
# environment and of the pgbackrest command; LEG goes into the figures' names (ours${LEG}_backup, pgbr${LEG}_restore);
# MORE_* name functions that run other tools at the end of each round (given the round).
rounds() {
  local leg=$1 label=$2 more_backups=${5:-} more_restores=${6:-} r
  local -n ours_env=$3 pgbr_cmd=$4
  # Warm-up, untimed: the first timed backup of a leg (ours, as ours goes first) took up to 5 s more CPU than the next
  # ones, in the kernel's copies of file pages: a state of the machine, not of the tool (outside this script the first
  # backup-push after an s3rver restart did too, and not when another backup-push had run just before it).
  log "warm-up, $label: one untimed backup by each tool"
  as_pg env "${ours_env[@]}" "$cli" backup-push "$PGDATA" >"$work/out/ours${leg}_warmup.log" 2>&1 ||
    { echo "warm-up backup-push failed:" >&2; tail -20 "$work/out/ours${leg}_warmup.log" >&2; exit 1; }
  as_pg "${pgbr_cmd[@]}" backup --type=full >"$work/out/pgbr${leg}_warmup.log" 2>&1 ||
    { echo "warm-up pgbackrest backup failed:" >&2; tail -20 "$work/out/pgbr${leg}_warmup.log" >&2; exit 1; }
  psqlq "SELECT pg_switch_wal()" >/dev/null
  for ((r = 1; r <= repeat; r++)); do
    log "backups, $label, round $r of $repeat"
    psqlq "CHECKPOINT" >/dev/null
    timed "ours${leg}_backup.$r" env "${ours_env[@]}" "$cli" backup-push "$PGDATA"
    psqlq "SELECT pg_switch_wal()" >/dev/null
    timed "pgbr${leg}_backup.$r" "${pgbr_cmd[@]}" backup --type=full
    psqlq "SELECT pg_switch_wal()" >/dev/null
    [[ -z $more_backups ]] || "$more_backups" "$r"
  done
  summarize "ours${leg}_backup"; summarize "pgbr${leg}_backup"
  for ((r = 1; r <= repeat; r++)); do
    log "restores, $label, round $r of $repeat"
    fresh; timed "ours${leg}_restore.$r" env "${ours_env[@]}" "$cli" backup-fetch "$restore_dir" LATEST; restored "ours${leg}_restore.$r"
    fresh; timed "pgbr${leg}_restore.$r" "${pgbr_cmd[@]}" restore --pg1-path="$restore_dir"; restored "pgbr${leg}_restore.$r"
    [[ -z $more_restores ]] || "$more_restores" "$r"
  done
  summarize "ours${leg}_restore"; summarize "pgbr${leg}_restore"
  rm -rf "$restore_dir"
}
pgbb_backups() {   # ROUND: pg_basebackup compressed and not; the size of one backup of each tool
  local r=$1
  rm -rf "$work/out/pgbb_gz" "$work/out/pgbb_tar"
  timed "pgbb_gz.$r" pg_basebackup -h "$pgdir" -p "$port" -U postgres -D "$work/out/pgbb_gz" -Ft -z --checkpoint=fast -X fetch
  timed "pgbb_tar.$r" pg_basebackup -h "$pgdir" -p "$port" -U postgres -D "$work/out/pgbb_tar" -Ft --checkpoint=fast -X fetch
  if ((r == 1)); then
    size_ours=$(du -sb "$work/walg/basebackups_005" | cut -f1)
    size_pgbr=$(du -sb "$work/pgbr/repo/backup" | cut -f1)
    size_gz=$(du -sb "$work/out/pgbb_gz" | cut -f1)
  fi
}
pgbb_restores() {   # ROUND: untarring pg_basebackup's output
  fresh; timed "pgbb_untar_gz.$1" tar -xzf "$work/out/pgbb_gz/base.tar.gz" -C "$restore_dir"
  fresh; timed "pgbb_untar.$1" tar -xf "$work/out/pgbb_tar/base.tar" -C "$restore_dir"
}
rounds "" "local filesystem" walg_env pgbr pgbb_backups pgbb_restores
for n in pgbb_gz pgbb_tar pgbb_untar_gz pgbb_untar; do summarize $n; done
rm -rf "$work/out/pgbb_gz" "$work/out/pgbb_tar"

# --- wal-push latency -------------------------------------------------------------------------
# $segments names, all hard links to one real segment of this cluster (pgBackRest checks the WAL header's
# system identifier), in a pg_wal-like directory with archive_status/NAME.ready as PostgreSQL leaves them.
# Each call is timed as PostgreSQL's archiver runs it: in name order, .ready renamed .done on success.
log "wal-push latency over $segments segments"
psqlq "SELECT pg_switch_wal()" >/dev/null
sample=$(ls "$PGDATA/pg_wal" | grep -E '^[0-9A-F]{24}$' | sort | awk 'NR == 1')   # awk reads it all: head -1 could leave sort a SIGPIPE
cp "$PGDATA/pg_wal/$sample" "$work/out/sample.wal"   # kept: later checkpoints recycle the original
latency() {   # NAME DIR COUNT CMD... (the segment path is appended)
  local name=$1 dir=$2 segments=$3; shift 3
  rm -rf "$dir"; install -d -o postgres "$dir" "$dir/archive_status"
  cp "$work/out/sample.wal" "$dir/.sample"
  local i seg
  for ((i = 0; i < segments; i++)); do
    seg=$(printf '0000000A%08X%08X' $((i / 256)) $((i % 256)))
    ln "$dir/.sample" "$dir/$seg"
    touch "$dir/archive_status/$seg.ready"
  done
  chown -R postgres: "$dir"
  : >"$work/out/$name.lat"
  local maxrss=0
  for ((i = 0; i < segments; i++)); do
    seg=$(printf '0000000A%08X%08X' $((i / 256)) $((i % 256)))
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$work/out/$name.rss" runuser -u postgres -- "$@" "$dir/$seg" >>"$work/out/$name.log" 2>&1 \
      || { echo "$name failed on $seg" >&2; tail -5 "$work/out/$name.log" >&2; exit 1; }
    t1=$(date +%s%N)
    mv "$dir/archive_status/$seg.ready" "$dir/archive_status/$seg.done"
    echo $(((t1 - t0) / 1000)) >>"$work/out/$name.lat"
    local r; r=$(cat "$work/out/$name.rss"); ((r > maxrss)) && maxrss=$r
  done
  rss[$name]=$maxrss
  wall[${name}_p50]=$(sort -n "$work/out/$name.lat" | awk '{ a[NR] = $1 } END { printf "%.1f", a[int(NR * 0.50 + 0.5)] / 1000 }')
  wall[${name}_p99]=$(sort -n "$work/out/$name.lat" | awk '{ a[NR] = $1 } END { i = int(NR * 0.99 + 0.5); if (i < 1) i = 1; printf "%.1f", a[i] / 1000 }')
  wall[${name}_total]=$(awk '{ s += $1 } END { printf "%.2f", s / 1e6 }' "$work/out/$name.lat")
  log "$name: p50 ${wall[${name}_p50]} ms, p99 ${wall[${name}_p99]} ms, total ${wall[${name}_total]} s, peak RSS $((maxrss / 1024)) MiB"
  rm -rf "$dir"
}
latency ours_walpush "$work/walpush" "$segments" env "${walg_env[@]}" "$cli" wal-push
latency ours_walpush1 "$work/walpush" "$segments" env "${walg_env[@]}" WALG_UPLOAD_CONCURRENCY=1 "$cli" wal-push
latency pgbr_walpush "$work/walpush" "$segments" "${pgbr[@]}" archive-push

# cold start alone: a command that touches no store
startup() {   # NAME CMD...
  local name=$1; shift
  local t0 t1 i
  : >"$work/out/$name.lat"
  for ((i = 0; i < 30; i++)); do
    t0=$(date +%s%N); runuser -u postgres -- "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000)) >>"$work/out/$name.lat"
  done
  wall[$name]=$(sort -n "$work/out/$name.lat" | awk '{ a[NR] = $1 } END { printf "%.1f", a[int(NR * 0.5 + 0.5)] / 1000 }')
  log "$name: median ${wall[$name]} ms"
}
startup ours_version env "${walg_env[@]}" "$cli" --version
startup pgbr_version pgbackrest version

# --- S3 repository: s3rver behind a TLS front ---------------------------------------------------
# pgBackRest speaks S3 only over TLS, which s3rver does not serve: socat terminates TLS in front of it
# (as shared/recipes/README.md describes), with a self-signed certificate for 127.0.0.1. pgarchive goes
# through the same front and trusts that certificate with WALG_S3_CA_CERT_FILE (host names still checked);
# pgBackRest does not verify it (repo1-storage-verify-tls=n). One bucket each, the same s3rver.
free_port() {   # a port in [$1, $1 + 1000) that nothing answers on
  local p i
  for ((i = 0; i < 100; i++)); do
    p=$(($1 + RANDOM % 1000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "no free port above $1" >&2; return 1
}
if ((skip_s3 == 0)); then
  s3port=$(free_port 47000)
  log "starting s3rver on 127.0.0.1:$s3port"
  # the recipe's exports are read, not evaluated: S3_* variables must not reach the tools
  s3exports=$(S3RVER_PORT=$s3port S3_BUCKET=bench-ours "$recipes/start-s3rver.sh" "$work/s3")
  s3var() { sed -n "s/^export $1=//p" <<<"$s3exports"; }
  s3_key=$(s3var S3_ACCESS_KEY) s3_secret=$(s3var S3_SECRET_KEY) s3_region=$(s3var S3_REGION)

  mkdir -p "$work/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -addext "basicConstraints=critical,CA:TRUE" \
    -keyout "$work/tls/key.pem" -out "$work/tls/cert.pem" 2>/dev/null
  (umask 077; cat "$work/tls/cert.pem" "$work/tls/key.pem" >"$work/tls/socat.pem")
  chmod 0755 "$work/tls"; chmod 0644 "$work/tls/cert.pem"
  tlsport=$(free_port 48000)
  socat "OPENSSL-LISTEN:$tlsport,bind=127.0.0.1,fork,reuseaddr,cert=$work/tls/socat.pem,verify=0" "TCP:127.0.0.1:$s3port" \
    2>"$work/out/socat.log" &
  socat_pid=$!
  for ((i = 0; i < 50; i++)); do (exec 3<>"/dev/tcp/127.0.0.1/$tlsport") 2>/dev/null && break; sleep 0.1; done
  log "TLS front on 127.0.0.1:$tlsport (socat, PID $socat_pid)"
  s3_endpoint=https://127.0.0.1:$tlsport

  # the second bucket, through the TLS front (checks the front); SigV4 by curl, the key from stdin, not argv
  printf 'user = "%s:%s"\n' "$s3_key" "$s3_secret" |
    curl -sS -f -K - -X PUT --cacert "$work/tls/cert.pem" --aws-sigv4 "aws:amz:$s3_region:s3" \
      -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
      "$s3_endpoint/bench-pgbr" >/dev/null

  # secrets through the environment (runuser passes it on), never argv
  export AWS_ACCESS_KEY_ID=$s3_key AWS_SECRET_ACCESS_KEY=$s3_secret
  export PGBACKREST_REPO1_S3_KEY=$s3_key PGBACKREST_REPO1_S3_KEY_SECRET=$s3_secret
  walg_s3_env=(WALG_S3_PREFIX=s3://bench-ours/walg AWS_ENDPOINT="$s3_endpoint" AWS_S3_FORCE_PATH_STYLE=true
    AWS_REGION="$s3_region" WALG_S3_CA_CERT_FILE="$work/tls/cert.pem" "${base_env[@]}")
  mkdir -p "$work/pgbr/spool-s3"; chown postgres: "$work/pgbr/spool-s3"
  pgbr_config "$work/pgbr/pgbackrest-s3.conf" "$work/pgbr/spool-s3" "repo1-type=s3
repo1-path=/pgbr
repo1-s3-bucket=bench-pgbr
repo1-s3-endpoint=127.0.0.1
repo1-s3-region=$s3_region
repo1-s3-uri-style=path
repo1-storage-port=$tlsport
repo1-storage-verify-tls=n"
  pgbr_s3=(pgbackrest --config="$work/pgbr/pgbackrest-s3.conf" --stanza=bench)
  as_pg "${pgbr_s3[@]}" stanza-create >&2
  rounds _s3 S3 walg_s3_env pgbr_s3

  log "wal-push latency to S3 over $s3_segments segments"
  latency ours_s3_walpush "$work/walpush" "$s3_segments" env "${walg_s3_env[@]}" "$cli" wal-push
  latency pgbr_s3_walpush "$work/walpush" "$s3_segments" "${pgbr_s3[@]}" archive-push
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY PGBACKREST_REPO1_S3_KEY PGBACKREST_REPO1_S3_KEY_SECRET
  kill "$socat_pid" 2>/dev/null || true; socat_pid=""
  "$recipes/start-s3rver.sh" --stop "$work/s3" >/dev/null 2>&1 || true
fi

# --- archive backlog under pgbench -------------------------------------------------------------
backlog() {   # NAME ARCHIVE_COMMAND
  local name=$1 command=$2
  psqlq "ALTER SYSTEM SET archive_command = '$(sed "s/'/''/g" <<<"$command")'" >/dev/null
  psqlq "SELECT pg_reload_conf()" >/dev/null
  psqlq "SELECT pg_switch_wal()" >/dev/null
  sleep 2
  psqlq "SELECT pg_stat_reset_shared('archiver')" >/dev/null
  local before_wal; before_wal=$(psqlq "SELECT pg_current_wal_lsn()")
  as_pg pgbench -h "$pgdir" -p "$port" -U postgres -c 4 -j 2 -T "$backlog_seconds" -n postgres >"$work/out/$name.pgbench" 2>&1 &
  local bench_pid=$! max_ready=0 ready
  while kill -0 "$bench_pid" 2>/dev/null; do
    ready=$(find "$PGDATA/pg_wal/archive_status" -name '*.ready' | wc -l)
    ((ready > max_ready)) && max_ready=$ready
    sleep 1
  done
  wait "$bench_pid" || true
  ready=$(find "$PGDATA/pg_wal/archive_status" -name '*.ready' | wc -l)
  local stats; stats=$(psqlq "SELECT archived_count || ' ' || failed_count FROM pg_stat_archiver")
  local wal_mib; wal_mib=$(psqlq "SELECT (pg_current_wal_lsn() - '$before_wal'::pg_lsn) / 1048576")
  local tps; tps=$(awk '/^tps/ { print int($3); exit }' "$work/out/$name.pgbench")
  wall[${name}_max_ready]=$max_ready
  wall[${name}_end_ready]=$ready
  wall[${name}_archived]=${stats% *}
  wall[${name}_failed]=${stats#* }
  wall[${name}_tps]=$tps
  wall[${name}_wal]=${wal_mib%.*}
  log "$name: max .ready $max_ready, at end $ready, archived ${stats% *}, failed ${stats#* }, $tps tps, ${wal_mib%.*} MiB WAL"
  # drain before the next tool
  local i
  for ((i = 0; i < 300; i++)); do
    [[ $(find "$PGDATA/pg_wal/archive_status" -name '*.ready' | wc -l) == 0 ]] && break
    sleep 1
  done
}
if ((skip_backlog == 0)); then
  log "archive backlog, pgbench -c 4 -j 2 -T $backlog_seconds with each archive_command"
  envs=$(printf '%q ' "${walg_env[@]}")
  backlog ours_backlog "env $envs $cli wal-push %p"
  backlog pgbr_backlog "pgbackrest --config=$work/pgbr/pgbackrest.conf --stanza=bench archive-push %p"
  psqlq "ALTER SYSTEM SET archive_command = 'true'" >/dev/null
  psqlq "SELECT pg_reload_conf()" >/dev/null
fi

# --- table ------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
mib() { echo $(( $1 / 1024 )); }
{
  if ((skip_s3 == 0)); then repos="local filesystem and S3 (s3rver) repositories"; else repos="local filesystem repository"; fi
  echo "## pgarchive benchmark: scale $scale ($((db_bytes >> 20)) MiB data directory), $repos"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r); pgbackrest $(pgbackrest version | awk '{ print $2 }'), PostgreSQL 15. Lower is better; ratio = ours / theirs."
  if ((repeat > 1)); then
    echo "Backup and restore walls are medians of $repeat runs, the tools alternating, after one untimed backup by each tool; peak RSS is the largest of the runs. Each run's figures are below the table."
  fi
  echo
  echo "| repository | measure | pgarchive | compared with | theirs | ratio |"
  echo "| --- | --- | ---: | --- | ---: | ---: |"
  echo "| local | backup wall (s) | ${wall[ours_backup]} | pgbackrest backup --type=full, lz4, process-max=2 | ${wall[pgbr_backup]} | $(ratio "${wall[ours_backup]}" "${wall[pgbr_backup]}") |"
  echo "| local | backup wall (s) | ${wall[ours_backup]} | pg_basebackup -Ft -z | ${wall[pgbb_gz]} | $(ratio "${wall[ours_backup]}" "${wall[pgbb_gz]}") |"
  echo "| local | backup wall (s) | ${wall[ours_backup]} | pg_basebackup -Ft (uncompressed) | ${wall[pgbb_tar]} | $(ratio "${wall[ours_backup]}" "${wall[pgbb_tar]}") |"
  echo "| local | backup size (MiB) | $((size_ours >> 20)) | pgbackrest / pg_basebackup -z | $((size_pgbr >> 20)) / $((size_gz >> 20)) | $(ratio "$size_ours" "$size_pgbr") |"
  echo "| local | restore wall (s) | ${wall[ours_restore]} | pgbackrest restore | ${wall[pgbr_restore]} | $(ratio "${wall[ours_restore]}" "${wall[pgbr_restore]}") |"
  echo "| local | restore wall (s) | ${wall[ours_restore]} | tar -xzf (pg_basebackup -z) | ${wall[pgbb_untar_gz]} | $(ratio "${wall[ours_restore]}" "${wall[pgbb_untar_gz]}") |"
  echo "| local | restore wall (s) | ${wall[ours_restore]} | tar -xf (pg_basebackup) | ${wall[pgbb_untar]} | $(ratio "${wall[ours_restore]}" "${wall[pgbb_untar]}") |"
  echo "| local | wal-push p50 (ms), $segments .ready segments | ${wall[ours_walpush_p50]} | pgbackrest archive-push | ${wall[pgbr_walpush_p50]} | $(ratio "${wall[ours_walpush_p50]}" "${wall[pgbr_walpush_p50]}") |"
  echo "| local | wal-push p99 (ms) | ${wall[ours_walpush_p99]} | pgbackrest archive-push | ${wall[pgbr_walpush_p99]} | $(ratio "${wall[ours_walpush_p99]}" "${wall[pgbr_walpush_p99]}") |"
  echo "| local | wal-push total for $segments (s) | ${wall[ours_walpush_total]} | pgbackrest archive-push | ${wall[pgbr_walpush_total]} | $(ratio "${wall[ours_walpush_total]}" "${wall[pgbr_walpush_total]}") |"
  echo "| local | wal-push p50 (ms), WALG_UPLOAD_CONCURRENCY=1 | ${wall[ours_walpush1_p50]} | pgbackrest archive-push | ${wall[pgbr_walpush_p50]} | $(ratio "${wall[ours_walpush1_p50]}" "${wall[pgbr_walpush_p50]}") |"
  echo "| local | wal-push p99 (ms), WALG_UPLOAD_CONCURRENCY=1 | ${wall[ours_walpush1_p99]} | pgbackrest archive-push | ${wall[pgbr_walpush_p99]} | $(ratio "${wall[ours_walpush1_p99]}" "${wall[pgbr_walpush_p99]}") |"
  echo "| (none) | cold start, median of 30 (ms) | ${wall[ours_version]} (pgarchive --version) | pgbackrest version | ${wall[pgbr_version]} | $(ratio "${wall[ours_version]}" "${wall[pgbr_version]}") |"
  if ((skip_backlog == 0)); then
    echo "| local | archive backlog: max .ready during ${backlog_seconds} s pgbench | ${wall[ours_backlog_max_ready]} | pgbackrest archive-push | ${wall[pgbr_backlog_max_ready]} | |"
    echo "| local | archive backlog: .ready when pgbench ends | ${wall[ours_backlog_end_ready]} | pgbackrest archive-push | ${wall[pgbr_backlog_end_ready]} | |"
    echo "| local | pg_stat_archiver archived / failed | ${wall[ours_backlog_archived]} / ${wall[ours_backlog_failed]} | pgbackrest archive-push | ${wall[pgbr_backlog_archived]} / ${wall[pgbr_backlog_failed]} | |"
    echo "| local | pgbench tps / WAL written (MiB) | ${wall[ours_backlog_tps]} / ${wall[ours_backlog_wal]} | pgbackrest archive-push | ${wall[pgbr_backlog_tps]} / ${wall[pgbr_backlog_wal]} | |"
  fi
  echo "| local | peak RSS backup-push (MiB) | $(mib "${rss[ours_backup]}") | pgbackrest backup | $(mib "${rss[pgbr_backup]}") | $(ratio "${rss[ours_backup]}" "${rss[pgbr_backup]}") |"
  echo "| local | peak RSS backup-fetch (MiB) | $(mib "${rss[ours_restore]}") | pgbackrest restore | $(mib "${rss[pgbr_restore]}") | $(ratio "${rss[ours_restore]}" "${rss[pgbr_restore]}") |"
  echo "| local | peak RSS wal-push (MiB) | $(mib "${rss[ours_walpush]}") | pgbackrest archive-push | $(mib "${rss[pgbr_walpush]}") | $(ratio "${rss[ours_walpush]}" "${rss[pgbr_walpush]}") |"
  if ((skip_s3 == 0)); then
    echo "| S3 | backup wall (s) | ${wall[ours_s3_backup]} | pgbackrest backup --type=full, lz4, process-max=2, repo1-type=s3 | ${wall[pgbr_s3_backup]} | $(ratio "${wall[ours_s3_backup]}" "${wall[pgbr_s3_backup]}") |"
    echo "| S3 | restore wall (s) | ${wall[ours_s3_restore]} | pgbackrest restore | ${wall[pgbr_s3_restore]} | $(ratio "${wall[ours_s3_restore]}" "${wall[pgbr_s3_restore]}") |"
    echo "| S3 | wal-push p50 (ms), $s3_segments .ready segments | ${wall[ours_s3_walpush_p50]} | pgbackrest archive-push | ${wall[pgbr_s3_walpush_p50]} | $(ratio "${wall[ours_s3_walpush_p50]}" "${wall[pgbr_s3_walpush_p50]}") |"
    echo "| S3 | wal-push p99 (ms) | ${wall[ours_s3_walpush_p99]} | pgbackrest archive-push | ${wall[pgbr_s3_walpush_p99]} | $(ratio "${wall[ours_s3_walpush_p99]}" "${wall[pgbr_s3_walpush_p99]}") |"
    echo "| S3 | wal-push total for $s3_segments (s) | ${wall[ours_s3_walpush_total]} | pgbackrest archive-push | ${wall[pgbr_s3_walpush_total]} | $(ratio "${wall[ours_s3_walpush_total]}" "${wall[pgbr_s3_walpush_total]}") |"
    echo "| S3 | peak RSS backup-push (MiB) | $(mib "${rss[ours_s3_backup]}") | pgbackrest backup | $(mib "${rss[pgbr_s3_backup]}") | $(ratio "${rss[ours_s3_backup]}" "${rss[pgbr_s3_backup]}") |"
    echo "| S3 | peak RSS backup-fetch (MiB) | $(mib "${rss[ours_s3_restore]}") | pgbackrest restore | $(mib "${rss[pgbr_s3_restore]}") | $(ratio "${rss[ours_s3_restore]}" "${rss[pgbr_s3_restore]}") |"
    echo "| S3 | peak RSS wal-push (MiB) | $(mib "${rss[ours_s3_walpush]}") | pgbackrest archive-push | $(mib "${rss[pgbr_s3_walpush]}") | $(ratio "${rss[ours_s3_walpush]}" "${rss[pgbr_s3_walpush]}") |"
  fi
  echo
  if ((skip_s3 == 0)); then
    echo "S3: s3rver 3.7.1 behind a socat TLS front, both tools through it. pgBackRest talks S3 only over TLS; socat terminates TLS (self-signed certificate, a new connection forks a socat process) in front of s3rver on 127.0.0.1. pgarchive goes through the same front and verifies the certificate (WALG_S3_CA_CERT_FILE); pgBackRest does not (repo1-storage-verify-tls=n). One bucket per tool on the same s3rver."
    echo
  fi
  echo "Peak RSS is /usr/bin/time -v's maximum resident set size: that of the largest single process of the command's tree (pgBackRest's process-max workers are separate processes)."
  if ((repeat > 1)); then
    echo
    echo "Each run's wall (s), in the order run, and the CPU seconds (user + system) of the command's processes / of the whole machine during it (2 cores: at most 2 × wall):"
    echo
    for n in ours_backup pgbr_backup pgbb_gz pgbb_tar ours_restore pgbr_restore pgbb_untar_gz pgbb_untar \
      ours_s3_backup pgbr_s3_backup ours_s3_restore pgbr_s3_restore; do
      if [[ -n ${runs[$n]:-} ]]; then echo "- $n: ${runs[$n]}"; fi
    done
  fi
} | tee "$out"
log "written to $out"
