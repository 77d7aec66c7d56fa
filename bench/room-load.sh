#!/usr/bin/env bash
# The workshop room under load: a release room server (what `cargo kata serve` runs) on loopback with a fresh room, LEARNERS
# learners reporting once a second for SECONDS seconds, one listener on the event stream and,
# when Debian's chromium is installed, the dashboard itself in headless Chromium. Prints the
# p50/p95/p99/max report latency, event stream delay and page update delay (to the page's DOM;
# examples/room_load.rs).
#
#   bench/room-load.sh [LEARNERS] [SECONDS]        (default 200 learners, 60 s)
#
# Exits non-zero when a report failed or the event stream broke.
set -euo pipefail
cd "$(dirname "$0")/.."

learners=${1:-200}
seconds=${2:-60}
code=bench-room

echo "== building the room's server and examples/room_load (release)"
cargo build -q --release -p kata-room --bin kata-room --example room_load
release="${CARGO_TARGET_DIR:-$PWD/target}/release"

tmp=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every simulated learner joins from loopback within a second: lift the per-address join limit
# and size the room for the class; everything else is as `cargo kata serve` runs it.
"$release/kata-room" --listen 127.0.0.1:0 --new-room --code "$code" --db "$tmp/room.db" \
  --unlock-through 8 --max-learners "$learners" --joins-per-minute 0 \
  >"$tmp/serve.out" 2>"$tmp/serve.err" &
server=$!

# serve's first line is `listening on http://IP:PORT`; it never prints the instructor key, which
# it keeps (in the dashboard address) in a file beside the database.
url=
for _ in $(seq 300); do
  url=$(sed -n '1s/^listening on //p' "$tmp/serve.out")
  [ -n "$url" ] && grep -q '^instructor dashboard' "$tmp/serve.out" && break
  if ! kill -0 "$server" 2>/dev/null; then
    echo "serve exited early:" >&2
    cat "$tmp/serve.out" "$tmp/serve.err" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "serve printed no address in 30 s:" >&2
  cat "$tmp/serve.out" "$tmp/serve.err" >&2
  exit 1
fi
key=$(grep -o 'key=[^[:space:]&"]*' "$tmp/room.db.instructor" 2>/dev/null | head -n 1 | cut -d= -f2- || true)
key_args=()
[ -n "$key" ] && key_args=(--key "$key")
browser_args=()
if [ -x /usr/bin/chromium ]; then
  browser_args=(--browser)
else
  echo "== chromium is not installed: the page update delay is not measured (apt-get install -y chromium)"
fi

echo "== $learners learners for $seconds s against $url ($(nproc) cores)"
status=0
"$release/examples/room_load" --url "$url" --code "$code" "${key_args[@]}" "${browser_args[@]}" \
  --learners "$learners" --seconds "$seconds" || status=$?

if [ -s "$tmp/serve.err" ]; then
  echo "== serve's stderr (last lines)"
  tail -n 20 "$tmp/serve.err"
fi
exit "$status"
