#!/usr/bin/env bash
# Mutation testing of the katas: cargo-mutants changes each reference solution in small ways
# (a `>` becomes `>=`, a body becomes `Default::default()`, a call is deleted) and runs the kata's
# own tests against every change. A mutant the tests do not catch is a wrong "fix" they would let
# through: close the gap, or explain in the kata's NOTES.md why the change is harmless.
#
#   bench/mutants.sh              every kata
#   bench/mutants.sh 05 3.4 ...   some katas (number, catalogue id, slug or folder name)
#
# Slow (minutes per kata), so not part of CI. Needs cargo-mutants (`cargo install cargo-mutants`).
# Each kata is mutated in a throwaway copy of its solution and tests, never in the repository,
# and builds into the repository's target directory so dependencies compile once. In the copy
# the solution sits in mutated/ instead of solutions/: cargo names a workspace member's build
# output by its path in the workspace, so the mutants' builds can never pass for the real
# solution's (they would look fresh to a later `cargo test` or `verify`). Results go to
# target/mutants/NN-slug/ (cargo-mutants' mutants.out), and one line per kata is printed:
#   kata  mutants  caught  timeout  missed  unviable
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

command -v cargo-mutants >/dev/null || {
  echo "cargo-mutants is not installed: cargo install --locked cargo-mutants" >&2
  exit 2
}

resolve() { # NAME -> NN-slug folder name
  local query=$1 dir
  for dir in exercises/*/; do
    dir=${dir%/}; dir=${dir#exercises/}
    local number=${dir%%-*} slug=${dir#*-}
    local id; id=$(sed -n 's/^id = "\(.*\)"/\1/p' "exercises/$dir/kata.toml")
    if [ "$query" = "$dir" ] || [ "$query" = "$slug" ] || [ "$query" = "$id" ] ||
       { [[ $query =~ ^[0-9]+$ ]] && [ "$((10#$query))" = "$((10#$number))" ]; }; then
      echo "$dir"; return
    fi
  done
  echo "no kata named $query" >&2
  return 1
}

katas=()
if [ $# -eq 0 ]; then
  for dir in exercises/*/; do dir=${dir%/}; katas+=("${dir#exercises/}"); done
else
  for query in "$@"; do katas+=("$(resolve "$query")"); done
fi

target=${CARGO_TARGET_DIR:-$root/target}
export CARGO_TARGET_DIR=$target RUST_BACKTRACE=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

printf '%-28s %8s %7s %8s %7s %9s\n' kata mutants caught timeout missed unviable
for kata in "${katas[@]}"; do
  # The solution's manifest reaches the tests at ../../exercises/NN-slug/tests: keep that depth.
  copy=$scratch/$kata
  mkdir -p "$copy/mutated" "$copy/exercises/$kata"
  cp -R "solutions/$kata" "$copy/mutated/$kata"
  rm -rf "$copy/mutated/$kata/accepted" "$copy/mutated/$kata/rejected"
  cp -R "exercises/$kata/tests" "$copy/exercises/$kata/tests"
  cp Cargo.lock "$copy/"
  sed -e 's|^members = .*|members = ["mutated/*"]|' -e '/^default-members/d' Cargo.toml >"$copy/Cargo.toml"

  out=$target/mutants/$kata
  rm -rf "$out"
  mkdir -p "$out"
  (
    cd "$copy"
    # --in-place: the copy is ours to change. A mutant that makes a test hang is stopped by
    # cargo-mutants' timeout and counts as caught ("timeout"), as the checker would stop it.
    cargo mutants --in-place --no-shuffle --package "solution-$kata" \
      --timeout 30 --output "$out" >"$out/run.log" 2>&1 || true
  )
  outcomes=$out/mutants.out/outcomes.json
  if [ ! -f "$outcomes" ]; then
    echo "$kata: cargo-mutants produced no results; see $out/run.log" >&2
    continue
  fi
  python3 - "$kata" "$outcomes" <<'PY'
import json, sys
kata, path = sys.argv[1], sys.argv[2]
data = json.load(open(path))
print(f"{kata:<28} {data['total_mutants']:>8} {data['caught']:>7} {data['timeout']:>8} "
      f"{data['missed']:>7} {data['unviable']:>9}")
PY
  if [ -s "$out/mutants.out/missed.txt" ]; then
    sed 's/^/    missed: /' "$out/mutants.out/missed.txt"
  fi
done
