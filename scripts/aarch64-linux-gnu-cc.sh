#!/usr/bin/env bash
# The linker for a linux-arm64 Native AOT cross-compile on an x64 Debian (scripts/release.sh): the ILCompiler's link
# step passes clang's --target and --sysroot, which Debian's aarch64-linux-gnu-gcc refuses or misreads (it knows
# its own sysroot); everything else goes through unchanged.
args=()
for a in "$@"; do
  case $a in --target=* | --sysroot=*) ;; *) args+=("$a") ;; esac
done
exec aarch64-linux-gnu-gcc "${args[@]}"
