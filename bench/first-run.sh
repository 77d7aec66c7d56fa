#!/usr/bin/env bash
# A learner's first minute: on a fresh copy of the repository with nothing built, how long
# `cargo kata run 1` takes to print its first byte, and to finish with the first kata's result.
# Downloads are not counted: the crates are fetched first (a workshop hands them out offline).
#
#   bench/first-run.sh          (RUNS=1; each run starts from an empty target directory)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-1}
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
git ls-files -z | xargs -0 cp --parents -t "$copy"
cd "$copy"
cargo fetch --locked -q

for run in $(seq "$runs"); do
  rm -rf "$copy/target" "$copy/.kata"
  # Times the command as a learner types it, through the cargo alias, with a terminal-less
  # stdout (as in a pipe); notes when the first byte of output appears on either stream.
  python3 - "$run" <<'PY'
import os, selectors, subprocess, sys, time
env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(os.getcwd(), "target"), NO_COLOR="1")
start = time.monotonic()
child = subprocess.Popen(["cargo", "kata", "run", "1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
selector = selectors.DefaultSelector()
selector.register(child.stdout, selectors.EVENT_READ)
selector.register(child.stderr, selectors.EVENT_READ)
first = None
open_streams = 2
while open_streams:
    for key, _ in selector.select():
        data = os.read(key.fileobj.fileno(), 65536)
        if not data:
            selector.unregister(key.fileobj)
            open_streams -= 1
        elif first is None:
            first = time.monotonic() - start
code = child.wait()
total = time.monotonic() - start
print(f"run {sys.argv[1]}: first output after {first:.1f} s, first kata's result after "
      f"{total:.1f} s (exit {code}: the untouched kata fails, as it should)")
PY
done
