#!/usr/bin/env bash
# Native AOT check: publishes pgarchive with Native AOT (warnings stay errors) and runs the end-to-end PITR
# tests of every storage backend (local filesystem, S3, Azure, GCS, encryption) against that binary, with real
# PostgreSQL 15 and real storage servers (../shared/recipes). Not part of ./test.sh: the AOT compile alone takes
# minutes on 2 cores.
#   scripts/aot-check.sh [OUTPUT_DIR]       (as root, like ./test.sh)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d /tmp/pgarchive-aot.XXXXXX)}
echo "publishing pgarchive with Native AOT into $out ..." >&2
start=$(date +%s)
dotnet publish "$repo/samples/PgArchive.Cli" -c Release -r linux-x64 -p:PublishAot=true -o "$out" --nologo -v quiet -clp:ErrorsOnly >&2
echo "published in $(( $(date +%s) - start )) s: $(du -h "$out/pgarchive" | cut -f1) executable" >&2
chmod -R a+rX "$out"
PGARCHIVE_CLI="$out/pgarchive" dotnet test "$repo/tests/PgArchive.EndToEnd.Tests" --nologo \
  --filter "FullyQualifiedName~LocalFileSystemPitrTests|FullyQualifiedName~S3PitrTests|FullyQualifiedName~SwiftPitrTests|FullyQualifiedName~AzureBlobPitrTests|FullyQualifiedName~GcsPitrTests|FullyQualifiedName~EncryptedPitrTests"
