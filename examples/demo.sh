#!/usr/bin/env bash
# The demo: the example programs, each its own process, talking through coipc.
#
#   examples/demo.sh BUILD_EXAMPLES_DIR [--check]
#
# 1. Telemetry: `publisher` publishes 200 readings at 100 Hz on a route; `stats_subscriber`
#    co_awaits them and prints statistics; `tcp_latest` serves the latest reading to TCP
#    clients, which this script plays (bash's /dev/tcp) while the readings flow.
# 2. Chat: three `chat` participants on one channel, each typing a few lines.
# With --check, the output is checked and the script fails on anything unexpected.
set -euo pipefail
bin=${1:?usage: demo.sh BUILD_EXAMPLES_DIR [--check]}
check=${2:-}
tag="demo.$$"
port=$((20000 + $$ % 20000))
out=$(mktemp -d)
cleanup() {
  jobs -p | xargs -r kill 2>/dev/null || true
  rm -f /dev/shm/coipc."$tag".* 
  rm -rf "$out"
}
trap cleanup EXIT

fail() { echo "demo: FAILED: $*" >&2; exit 1; }

echo "== telemetry: 1 publisher, 2 subscriber services (statistics; latest value over TCP)"
"$bin/stats_subscriber" "$tag.telemetry" >"$out/stats" 2>&1 &
stats=$!
"$bin/tcp_latest" "$tag.telemetry" "$port" >"$out/tcp" 2>&1 &
tcp=$!
"$bin/publisher" "$tag.telemetry" 200 100 2 >"$out/pub" 2>&1 &
pub=$!
# Two TCP clients while readings flow.
for i in 1 2; do
  sleep 0.7
  for attempt in $(seq 50); do
    if exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null; then break; fi
    sleep 0.1
  done
  IFS= read -r line <&3 || true
  exec 3<&-
  echo "tcp client $i got: $line" | tee -a "$out/clients"
done
wait "$pub" || fail "publisher exited with $?"
wait "$stats" || fail "stats_subscriber exited with $?"
wait "$tcp" || fail "tcp_latest exited with $?"
cat "$out/pub" "$out/stats" "$out/tcp"

echo
echo "== chat: 3 participants on one channel"
chat_in() {  # NAME LINE...: types the lines, a little apart
  local name=$1; shift
  for line in "$@"; do sleep 0.1; echo "$line"; done
}
chat_in alice "hi all" "coipc is fast" | "$bin/chat" "$tag.chat" alice 3 >"$out/alice" 2>&1 &
a=$!
chat_in bob "hello alice" "agreed: no syscalls while data flows" | "$bin/chat" "$tag.chat" bob 3 >"$out/bob" 2>&1 &
b=$!
chat_in carol "hey" | "$bin/chat" "$tag.chat" carol 3 >"$out/carol" 2>&1 &
c=$!
wait "$a" || fail "chat alice exited with $?"
wait "$b" || fail "chat bob exited with $?"
wait "$c" || fail "chat carol exited with $?"
cat "$out/alice" "$out/bob" "$out/carol"

if [ "$check" = --check ]; then
  grep -q "published 200 readings" "$out/pub" || fail "publisher output"
  grep -q "stats_subscriber: 200 readings, 0 gaps" "$out/stats" || fail "stats output"
  grep -q "tcp_latest: served 2 client(s); final reading 199" "$out/tcp" || fail "tcp_latest output"
  [ "$(grep -c 'tcp client .* got: reading [0-9]*: sensor 7' "$out/clients")" = 2 ] || fail "tcp clients"
  grep -q "\[alice\] bob: agreed: no syscalls while data flows" "$out/alice" || fail "alice did not hear bob"
  grep -q "\[bob\] carol: hey" "$out/bob" || fail "bob did not hear carol"
  grep -q "\[carol\] alice: coipc is fast" "$out/carol" || fail "carol did not hear alice"
  [ "$(cat "$out/alice" "$out/bob" "$out/carol" | grep -c ' left$')" = 6 ] || fail "leaving"
  echo "demo: all checks passed"
fi
echo "== done"
