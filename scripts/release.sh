#!/usr/bin/env bash
# Builds the release from a clone into artifacts/ (gitignored), with one Native AOT compile per runtime:
#   artifacts/pgarchive-VERSION-linux-x64         the single executable (libsodium inside; glibc only)
#   artifacts/pgarchive-VERSION-linux-arm64       the same for arm64, when a cross toolchain is installed (else skipped)
#   artifacts/pgarchive_VERSION_amd64.deb         scripts/build-deb.sh
#   artifacts/nuget/PgArchive.Tool.*.nupkg        the .NET tool: the package `dotnet tool install PgArchive.Tool`
#                                                 resolves, Native AOT linux-x64 (and linux-arm64), the portable any
#   artifacts/SHA256SUMS
#   scripts/release.sh            build
#   scripts/release.sh --check    build linux-x64 only (no arm64, no portable any package), then check it (as root: the .deb is installed and purged):
#                                 --version names the commit, the binary runs alone (SingleBinaryTests, PITR with
#                                 libsodium), the .deb (scripts/deb-check.sh), the tool installed from artifacts/nuget
#                                 is the native binary. Ends with "N passed, N failed".
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
check=0; [[ ${1:-} == --check ]] && check=1
art="$repo/artifacts"
version=$(sed -n 's|.*<VersionPrefix>\(.*\)</VersionPrefix>.*|\1|p' Directory.Build.props)
commit=$(git rev-parse HEAD)
cli=samples/PgArchive.Cli/PgArchive.Cli.csproj
build=(-c Release --nologo -v quiet -clp:ErrorsOnly "-p:Version=$version")
rm -rf "$art"; mkdir -p "$art/nuget"
step() { echo "== release: $* ($(date -u +%T))" >&2; }

step "tool package PgArchive.Tool (points at linux-x64, linux-arm64, any)"
dotnet pack "$cli" "${build[@]}" -p:PublishAot=true -o "$art/nuget"
if [[ $check == 0 ]]; then   # --check saves CI this build: on linux-x64 the tool resolves to the AOT package
  step "portable tool package PgArchive.Tool.any (framework-dependent)"
  dotnet pack "$cli" "${build[@]}" -r any "-p:ToolPackageRuntimeIdentifiers=linux-x64%3Blinux-arm64%3Bany" -o "$art/nuget"
fi

rids=(linux-x64)
if [[ $check == 0 ]]; then
  if command -v aarch64-linux-gnu-gcc >/dev/null && [[ -d /usr/aarch64-linux-gnu/lib ]]; then
    rids+=(linux-arm64)
  else
    echo "release: linux-arm64 skipped: no cross toolchain (apt-get install gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross)" >&2
  fi
fi
for rid in "${rids[@]}"; do
  step "Native AOT $rid: tool package PgArchive.Tool.$rid and the single executable (one compile)"
  extra=()
  [[ $rid == linux-arm64 ]] && extra=("-p:CppCompilerAndLinker=$repo/scripts/aarch64-linux-gnu-cc.sh" -p:ObjCopyName=aarch64-linux-gnu-objcopy -p:SysRoot=/usr/aarch64-linux-gnu)
  dotnet pack "$cli" "${build[@]}" -r "$rid" -p:PublishAot=true "-p:PublishDir=$art/publish/$rid/" "${extra[@]}" -o "$art/nuget"
  install -m 0755 "$art/publish/$rid/pgarchive" "$art/pgarchive-$version-$rid"
done
rm -rf "$art/publish"

step "Debian package"
deb=$(scripts/build-deb.sh "$art/pgarchive-$version-linux-x64" "$version" amd64 "$art")
(cd "$art" && sha256sum pgarchive-* ./*.deb nuget/*.nupkg | sed 's| \./| |' > SHA256SUMS)
ls -l "$art" "$art/nuget" >&2
[[ $check == 1 ]] || exit 0

passed=0 failed=0
check() {
  local name=$1; shift
  step "check: $name"
  if "$@"; then passed=$((passed + 1)); else echo "release check FAILED: $name" >&2; failed=$((failed + 1)); fi
}
binary="$art/pgarchive-$version-linux-x64"
names_commit() { local v; v=$("$binary" --version) && [[ $v == "$version+$commit" ]] || { echo "--version says '${v:-}', want $version+$commit" >&2; return 1; }; }
sums_match() { (cd "$art" && sha256sum --quiet -c SHA256SUMS); }
single_binary() {
  local out
  out=$(PGARCHIVE_CLI="$binary" dotnet test tests/PgArchive.EndToEnd.Tests --nologo --filter "FullyQualifiedName~SingleBinaryTests" 2>&1 | tail -n 15)
  echo "$out" >&2
  grep -q 'Passed!.*Failed: *0, Passed: *1, Skipped: *1' <<<"$out"
}
tool_is_native() {
  local tools; tools=$(mktemp -d)
  dotnet tool install PgArchive.Tool --version "$version" --tool-path "$tools" --add-source "$art/nuget" >&2 || { rm -rf "$tools"; return 1; }
  local exe; exe=$(find "$tools/.store" -type f -name pgarchive | head -n 1)
  local ok=0
  [[ $(head -c 4 "$exe" | od -An -tx1 | tr -d ' ') == 7f454c46 ]] || { echo "installed tool $exe is not an ELF executable" >&2; ok=1; }
  if [[ -n $(find "$(dirname "$exe")" -maxdepth 1 -name '*.dll') ]]; then echo "installed tool has .dll files beside it: not the Native AOT package" >&2; ok=1; fi
  [[ $("$tools/pgarchive" --version) == "$version+$commit" ]] || { echo "installed tool's --version: $("$tools/pgarchive" --version)" >&2; ok=1; }
  rm -rf "$tools"
  return $ok
}
check "--version names the commit" names_commit
check "SHA256SUMS" sums_match
check "single binary: PITR with libsodium from an empty directory" single_binary
check "Debian package: install, PITR, purge" scripts/deb-check.sh "$deb" "$commit"
check "dotnet tool install gets the Native AOT binary" tool_is_native
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
