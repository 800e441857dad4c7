#!/usr/bin/env bash
# Model-checks the futex wait protocol with SPIN (see README.md in this directory).
#
# For each model: generate the verifier (spin -a), compile pan.c, search the whole state
# space for assertion violations and invalid end states, and require "errors: 0" with a
# complete search. Then, for each mutant of that model, require that the verifier finds an
# error. Exits non-zero on any unexpected result.
#
# Needs: spin (Debian package `spin`) and a C compiler for pan.c. No gcc or cpp needed:
# spin's preprocessor (by default "gcc -std=gnu99 -E -x c") is replaced with -P by the
# C compiler's own preprocessor.
#
# Environment (all optional):
#   SPIN            the spin binary (default: spin)
#   PAN_CC          C compiler for pan.c and for preprocessing the models
#                   (default: the first of clang-19, clang, cc, gcc on PATH)
#   MODEL_KEEP=1    keep the work directory (pan.c, trails) and print its path
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
spin="${SPIN:-spin}"

die() { echo "model: FAIL: $*" >&2; exit 1; }

command -v "$spin" >/dev/null 2>&1 || die "spin not found (apt-get install spin)"
if [[ -z "${PAN_CC:-}" ]]; then
  for c in clang-19 clang cc gcc; do
    if command -v "$c" >/dev/null 2>&1; then PAN_CC="$c"; break; fi
  done
fi
[[ -n "${PAN_CC:-}" ]] || die "no C compiler found for pan.c (set PAN_CC)"
command -v "$PAN_CC" >/dev/null 2>&1 || die "PAN_CC=$PAN_CC not found"

# spin runs "<preprocessor> <-D options> model > pan.pre" through system(); -P replaces the
# preprocessor command (spin 6.5's default is gcc).
cpp_cmd="$PAN_CC -E -x c"
# Safety only (assertions, invalid end states): no cycle detection needed (see README).
pan_cflags=(-O2 -DSAFETY -w)
# DFS depth limit: the deepest run of the models is ~1,200 steps.
pan_depth=200000

work="$(mktemp -d "${TMPDIR:-/tmp}/coipc-model.XXXXXX")"
if [[ "${MODEL_KEEP:-0}" == 1 ]]; then
  echo "model: work directory $work (kept)"
else
  trap 'rm -rf "$work"' EXIT
fi

now() { echo "${EPOCHREALTIME:-$(date +%s)}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# build <dir> <model.pml> [-Dmacro]: spin -a then compile pan.
build() {
  local dir="$1" pml="$2"; shift 2
  mkdir -p "$dir"
  cp "$here/$pml" "$dir/"
  (
    cd "$dir"
    if ! "$spin" -P"$cpp_cmd" "$@" -a "$pml" >spin.log 2>&1; then
      cat spin.log >&2
      die "spin -a $* $pml failed"
    fi
    if ! "$PAN_CC" "${pan_cflags[@]}" -o pan pan.c >cc.log 2>&1; then
      cat cc.log >&2
      die "compiling pan.c for $pml $* failed"
    fi
  )
}

# search <dir>: run the verifier; its output goes to <dir>/pan.out.
search() {
  local dir="$1"
  # pan's exit status is not a verdict: the output is parsed instead.
  (cd "$dir" && ./pan -m"$pan_depth" >pan.out 2>&1) || true
}

models=(wait_protocol waiter_thread waiter_shards)
declare -A mutants=(
  [wait_protocol]="MUTANT_NO_RECHECK MUTANT_LOAD_BEFORE_PUBLISH"
  [waiter_thread]="MUTANT_NO_RECHECK MUTANT_LOAD_BEFORE_PUBLISH MUTANT_LOAD_BEFORE_PUSH MUTANT_NO_CHANNEL_ANNOUNCE"
  [waiter_shards]="MUTANT_NO_RESHARE"
)

verified=0
caught=0
start_all="$(now)"
echo "model: $("$spin" -V | head -n1), pan compiled with $PAN_CC, preprocessor: $cpp_cmd"

for model in "${models[@]}"; do
  pml="$model.pml"
  dir="$work/$model"
  t0="$(now)"
  build "$dir" "$pml"
  search "$dir"
  out="$dir/pan.out"

  problems=()
  grep -q "Full statespace search for:" "$out" || problems+=("not a full state-space search")
  grep -Eq "errors: 0$" "$out" || problems+=("errors reported")
  grep -qi "search depth too small" "$out" && problems+=("search depth too small (raise -m)")
  grep -qi "search not completed" "$out" && problems+=("search not completed")
  grep -qi "out of memory" "$out" && problems+=("out of memory")
  # The monitor only runs once the system has reached its end (Promela `timeout`): if it
  # never ran, no run ever finished and the check would be vacuous.
  monitor_line="$(awk '/unreached in proctype monitor/ { getline; print; exit }' "$out")"
  [[ "$monitor_line" =~ \(0\ of ]] || problems+=("monitor never ran (vacuous check): $monitor_line")

  if ((${#problems[@]})); then
    cat "$out" >&2
    if ls "$dir"/*.trail >/dev/null 2>&1; then
      echo "---- counterexample (spin -t) ----" >&2
      (cd "$dir" && "$spin" -P"$cpp_cmd" -t -p -g "$pml" 2>&1 | tail -n 60) >&2 || true
    fi
    die "$model: $(IFS=';'; echo "${problems[*]}")"
  fi
  states="$(awk '/states, stored/ { print $1; exit }' "$out")"
  depth="$(sed -n 's/.*depth reached \([0-9]*\),.*/\1/p' "$out" | head -n1)"
  echo "model $model verified: errors 0, $states states, depth $depth, $(elapsed "$t0") s"
  verified=$((verified + 1))

  for m in ${mutants[$model]}; do
    mdir="$work/$model.$m"
    t0="$(now)"
    build "$mdir" "$pml" "-D$m"
    search "$mdir"
    mout="$mdir/pan.out"
    nerr="$(sed -n 's/.*errors: \([0-9]*\)$/\1/p' "$mout" | head -n1)"
    if [[ -z "$nerr" || "$nerr" -eq 0 ]]; then
      cat "$mout" >&2
      die "mutant $model/$m NOT caught"
    fi
    # The expected verdict: the monitor's lost wake-up assertion, or an invalid end state.
    if grep -q "assertion violated" "$mout"; then
      why="lost wake-up (monitor assertion)"
    elif grep -q "invalid end state" "$mout"; then
      why="invalid end state"
    else
      cat "$mout" >&2
      die "mutant $model/$m: error of an unexpected kind"
    fi
    at="$(sed -n 's/.*(at depth \([0-9]*\)).*/\1/p' "$mout" | head -n1)"
    echo "mutant $model/$m caught: $why at depth ${at:-?} ($(elapsed "$t0") s)"
    caught=$((caught + 1))
  done
done

echo "model: $verified models verified, $caught mutants caught ($(elapsed "$start_all") s)"
