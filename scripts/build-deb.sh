#!/usr/bin/env bash
# Builds the Debian package of pgarchive from a Native AOT executable, with dpkg-deb (no debhelper):
#   scripts/build-deb.sh BINARY VERSION ARCH OUTDIR      e.g. artifacts/linux-x64/pgarchive 0.1.0 amd64 artifacts
# writes OUTDIR/pgarchive_VERSION_ARCH.deb: /usr/bin/pgarchive, /usr/share/doc/pgarchive (copyright, README with
# --help), the man page, an example envdir /etc/pgarchive/env (conffiles) and the systemd units
# pgarchive-wal-receive@.service and pgarchive-daemon@.service (the instance names the envdir under /etc/pgarchive).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
binary=$1 version=$2 arch=$3 out=$4
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT

install -D -m 0755 "$binary" "$root/usr/bin/pgarchive"
help=$("$binary" --help)
full_version=$("$binary" --version)

doc="$root/usr/share/doc/pgarchive"
install -d -m 0755 "$doc" "$root/usr/share/man/man1" "$root/lib/systemd/system" "$root/etc/pgarchive/env" "$root/DEBIAN"
cat > "$doc/copyright" <<TEXT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: pgarchive

Files: *
Copyright: PgArchive contributors
License: MIT

Files: libsodium (embedded in /usr/bin/pgarchive)
Copyright: 2013-2025 Frank Denis
License: ISC

License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
 documentation files (the "Software"), to deal in the Software without restriction, including without limitation
 the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and
 to permit persons to whom the Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all copies or substantial portions
 of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO
 THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
 CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
 IN THE SOFTWARE.

License: ISC
 Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby
 granted, provided that the above copyright notice and this permission notice appear in all copies.
 .
 THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE INCLUDING
 ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR ANY SPECIAL,
 DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS,
 WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE
 USE OR PERFORMANCE OF THIS SOFTWARE.
TEXT
cat > "$doc/README" <<TEXT
pgarchive $full_version: WAL-G-compatible continuous archiving, base backups and point-in-time restores for
PostgreSQL. One executable, no .NET runtime needed; libsodium is inside it.

Configuration: WAL-G's environment variables, here as an envdir (one file per variable, its first line the
value), /etc/pgarchive/env. In postgresql.conf:

  archive_mode = on
  archive_command = 'pgarchive --envdir /etc/pgarchive/env wal-push %p'
  restore_command = 'pgarchive --envdir /etc/pgarchive/env wal-fetch %f %p'

Keep secrets (keys, passwords) in files only root and postgres can read:
  install -m 0640 -g postgres /dev/stdin /etc/pgarchive/env/WALG_LIBSODIUM_KEY

Long-running commands as systemd services, the instance naming the envdir under /etc/pgarchive:
  systemctl enable --now pgarchive-wal-receive@env
  systemctl enable --now pgarchive-daemon@env     (socket /run/pgarchive/env.sock)

$help
TEXT
gzip -9n > "$root/usr/share/man/man1/pgarchive.1.gz" <<TEXT
.TH PGARCHIVE 1 "" "pgarchive $version" "User Commands"
.SH NAME
pgarchive \- WAL-G-compatible archiving, base backups and point-in-time restores for PostgreSQL
.SH SYNOPSIS
.B pgarchive
[\fB\-\-envdir\fR \fIDIR\fR] \fICOMMAND\fR ...
.SH DESCRIPTION
.nf
$(sed 's/\\/\\\\/g; s/^\./\\\&./' <<<"$help")
.fi
.SH FILES
.TP
.I /etc/pgarchive/env
example envdir: one file per WAL-G variable
.SH SEE ALSO
/usr/share/doc/pgarchive/README
TEXT

# The example envdir: one file per variable, as daemontools' envdir and pgarchive --envdir read it.
env="$root/etc/pgarchive/env"
echo /var/lib/postgresql/pgarchive-archive > "$env/WALG_FILE_PREFIX"
echo lz4 > "$env/WALG_COMPRESSION_METHOD"
chmod 0644 "$env"/*
install -m 0644 "$repo/packaging/debian/pgarchive-wal-receive@.service" "$repo/packaging/debian/pgarchive-daemon@.service" "$root/lib/systemd/system/"

(cd "$root" && find etc -type f | sort | sed 's|^|/|') > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/control" <<TEXT
Package: pgarchive
Version: $version
Architecture: $arch
Maintainer: PgArchive contributors <pgarchive@localhost>
Depends: libc6 (>= 2.27), libssl3 | libssl3t64
Recommends: ca-certificates
Suggests: postgresql
Section: database
Priority: optional
Homepage: https://github.com/pgarchive/pgarchive
Installed-Size: $(du -sk "$root/usr" "$root/lib" "$root/etc" | awk '{s += $1} END {print s}')
Description: WAL-G-compatible archiving and point-in-time recovery for PostgreSQL
 pgarchive speaks WAL-G's commands, environment variables and storage layout: archive_command and
 restore_command, base backups (full and delta), point-in-time restores, retention, wal-receive and the archive
 daemon, to a local directory, S3, Azure Blob Storage, Google Cloud Storage or OpenStack Swift, with lz4, zstd,
 brotli or lzma compression and libsodium or OpenPGP encryption. One Native AOT executable.
TEXT
for script in postinst postrm; do
  cat > "$root/DEBIAN/$script" <<'TEXT'
#!/bin/sh
set -e
# the units are new or gone: let a running systemd see it (they are never enabled or started by the package)
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload || true
fi
TEXT
  chmod 0755 "$root/DEBIAN/$script"
done

mkdir -p "$out"
deb="$out/pgarchive_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
