#!/usr/bin/env bash
# The demo: example programs, each its own process, talking through coipc.
# usage: examples/demo.sh BUILD_EXAMPLES_DIR
set -euo pipefail
bin=${1:?usage: demo.sh BUILD_EXAMPLES_DIR}
name="demo.hello.$$"
trap 'rm -f "/dev/shm/coipc.$name"' EXIT

echo "-- hello_segment: a reader waits on a futex in shared memory; a writer publishes"
"$bin/hello_segment" read "$name" &
reader=$!
sleep 0.2
"$bin/hello_segment" write "$name" "hello from another process"
wait "$reader"
echo "-- done"
