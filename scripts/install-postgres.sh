#!/usr/bin/env bash
# Installs Debian's PostgreSQL 15 server binaries (no system cluster) when they are absent.
# Idempotent; needs root only when something is missing.
set -euo pipefail
BIN=/usr/lib/postgresql/15/bin
if [[ -x "$BIN/initdb" && -x "$BIN/pgbench" ]]; then
  exit 0
fi
if [[ $(id -u) != 0 ]]; then
  echo "PostgreSQL 15 is not installed and installing it needs root (apt-get install postgresql-15)." >&2
  exit 1
fi
echo "Installing PostgreSQL 15 (apt)..." >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-common >&2
# binaries only: no system-wide "main" cluster on port 5432
sed -i 's/^#\?\s*create_main_cluster.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-client-15 >&2
if ! id postgres >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /var/lib/postgresql --create-home --shell /bin/bash postgres
fi
