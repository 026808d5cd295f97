#!/usr/bin/env bash
# Checks the Debian package on this machine, system-wide (as root): dpkg -i, dpkg -s, /usr/bin/pgarchive
# --version, then the PITR round trip with only the installed package (archive_command = 'pgarchive --envdir
# /etc/pgarchive/env wal-push %p', libsodium encryption, backup-push, backup-fetch to a time, PostgreSQL 15
# recovering through the restore_command backup-fetch wrote) inside a mount namespace where the .NET
# installation is hidden, then dpkg --purge, after which no file of the package may remain.
# Refuses to run when a pgarchive package it did not install is present; removes its own on any exit.
#   scripts/deb-check.sh pgarchive_VERSION_amd64.deb [EXPECTED_COMMIT]
set -euo pipefail
deb=$(realpath "$1") commit=${2:-}
pgbin=/usr/lib/postgresql/15/bin
fail() { echo "deb-check: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || fail "needs root (it installs the package system-wide)"
if dpkg-query -W -f '${Status}' pgarchive 2>/dev/null | grep -q installed; then
  fail "a pgarchive package is already installed ($(dpkg-query -W -f '${Version}' pgarchive)); not touching it"
fi
files=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' | grep -v '/$')
installed=0 work=$(mktemp -d /tmp/pgarchive-deb-XXXXXX)
cleanup() {
  if [[ -f $work/data/postmaster.pid ]]; then runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; fi
  if [[ -f $work/restored/postmaster.pid ]]; then runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/restored" -m immediate stop >/dev/null 2>&1 || true; fi
  [[ $installed == 1 ]] && dpkg --purge pgarchive >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

dpkg -i "$deb" >/dev/null; installed=1
dpkg -s pgarchive | grep -qx 'Status: install ok installed' || fail "dpkg -s does not say installed"
version=$(/usr/bin/pgarchive --version) || fail "/usr/bin/pgarchive --version failed"
[[ -z $commit || $version == *"+$commit"* ]] || fail "--version says '$version', not commit $commit"
echo "installed: pgarchive $version" >&2

# PITR with the installed package only, as PostgreSQL's OS user, the .NET installation hidden.
chmod 0755 "$work"; chown postgres: "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env=/etc/pgarchive/env
echo "$work/archive" > $env/WALG_FILE_PREFIX
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > $env/WALG_LIBSODIUM_KEY
echo hex > $env/WALG_LIBSODIUM_KEY_TRANSFORM
chgrp postgres $env/WALG_LIBSODIUM_KEY && chmod 0640 $env/WALG_LIBSODIUM_KEY
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet || echo /usr/share/dotnet/dotnet)")")
unshare --mount --propagation private bash -euo pipefail -s "$work" "$port" "$pgbin" "$dotnet_root" <<'SCRIPT'
work=$1 port=$2 pgbin=$3 dotnet_root=$4
if [[ -d $dotnet_root ]]; then mkdir -p "$work/empty"; mount --bind "$work/empty" "$dotnet_root"; fi
as_pg() { runuser -u postgres -- env -i PATH=/usr/bin:/bin HOME="$work" LANG=C "$@"; }
sql() { as_pg "$pgbin/psql" -h "$work" -p "$port" -U postgres -d postgres -Atqc "$1"; }
as_pg dotnet --info >/dev/null 2>&1 && { echo "deb-check: dotnet is still reachable" >&2; exit 1; }
as_pg "$pgbin/initdb" -D "$work/data" -A trust -U postgres >/dev/null
cat >> "$work/data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$work'
archive_mode = on
archive_command = 'pgarchive --envdir /etc/pgarchive/env wal-push %p'
CONF
as_pg "$pgbin/pg_ctl" -D "$work/data" -l "$work/data.log" -w start >/dev/null
sql "CREATE TABLE marker (id int PRIMARY KEY); INSERT INTO marker VALUES (1)"
# libpq's PGHOST/PGPORT from the process environment here (the envdir may hold them too: pgarchive exports its PG* files)
as_pg PGHOST="$work" PGPORT="$port" WALG_LOG_LEVEL=ERROR pgarchive --envdir /etc/pgarchive/env backup-push "$work/data" >/dev/null
sql "INSERT INTO marker VALUES (2)"
sleep 1.1; target=$(sql "SELECT clock_timestamp()"); sleep 1.1
sql "INSERT INTO marker VALUES (3)"
last=$(sql "SELECT pg_walfile_name(pg_switch_wal())")
for _ in $(seq 100); do [[ $(sql "SELECT last_archived_wal FROM pg_stat_archiver") == "$last" ]] && break; sleep 0.2; done
[[ $(sql "SELECT last_archived_wal FROM pg_stat_archiver") == "$last" ]] || { echo "deb-check: $last was not archived" >&2; tail "$work/data.log" >&2; exit 1; }
as_pg "$pgbin/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null
rm -rf "$work/data"
as_pg WALG_LOG_LEVEL=ERROR pgarchive --envdir /etc/pgarchive/env backup-fetch "$work/restored" LATEST --recovery-target-time "$target" --recovery-target-action promote
as_pg "$pgbin/pg_ctl" -D "$work/restored" -l "$work/restored.log" -w -t 120 start >/dev/null
for _ in $(seq 300); do [[ $(sql "SELECT pg_is_in_recovery()") == f ]] && break; sleep 0.2; done
markers=$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM marker")
[[ $markers == "1,2" ]] || { echo "deb-check: restored markers '$markers', want 1,2" >&2; tail "$work/restored.log" >&2; exit 1; }
grep -q 'restored log file' "$work/restored.log" || { echo "deb-check: recovery fetched no WAL" >&2; exit 1; }
as_pg "$pgbin/pg_ctl" -D "$work/restored" -m fast -w stop >/dev/null
echo "deb-check: PITR through the installed package restored markers $markers (libsodium, no .NET reachable)" >&2
SCRIPT
[[ $(ls "$work/archive/wal_005" | head -1) == *.lz4 ]] || fail "no lz4 WAL in the archive"

rm -f $env/WALG_LIBSODIUM_KEY $env/WALG_LIBSODIUM_KEY_TRANSFORM  # the test's own settings: not the package's to remove
dpkg -r pgarchive >/dev/null
for f in $files; do [[ $f == /etc/* ]] || [[ ! -e $f ]] || fail "$f remains after dpkg -r"; done
dpkg --purge pgarchive >/dev/null; installed=0
for f in $files; do [[ ! -e $f ]] || fail "$f remains after dpkg --purge"; done
[[ ! -e /etc/pgarchive ]] || fail "/etc/pgarchive remains after dpkg --purge"
if dpkg-query -W pgarchive >/dev/null 2>&1; then fail "dpkg still knows pgarchive after --purge"; fi
echo "deb-check: dpkg -i, -s, --version, PITR, -r and --purge clean" >&2
