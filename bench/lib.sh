# Shared by the bench scripts (source it): the CLI to measure, and evicting a directory's pages from the page cache.

# bench_cli WORKDIR REPO: prints the pgarchive to measure: $PGARCHIVE_CLI, or a Release build published into WORKDIR/cli.
bench_cli() {
  if [[ -n ${PGARCHIVE_CLI:-} ]]; then
    echo "$PGARCHIVE_CLI"
    return
  fi
  echo "publishing the CLI (Release)..." >&2
  dotnet publish "$2/samples/PgArchive.Cli" -c Release -r linux-x64 --self-contained false -o "$1/cli" --nologo -v quiet >&2
  echo "$1/cli/pgarchive"
}

# evict_page_cache DIR: drops the page-cache pages of every file under DIR (posix_fadvise DONTNEED), nothing else's.
evict_page_cache() {
  python3 - "$1" <<'PY'
import os, sys
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        try:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
        except OSError:
            continue
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
PY
}
