// Interop tests: the official JavaScript client, npm socket.io-client at
// exactly the version pinned in interop/package.json and
// interop/package-lock.json, run by Node against this module's server
// started in-process.
//
// How to run (Node 20 or later and npm on the PATH):
//
//	npm ci --prefix interop && go test ./interop/
//
// Without interop/node_modules the tests fail and say so; set
// SOCKETIO_SKIP_NODE=1 to skip them instead (for machines without Node).
// With -v every Node run's report is printed; on failure it always is.
//
// Layout: each *_test.go file starts one server (httptest, 127.0.0.1) with
// the handlers of a group of scenarios and runs the node:test file of the
// same name in js/ with SERVER_URL and CTL_URL in its environment. CTL_URL
// is a small HTTP control endpoint of the Go test (see harness_test.go)
// through which the scripts read server-side observations (disconnect
// reasons, counters) and trigger server-side actions (abort a transport,
// restart the server). Every Node run is bounded by a context timeout and
// every JS test by its own timeout.
package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// clientVersion is the socket.io-client version the tests are written for.
const clientVersion = "4.8.4"

// skipNode is set when SOCKETIO_SKIP_NODE=1 and Node or the client is
// missing: every test then skips.
var skipNode string

func TestMain(m *testing.M) {
	if msg := checkNode(); msg != "" {
		if os.Getenv("SOCKETIO_SKIP_NODE") != "1" {
			fmt.Fprintf(os.Stderr, "interop: %s\n\tInstall the pinned client with:  npm ci --prefix interop\n\t(or set SOCKETIO_SKIP_NODE=1 to skip these tests)\n", msg)
			os.Exit(1)
		}
		skipNode = msg + " (SOCKETIO_SKIP_NODE=1)"
	}
	code := m.Run()
	if code == 0 {
		// Every server, connection and helper of the Go side must be gone.
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "interop: goroutines left after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// checkNode returns why the Node side cannot run, or "".
func checkNode() string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node is not on the PATH"
	}
	raw, err := os.ReadFile(filepath.Join("node_modules", "socket.io-client", "package.json"))
	if err != nil {
		return "interop/node_modules/socket.io-client is missing"
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil || pkg.Version != clientVersion {
		return fmt.Sprintf("interop/node_modules/socket.io-client is version %q, want %s", pkg.Version, clientVersion)
	}
	return ""
}
