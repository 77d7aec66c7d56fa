#!/usr/bin/env bash
# How much the checker adds on top of cargo: `cargo kata run KATA` against plain
# `cargo test -p kata-KATA`, with nothing changed and after a one-line edit. Median of RUNS.
#
#   bench/run-vs-cargo.sh [KATA]        (default 09-bounded-channels; RUNS=5)
#
# Pick a kata without clippy lints and without hanging tests: plain `cargo test` would hang on
# one, and clippy is a second compilation that plain `cargo test` does not do.
set -euo pipefail
cd "$(dirname "$0")/.."

kata=${1:-09-bounded-channels}
runs=${RUNS:-5}
lib=exercises/$kata/src/lib.rs
[ -f "$lib" ] || { echo "no kata $kata" >&2; exit 2; }

saved=$(mktemp)
cp "$lib" "$saved"
trap 'cp "$saved" "$lib"; rm -f "$saved"' EXIT
export RUST_BACKTRACE=0 NO_COLOR=1

cargo build -q -p checker
checker="${CARGO_TARGET_DIR:-$PWD/target}/debug/checker"

# Warm both paths so every measurement starts from the same, fully built state.
cargo test -q -p "kata-$kata" >/dev/null 2>&1 || true
"$checker" run "$kata" >/dev/null 2>&1 || true

millis() { echo $(($(date +%s%N) / 1000000)); }

# time_once EDIT CMD...: runs CMD once, after a one-line edit when EDIT is "edit"; prints ms.
edits=0
time_once() {
  local edit=$1; shift
  if [ "$edit" = edit ]; then
    edits=$((edits + 1))
    cp "$saved" "$lib"
    echo "// bench edit $edits" >>"$lib"
  fi
  local start; start=$(millis)
  "$@" >/dev/null 2>&1 || true
  echo $(($(millis) - start))
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

measure() {
  local edit=$1; shift
  for _ in $(seq "$runs"); do time_once "$edit" "$@"; done | median
}

printf '%-10s %-28s %8s\n' state command "median ms"
for edit in unchanged edit; do
  plain=$(measure "$edit" cargo test -q -p "kata-$kata")
  direct=$(measure "$edit" "$checker" run "$kata")
  alias=$(measure "$edit" cargo kata run "$kata")
  printf '%-10s %-28s %8s\n' "$edit" "cargo test -p kata-$kata" "$plain"
  printf '%-10s %-28s %8s  (%s x plain)\n' "$edit" "checker run $kata" "$direct" \
    "$(awk -v a="$direct" -v b="$plain" 'BEGIN { printf "%.2f", a / b }')"
  printf '%-10s %-28s %8s  (%s x plain)\n' "$edit" "cargo kata run $kata" "$alias" \
    "$(awk -v a="$alias" -v b="$plain" 'BEGIN { printf "%.2f", a / b }')"
done
