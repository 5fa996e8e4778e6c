# The two commands of the README:
#   make demo   runs the chat demo at http://localhost:3000 (ADDR=host:port
#               for another address; WEBTRANSPORT=host:port to serve
#               WebTransport on that UDP address too)
#   make test   runs every test (Go with -race, Node interop, browser, the
#               official protocol suites)
.PHONY: demo test deps deps-test vet gotest conformance bench

# The demo's listen address: make demo ADDR=0.0.0.0:8080
ADDR = localhost:3000

# go run says nothing while it compiles, which the first time takes a
# minute or two.
demo: deps
	@echo "building the chat demo (the first time takes a minute or two)..."
	go run ./examples/chat -addr $(ADDR) $(if $(WEBTRANSPORT),-webtransport $(WEBTRANSPORT))

# The JavaScript client served by the demo (pinned by package-lock.json).
deps:
	npm ci --no-audit --no-fund --loglevel=error

# npm packages of the tests (each folder has its own lockfile).
deps-test: deps
	npm ci --no-audit --no-fund --loglevel=error --prefix interop
	npm ci --no-audit --no-fund --loglevel=error --prefix examples/chat/e2e
	npm ci --no-audit --no-fund --loglevel=error --prefix client/nodeserver
	npm ci --no-audit --no-fund --loglevel=error --prefix redisadapter/nodecluster
	npm ci --no-audit --no-fund --loglevel=error --prefix adminui/nodeadmin
	npm ci --no-audit --no-fund --loglevel=error --prefix postgresadapter/nodecluster

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

# Whole-server benchmarks: ours against Node socket.io, zishang520 and the
# ceiling server (see BENCHMARKS.md); not part of make test.
bench:
	bench/run.sh
