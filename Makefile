# The two commands of the README:
#   make demo   runs the chat demo at http://localhost:3000
#   make test   runs every test (Go with -race, Node interop, browser, the
#               official protocol suites)
.PHONY: demo test deps deps-test vet gotest conformance bench

demo: deps
	go run ./examples/chat

# The JavaScript client served by the demo (pinned by package-lock.json).
deps:
	npm ci --no-audit --no-fund --loglevel=error

# npm packages of the tests (each folder has its own lockfile).
deps-test: deps
	npm ci --no-audit --no-fund --loglevel=error --prefix interop
	npm ci --no-audit --no-fund --loglevel=error --prefix examples/chat/e2e
	npm ci --no-audit --no-fund --loglevel=error --prefix client/nodeserver
	npm ci --no-audit --no-fund --loglevel=error --prefix redisadapter/nodecluster

vet:
	go vet ./...
	GOOS=windows go build ./...
	GOOS=darwin go build ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

gotest:
	go test -race -count=1 -timeout 15m ./...

# The official engine.io-protocol and socket.io-protocol test suites, run
# twice each against internal/conformance.
conformance:
	scripts/conformance.sh engine 2
	scripts/conformance.sh socketio 2

test: deps-test vet gotest conformance

# Whole-server benchmarks: ours against Node socket.io and zishang520 (see
# BENCHMARKS.md); not part of make test.
bench:
	bench/run.sh
