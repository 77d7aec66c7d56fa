#!/usr/bin/env bash
# What grading a class costs: time per student with every kata distinct, time per repeated
# (byte-identical) submission, and the most disk grading used at once.
#
#   bench/grade-class.sh                      STUDENTS=3 REPEATS=10 KATAS="all katas"
#   STUDENTS=5 KATAS="01-lazy-futures 09-bounded-channels" bench/grade-class.sh
#
# Every distinct student hands in the reference solutions with a line of their own, so no two
# sources are the same and nothing is shared; the repeated students hand in exactly what the
# first one did. Dependencies are compiled once, by a one-student warm-up. Disk is sampled every
# 200 ms over the grading build folder and the work folder: students' build output is deleted
# once their tests have run, so the peak does not grow with the class.
set -euo pipefail
cd "$(dirname "$0")/.."

students=${STUDENTS:-3}
repeats=${REPEATS:-10}
katas=${KATAS:-$(ls exercises)}
bench=target/bench-grade
# The compiled dependencies are kept between runs of the benchmark; everything else is new.
mkdir -p "$bench"
find "$bench" -mindepth 1 -maxdepth 1 ! -name target -exec rm -rf {} +
# The students' workspaces must be outside this checkout: cargo would read its .cargo/config.toml,
# which confined builds may not.
work=$(mktemp -d)
export RUST_BACKTRACE=0 NO_COLOR=1

cargo build -q -p checker
checker="${CARGO_TARGET_DIR:-$PWD/target}/debug/checker"
# Grading builds go to a target directory of the benchmark's own.
export CARGO_TARGET_DIR="$PWD/$bench/target"

hand_in() { # student-folder label
  for kata in $katas; do
    local dir="$1/exercises/$kata"
    mkdir -p "$dir"
    cp -r "solutions/$kata/src" "$dir/"
    echo "// handed in by $2" >>"$dir/src/lib.rs"
  done
}
hand_in "$bench/warm/warmup" warmup
for i in $(seq 1 "$students"); do hand_in "$bench/distinct/student$(printf %03d "$i")" "student $i"; done
hand_in "$bench/repeated/first" "the first"
for i in $(seq 1 "$repeats"); do
  cp -r "$bench/repeated/first" "$bench/repeated/copy$(printf %03d "$i")"
done
hand_in "$bench/alone/first" "the first"

kata_args=$(for k in $katas; do printf -- '--kata %s ' "$k"; done)
millis() { echo $(($(date +%s%N) / 1000000)); }

peak_file="$bench/peak-bytes"
echo 0 >"$peak_file"
sample_disk() { # folders...
  local peak=0 now
  while :; do
    # Files come and go under du: its complaints and exit status mean nothing here.
    now=$(du -sb "$@" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }' || true)
    if [ "$now" -gt "$peak" ]; then
      peak=$now
      echo "$peak" >"$peak_file"
    fi
    sleep 0.2
  done
}

grade() { # class-folder out-folder
  # shellcheck disable=SC2086
  "$checker" grade "$1" $kata_args --out "$2" --work-dir "$work" >"$2.log" 2>&1
}

grade "$bench/warm" "$bench/warm-grades"
deps=$(du -sb "$bench/target/grading" | awk '{ print $1 }')

sample_disk "$bench/target/grading" "$work" &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true; rm -rf "$work"' EXIT
start=$(millis)
grade "$bench/distinct" "$bench/distinct-grades"
distinct=$(($(millis) - start))
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
peak=$(cat "$peak_file")

start=$(millis)
grade "$bench/alone" "$bench/alone-grades"
alone=$(($(millis) - start))
start=$(millis)
grade "$bench/repeated" "$bench/repeated-grades"
repeated=$(($(millis) - start))

n_katas=$(echo "$katas" | wc -w)
mb() { awk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1e6 }'; }
echo "katas per student:         $n_katas"
echo "distinct students:         $students in ${distinct} ms ($((distinct / students)) ms per student)"
echo "one student alone:         ${alone} ms"
echo "it and $repeats identical copies:  ${repeated} ms ($(((repeated - alone) / repeats)) ms per repeated submission)"
echo "compiled dependencies:     $(mb "$deps")"
echo "peak disk while grading:   $(mb "$peak") (dependencies, work folder and one student's build output)"
