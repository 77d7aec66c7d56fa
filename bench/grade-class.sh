#!/usr/bin/env bash
# Grading cost per student against plain `cargo test` of the same crates.
#
#   bench/grade-class.sh          STUDENTS=30 KATAS="01-lazy-futures 05-spawn-independent-work ..."
#
# Generates a class: every student hands in the reference solutions with a line of their own
# (so no two sources are the same), and every fourth leaves the last kata broken. Dependencies
# are compiled once, by a one-student warm-up; then the class is graded, and plain
# `cargo test --workspace --no-fail-fast` builds and tests the very same crates from a copy of the
# warmed-up target directory. Katas that hang on purpose are left out: plain cargo would hang.
set -euo pipefail
cd "$(dirname "$0")/.."

students=${STUDENTS:-30}
katas=${KATAS:-"01-lazy-futures 05-spawn-independent-work 09-bounded-channels 14-bounded-concurrency"}
bench=target/bench-grade
rm -rf "$bench"
mkdir -p "$bench/class" "$bench/warm"
export RUST_BACKTRACE=0 NO_COLOR=1

cargo build -q -p checker
checker="${CARGO_TARGET_DIR:-$PWD/target}/debug/checker"
# Grading builds go to a target directory of the benchmark's own, empty at the start.
export CARGO_TARGET_DIR="$PWD/$bench/target"

hand_in() { # student-folder student-number
  local last; last=$(echo "$katas" | awk '{ print $NF }')
  for kata in $katas; do
    local dir="$1/exercises/$kata"
    mkdir -p "$dir"
    cp -r "exercises/$kata/Cargo.toml" "exercises/$kata/tests" "$dir/"
    if [ "$kata" = "$last" ] && [ $(($2 % 4)) -eq 0 ]; then
      cp -r "exercises/$kata/src" "$dir/"
    else
      cp -r "solutions/$kata/src" "$dir/"
    fi
    echo "// handed in by student $2" >>"$dir/src/lib.rs"
  done
}
for i in $(seq 1 "$students"); do hand_in "$bench/class/student$(printf %02d "$i")" "$i"; done
hand_in "$bench/warm/warmup" 1

kata_args=$(for k in $katas; do printf -- '--kata %s ' "$k"; done)

millis() { echo $(($(date +%s%N) / 1000000)); }

# shellcheck disable=SC2086
"$checker" grade "$bench/warm" $kata_args --out "$bench/warm-grades" >/dev/null 2>&1
cp -r "$bench/target/grading/target" "$bench/plain-target"
cp -r "$bench/target/grading/target" "$bench/plain-tests-target"

start=$(millis)
# shellcheck disable=SC2086
"$checker" grade "$bench/class" $kata_args --out "$bench/grades" --work-dir "$bench/work" >/dev/null 2>&1
graded=$(($(millis) - start))

start=$(millis)
(cd "$bench/work" && CARGO_TARGET_DIR="$PWD/../plain-target" cargo test -q --workspace --no-fail-fast >/dev/null 2>&1) || true
plain=$(($(millis) - start))

# The same without doctests, which grading does not run: the stricter comparison.
start=$(millis)
(cd "$bench/work" && CARGO_TARGET_DIR="$PWD/../plain-tests-target" cargo test -q --workspace --no-fail-fast --tests >/dev/null 2>&1) || true
plain_tests=$(($(millis) - start))

tokio_builds=$(find "$bench/target/grading/target/debug/deps" -name 'libtokio-*.rlib' | wc -l)
crates=$(($(echo "$katas" | wc -w) * students))
echo "class: $students students x $(echo "$katas" | wc -w) katas = $crates crates"
echo "grade:              ${graded} ms  ($((graded / students)) ms per student)"
echo "plain cargo test:   ${plain} ms  ($((plain / students)) ms per student)"
echo "cargo test --tests: ${plain_tests} ms  ($((plain_tests / students)) ms per student)"
awk -v a="$graded" -v b="$plain" 'BEGIN { printf "ratio:              %.2f x cargo test\n", a / b }'
awk -v a="$graded" -v b="$plain_tests" 'BEGIN { printf "ratio:              %.2f x cargo test --tests\n", a / b }'
echo "tokio compiled:     $tokio_builds time(s) in the grading target"
