#!/usr/bin/env bash
# Runs an official protocol test suite (socketio/engine.io-protocol or
# socketio/socket.io-protocol, folder test-suite/) against our conformance
# server, from a temporary copy; nothing of the suite is kept.
#
#   scripts/conformance.sh engine   [runs]
#   scripts/conformance.sh socketio [runs]
#
# The suite comes from $SUITE_DIR (a checkout of the protocol repository) if
# set, else from a local mirror at ../.mirror/socketio+<repo>/repo, else from
# GitHub.
set -euo pipefail

suite=${1:?usage: $0 engine|socketio [runs]}
runs=${2:-1}
case $suite in
  engine) repo=engine.io-protocol ;;
  socketio) repo=socket.io-protocol ;;
  *) echo "unknown suite $suite (want engine or socketio)" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# Where to find the suite: $SUITE_DIR, a mirror of the repository (as the
# team's tool library keeps them, next to the checkout or in /work), or
# GitHub.
mirror=
for m in "$root/../.mirror/socketio+$repo/repo" "/work/.mirror/socketio+$repo/repo"; do
  if [ -d "$m" ]; then mirror=$m; break; fi
done
if [ -n "${SUITE_DIR:-}" ]; then
  cp -r "$SUITE_DIR/test-suite" "$tmp/"
elif [ -n "$mirror" ]; then
  git --git-dir="$mirror" archive HEAD test-suite | tar -x -C "$tmp"
elif git clone --quiet --depth 1 "https://github.com/socketio/$repo" "$tmp/repo" 2>/dev/null; then
  cp -r "$tmp/repo/test-suite" "$tmp/"
else
  echo "!! the official $repo test suite could not be fetched (no mirror, GitHub unreachable)" >&2
  if [ "${CONFORMANCE_REQUIRED:-0}" = 1 ]; then exit 1; fi
  echo "!! SKIPPED (set CONFORMANCE_REQUIRED=1 to make this an error)" >&2
  exit 0
fi

cd "$tmp/test-suite"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
# The pinned ws 8.5.0 merges back-to-back frames into one message event,
# which breaks the suite against any fast server; 8.16.0 does not.
npm install --no-save --no-audit --no-fund --loglevel=error ws@8.16.0 >/dev/null

(cd "$root" && go build -o "$tmp/conformance-server" ./internal/conformance)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
sed -i "s#http://localhost:3000#http://127.0.0.1:$port#" test-suite.js
"$tmp/conformance-server" -suite "$suite" -addr "127.0.0.1:$port" >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

status=0
for i in $(seq "$runs"); do
  echo "== $repo test suite, run $i/$runs"
  if ! npx mocha --reporter dot test-suite.js; then
    status=1
  fi
done
if [ $status -ne 0 ]; then
  echo "== server log"; tail -50 "$tmp/server.log"
fi
exit $status
