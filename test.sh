#!/usr/bin/env bash
# Runs every test of PgArchive: unit tests, the storage conformance suites against real local servers and
# the end-to-end tests against real PostgreSQL (15, and a short scenario on each of 10 to 18). Installs what it
# needs (PostgreSQL 15 and npm via apt; the other PostgreSQL versions and the storage servers come from the
# recipes, which install them on first use). Ends with "N passed, N failed". A cycle among the folders of
# PgArchive.Core (scripts/core-layers.fsx) counts as one failure.
set -uo pipefail
cd "$(dirname "$0")"
repo=$(pwd)

passed=0 failed=0 status=0

echo "== core layers" >&2
if ! dotnet fsi scripts/core-layers.fsx; then
  failed=$((failed + 1)); status=1
fi

./scripts/install-postgres.sh || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }

echo "== build" >&2
if ! dotnet build PgArchive.sln -c Debug --nologo -v quiet -clp:ErrorsOnly; then
  echo "$passed passed, $((failed + 1)) failed"
  exit 1
fi

results=$(mktemp -d)
# One test project at a time: the servers they start use fixed ports, and 2 cores go further sequentially.
for project in $(find tests -name '*.Tests.csproj' | sort); do
  name=$(basename "$project" .csproj)
  echo "== $name" >&2
  log="$results/$name.log"
  dotnet test "$project" --no-build --nologo 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+' "$log" | tail -n 1)
  if [[ -n "$line" ]]; then
    p=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$line")
    f=$(sed -E 's/.*Failed: +([0-9]+),.*/\1/' <<<"$line")
    passed=$((passed + p)); failed=$((failed + f))
  elif [[ $rc != 0 ]]; then
    failed=$((failed + 1))   # the test host crashed before reporting
  fi
  [[ $rc == 0 ]] || status=1
done
rm -rf "$results"
[[ $failed == 0 ]] || status=1
echo "$passed passed, $failed failed"
exit $status
