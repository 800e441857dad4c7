#!/usr/bin/env bash
# Proves the toolchain that scripts/setup.sh installed, before anything else uses it:
#   1. a program compiled and linked with each preset's sanitizer flags (asan: address +
#      undefined; tsan: thread; fuzz: libFuzzer), and run;
#   2. a CMake project (this folder) that builds a named module and imports it, through
#      the project's CMake, Ninja and clang-scan-deps-19, and run.
# On failure it names the missing piece in one line. Success is remembered in
# <tools>/toolchain-ok, keyed by the versions involved, so that it runs once per toolchain.
#
#   run.sh <cmake binary> <tools dir>
set -euo pipefail

cmake_bin=$1
tools=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stamp_file="$tools/toolchain-ok"

die() { echo "setup: error: $*" >&2; exit 1; }

# Everything that can change the answer: the tools' versions, the packages behind them, and
# this check itself.
key=$( {
  clang++-19 --version 2>&1 | head -n 1
  "$cmake_bin" --version 2>&1 | head -n 1
  ninja --version 2>&1
  dpkg-query -W -f='${Package} ${Version}\n' clang-19 clang-tools-19 libclang-rt-19-dev \
    libstdc++-12-dev 2>&1
  cat "$here/run.sh" "$here/CMakeLists.txt" "$here"/*.cpp "$here"/*.cppm
} | sha256sum | cut -d' ' -f1)
if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$key" ]; then
  exit 0
fi

command -v clang++-19 >/dev/null || die "clang++-19 is missing (Debian package clang-19)"
command -v clang-scan-deps-19 >/dev/null || die "clang-scan-deps-19 is missing (Debian package clang-tools-19)"
command -v ninja >/dev/null || die "ninja is missing (Debian package ninja-build)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The sanitizer runtimes, one preset's flags at a time.
for flags in "address,undefined" "thread"; do
  log="$work/sanitizer-$flags.log"
  if ! clang++-19 -std=c++20 -g -fsanitize="$flags" -fno-omit-frame-pointer \
      "$here/sanitizer.cpp" -o "$work/sanitizer" >"$log" 2>&1; then
    if grep -q "libclang_rt\|cannot find.*clang_rt\|clang_rt" "$log"; then
      die "-fsanitize=$flags cannot link: the sanitizer runtimes are missing (Debian package libclang-rt-19-dev)"
    fi
    die "-fsanitize=$flags: a tiny program does not build: $(grep -m1 -i error "$log" || tail -n 1 "$log")"
  fi
  "$work/sanitizer" >"$log" 2>&1 || die "-fsanitize=$flags: a tiny program built but does not run: $(tail -n 1 "$log")"
done

# The fuzz preset's libFuzzer runtime (also in libclang-rt-19-dev).
log="$work/fuzzer.log"
if ! clang++-19 -std=c++20 -g -fsanitize=fuzzer,address,undefined "$here/fuzz_target.cpp" \
    -o "$work/fuzz_target" >"$log" 2>&1; then
  die "-fsanitize=fuzzer cannot link: libFuzzer's runtime is missing (Debian package libclang-rt-19-dev)"
fi
"$work/fuzz_target" -runs=10 >"$log" 2>&1 || die "a libFuzzer target built but does not run: $(tail -n 1 "$log")"

# 2. Named modules through CMake (FILE_SET CXX_MODULES), Ninja and clang-scan-deps.
log="$work/modules.log"
if ! "$cmake_bin" -S "$here" -B "$work/modules" -G Ninja \
    -DCMAKE_CXX_COMPILER=clang++-19 -DCMAKE_CXX_COMPILER_CLANG_SCAN_DEPS=clang-scan-deps-19 \
    >"$log" 2>&1; then
  die "CMake cannot configure a C++20 modules project with clang-19: $(grep -m1 -A2 "CMake Error" "$log" | tr '\n' ' ')"
fi
if ! "$cmake_bin" --build "$work/modules" >"$log" 2>&1; then
  die "a project that imports a named module does not build: $(grep -m1 -i "error" "$log" || tail -n 1 "$log")"
fi
"$work/modules/imports_module" >"$log" 2>&1 || die "a program that imports a named module does not run: $(tail -n 1 "$log")"

mkdir -p "$tools"
echo "$key" >"$stamp_file"
echo "setup: toolchain proven: sanitizers (address,undefined; thread; fuzzer) link and run; named modules build through CMake"
