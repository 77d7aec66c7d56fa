#!/usr/bin/env bash
# What being in a workshop room costs a learner: `cargo kata run KATA` (median of RUNS, nothing
# changed) outside a room, in a live room, with the room down (connection refused) and with a
# silent room (it accepts the connection and never answers). Everything stays on loopback.
#
#   bench/room-learner.sh [KATA]        (default 09-bounded-channels; RUNS=7)
#
# Works on a copy of the tracked files, so the repository's own progress is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

kata=${1:-09-bounded-channels}
runs=${RUNS:-7}
export RUST_BACKTRACE=0 NO_COLOR=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build -q -p checker -p kata-room
checker="$CARGO_TARGET_DIR/debug/checker"
room="$CARGO_TARGET_DIR/debug/kata-room"

copy=$(mktemp -d)
server=
silent=
cleanup() {
  for pid in $server $silent; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$copy"
}
trap cleanup EXIT
git ls-files -z | xargs -0 cp --parents -t "$copy"
cd "$copy"

millis() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
measure() {
  "$checker" run "$kata" >/dev/null 2>&1 || true # warm: the copy's first build
  for _ in $(seq "$runs"); do
    local start; start=$(millis)
    "$checker" run "$kata" >/dev/null 2>&1 || true
    echo $(($(millis) - start))
  done | median
}
# Points the learner's membership at another address, as if the room had moved or vanished.
move_room() {
  python3 - "$1" <<'PY'
import json, sys
path = ".kata/progress.json"
progress = json.load(open(path))
progress["room"]["url"] = sys.argv[1]
json.dump(progress, open(path, "w"), indent=2)
PY
}

alone=$(measure)

"$room" --listen 127.0.0.1:0 --new-room --code BENCH --db "$copy/room.db" >"$copy/serve.out" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q '^listening on ' "$copy/serve.out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$copy/serve.out")
"$checker" join "$url" --code BENCH --name bench >/dev/null
live=$(measure)

kill "$server"; wait "$server" 2>/dev/null || true; server=
down=$(measure)

# A room that never answers, on loopback: it accepts every connection and says nothing, so the
# learner's sync can only give up at its own timeout.
python3 -c '
import socket
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)
print(listener.getsockname()[1], flush=True)
held = []
while True:
    held.append(listener.accept()[0])
' >"$copy/silent.port" &
silent=$!
for _ in $(seq 100); do [ -s "$copy/silent.port" ] && break; sleep 0.1; done
move_room "http://127.0.0.1:$(cat "$copy/silent.port")"
quiet=$(measure)

echo "cargo kata run $kata, median of $runs (ms):"
printf '  %-34s %6s\n' "not in a room" "$alone" "in a live room" "$live" \
  "room down (connection refused)" "$down" "room silent (never answers)" "$quiet"
