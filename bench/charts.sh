#!/usr/bin/env bash
# Turns coipc-bench --json output into SVG charts with gnuplot:
#   us_per_datum.svg      us/datum of every throughput scenario, one bar per system (log)
#   latency-<case>.svg    one-way latency p50 / p99 / p99.9 per system, one chart per
#                         pingpong scenario (log)
#
#   bench/charts.sh RESULTS.json [OUT_DIR]      (OUT_DIR defaults to RESULTS.json's folder)
#
# Needs bash, awk and gnuplot (Debian: gnuplot-nox). The JSON is flat, one object per
# line, as coipc-bench writes it, so awk reads it without a JSON tool.
set -euo pipefail

die() { echo "charts.sh: $*" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: charts.sh RESULTS.json [OUT_DIR]"
json=$1
[ -r "$json" ] || die "cannot read $json"
out=${2:-$(dirname "$json")}
command -v gnuplot >/dev/null || die "gnuplot not found (Debian: apt-get install gnuplot-nox)"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Flat JSON line -> F[key] = value (strings unquoted, null kept as "null").
read -r -d '' parse <<'AWK' || true
function parse(line,    rest, k, v, i, c) {
  delete F
  rest = line
  while (match(rest, /"[A-Za-z0-9_]+": */)) {
    k = substr(rest, RSTART + 1, RLENGTH - 1)
    sub(/": *$/, "", k)
    rest = substr(rest, RSTART + RLENGTH)
    if (substr(rest, 1, 1) == "\"") {
      v = ""
      for (i = 2; i <= length(rest); i++) {
        c = substr(rest, i, 1)
        if (c == "\\") { v = v substr(rest, i + 1, 1); i++; continue }
        if (c == "\"") break
        v = v c
      }
      rest = substr(rest, i + 1)
    } else {
      match(rest, /^[^,}]*/)
      v = substr(rest, 1, RLENGTH)
      rest = substr(rest, RLENGTH + 1)
    }
    F[k] = v
  }
}
function size_label(a, b) {
  if (a == b) {
    if (a % 1048576 == 0) return (a / 1048576) "MiB"
    if (a % 1024 == 0) return (a / 1024) "KiB"
    return a "B"
  }
  return a "-" b "B"
}
function num(v) { return (v == "null" || v == "") ? "?" : v }
AWK

# Throughput: rows = scenarios, columns = systems, in order of first appearance.
awk "$parse"'
  { parse($0) }
  F["pattern"] == "pingpong" || F["status"] != "ok" { next }
  {
    s = F["pattern"] " " F["senders"] "->" F["receivers"] " " size_label(F["size_min"], F["size_max"]) " " F["mode"]
    if (!(s in seen_s)) { seen_s[s] = 1; rows[++nr] = s }
    if (!(F["system"] in seen_y)) { seen_y[F["system"]] = 1; cols[++nc] = F["system"] }
    v[s, F["system"]] = num(F["us_per_datum"])
  }
  END {
    if (nr == 0) exit
    line = "scenario"; for (j = 1; j <= nc; j++) line = line "\t" cols[j]; print line
    for (i = 1; i <= nr; i++) {
      line = rows[i]
      for (j = 1; j <= nc; j++) line = line "\t" (((rows[i], cols[j]) in v) ? v[rows[i], cols[j]] : "?")
      print line
    }
  }' "$json" > "$tmp/throughput.tsv"

plot_histogram() {  # data.tsv output.svg title ylabel
  local data=$1 svg=$2 title=$3 ylabel=$4
  local ncols nrows width
  ncols=$(head -1 "$data" | awk -F'\t' '{ print NF }')
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
    "coipc-bench: microseconds per datum (first send to last receive / messages per sender; lower is better)" \
    "us per datum (log scale)"
  made+=("$out/us_per_datum.svg")
fi

# Latency: one chart per pingpong scenario; rows = systems, columns = percentiles (us).
awk "$parse"'
  { parse($0) }
  F["pattern"] != "pingpong" || F["status"] != "ok" { next }
  {
    key = size_label(F["size_min"], F["size_max"]) "-" F["mode"] "-" F["wait"]
    if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
    n[key]++
    row[key, n[key]] = F["system"] "\t" num(F["p50_ns"] / 1000) "\t" num(F["p99_ns"] / 1000) "\t" num(F["p999_ns"] / 1000)
  }
  END {
    for (i = 1; i <= nk; i++) {
      k = keys[i]; f = dir "/latency-" k ".tsv"
      print "system\tp50\tp99\tp99.9" > f
      for (j = 1; j <= n[k]; j++) print row[k, j] > f
      close(f)
    }
  }' dir="$tmp" "$json"

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
