#!/usr/bin/env bash
# Turns coipc-bench --json output into SVG charts with gnuplot:
#   us_per_datum.svg      us/datum of every throughput scenario, one bar per system (log):
#                         time per message of ONE sender (lower is better)
#   deliveries_per_s.svg  deliveries per second of every throughput scenario, all receivers
#                         together (log; higher is better): the figure that compares N->M
#                         topologies without knowing how us/datum is counted
#   latency-<case>.svg    one-way latency p50 / p99 / p99.9 per system, one chart per
#                         pingpong scenario (log)
#
# A system's bars are "coipc" for the blocking API and "coipc (coroutine)" for another
# (--api blocking,coroutine puts both in one file).
#
#   bench/charts.sh RESULTS.json [OUT_DIR]      (OUT_DIR defaults to RESULTS.json's folder)
#
# Needs bash, jq and gnuplot (Debian: jq, gnuplot-nox). A figure that is null in the JSON
# (not measured) is a missing point, "?" to gnuplot, never 0: a log scale has no 0.
set -euo pipefail

die() { echo "charts.sh: $*" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: charts.sh RESULTS.json [OUT_DIR]"
json=$1
[ -r "$json" ] || die "cannot read $json"
out=${2:-$(dirname "$json")}
command -v jq >/dev/null || die "jq not found (Debian: apt-get install jq)"
command -v gnuplot >/dev/null || die "gnuplot not found (Debian: apt-get install gnuplot-nox)"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The results that ran to the end (the memory scenario's line has no pattern), and how
# their cells are written.
read -r -d '' common <<'JQ' || true
def ok: select(.status == "ok" and .pattern != null);
def size_label:
  if .size_min != .size_max then "\(.size_min)-\(.size_max)B"
  elif .size_min % 1048576 == 0 then "\(.size_min / 1048576)MiB"
  elif .size_min % 1024 == 0 then "\(.size_min / 1024)KiB"
  else "\(.size_min)B" end;
def cell: if . == null then "?" else tostring end;
def who: if .api == "blocking" or .api == null then .system else "\(.system) (\(.api))" end;
def first_seen: reduce .[] as $x ([]; if index([$x]) then . else . + [$x] end);
JQ

# Throughput: rows = scenarios, columns = systems, in order of first appearance; one table
# per figure (us_per_datum, deliveries_per_s in millions).
throughput() {  # field scale output.tsv
  jq -rs --arg field "$1" --argjson scale "$2" "$common"'
    [.[] | ok | select(.pattern != "pingpong")
     | {row: "\(.pattern) \(.senders)->\(.receivers) \(size_label) \(.mode)", system: who,
        v: (.[$field] | if . == null then null else . * $scale end)}]
    | select(length > 0)
    | (map(.row) | first_seen) as $rows
    | (map(.system) | first_seen) as $systems
    | (reduce .[] as $r ({}; .[$r.row][$r.system] = $r.v)) as $v
    | (["scenario"] + $systems | join("\t")),
      ($rows[] as $row | [$row] + [$systems[] as $s | $v[$row][$s] | cell] | join("\t"))
  ' "$json" > "$3"
}
throughput us_per_datum 1 "$tmp/throughput.tsv"
throughput deliveries_per_s 1e-6 "$tmp/deliveries.tsv"

plot_histogram() {  # data.tsv output.svg title ylabel
  local data=$1 svg=$2 title=$3 ylabel=$4
  local ncols nrows width
  ncols=$(head -1 "$data" | tr '\t' '\n' | wc -l)
  nrows=$(($(wc -l < "$data") - 1))
  width=$((300 + nrows * (ncols - 1) * 14))
  [ "$width" -lt 800 ] && width=800
  gnuplot <<GP
set terminal svg size $width,560 dynamic enhanced font "sans,11" background rgb "white"
set output "$svg"
set datafile separator "\t"
set datafile missing "?"
set title "$title" noenhanced
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set ylabel "$ylabel" noenhanced
set xtics rotate by 30 right noenhanced scale 0
set key outside right top noenhanced
set grid ytics mytics
set bmargin 9
set lmargin 16
plot for [i=2:$ncols] "$data" using i:xtic(1) title columnheader(i)
GP
}

made=()
if [ -s "$tmp/throughput.tsv" ]; then
  plot_histogram "$tmp/throughput.tsv" "$out/us_per_datum.svg" \
    "coipc-bench: microseconds per datum (first send to last receive / messages of one sender; lower is better)" \
    "us per datum (log scale)"
  made+=("$out/us_per_datum.svg")
fi
if [ -s "$tmp/deliveries.tsv" ]; then
  plot_histogram "$tmp/deliveries.tsv" "$out/deliveries_per_s.svg" \
    "coipc-bench: million deliveries per second (messages received by all receivers together; higher is better)" \
    "million deliveries per second (log scale)"
  made+=("$out/deliveries_per_s.svg")
fi

# Latency: one chart per pingpong scenario; rows = systems, columns = percentiles (us).
jq -r "$common"'
  ok | select(.pattern == "pingpong")
  | def us: if . == null then null else . / 1000 end;
    ["\(size_label)-\(.mode)-\(.wait)", who, (.p50_ns | us | cell), (.p99_ns | us | cell),
     (.p999_ns | us | cell)]
  | join("\t")
' "$json" | while IFS=$'\t' read -r key row; do
  data="$tmp/latency-$key.tsv"
  [ -e "$data" ] || printf 'system\tp50\tp99\tp99.9\n' > "$data"
  printf '%s\n' "$row" >> "$data"
done

for data in "$tmp"/latency-*.tsv; do
  [ -e "$data" ] || continue
  key=$(basename "$data" .tsv)
  key=${key#latency-}
  plot_histogram "$data" "$out/latency-$key.svg" \
    "coipc-bench pingpong ($key receiver): one-way latency, RTT/2" "microseconds (log scale)"
  made+=("$out/latency-$key.svg")
done

[ ${#made[@]} -gt 0 ] || die "no ok results in $json"
printf '%s\n' "${made[@]}"
