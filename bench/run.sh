#!/usr/bin/env bash
# Runs the whole-server benchmarks: go (ours) vs node (socket.io 4.8.4) vs
# zishang (zishang520/socket.io v3.0.6) vs ceiling (bench/servers/ceiling, a
# minimal server: the contract and nothing else), alternately, with medians and ratios.
#   bench/run.sh                 every scenario, 3 rounds (about 20 minutes)
#   bench/run.sh quick           small sizes, 1 round (a smoke test)
#   bench/run.sh <flags>         flags of "siobench run" (go run ./cmd/siobench run -h)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == quick ]]; then
	shift
	set -- -rounds 1 -idle-conns 1000 -settle 1s -fanout-clients 200 -fanout-count 200 \
		-duration 3s -warmup 1s -mixed-conns 2000 -mixed-echo-clients 200 -mixed-rate 1000 "$@"
fi
exec go run ./cmd/siobench run "$@"
