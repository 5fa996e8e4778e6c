package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBrowser runs the chat in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core from e2e/node_modules). It needs
// `npm ci` at the repository root (the served client), `npm ci --prefix
// examples/chat/e2e`, and chromium; set SOCKETIO_SKIP_BROWSER=1 to skip it
// on a machine without them. The screenshot lands in $ARTIFACTS_DIR
// (default: artifacts/ at the repository root).
func TestBrowser(t *testing.T) {
	runBrowser(t, "e2e/chat.test.mjs", "chat.png")
}

// TestAdminBrowser logs into the Admin UI the demo serves at /admin/ (npm
// @socket.io/admin-ui, from node_modules at the repository root), sees the
// chat pages' sockets and rooms, and disconnects one of them
// (e2e/admin.test.mjs). The screenshot is admin-ui.png.
func TestAdminBrowser(t *testing.T) {
	root, _ := filepath.Abs("../..")
	if _, err := os.Stat(filepath.Join(root, "node_modules/@socket.io/admin-ui/ui/dist/index.html")); err != nil && os.Getenv("SOCKETIO_SKIP_BROWSER") != "1" {
		t.Fatal("node_modules/@socket.io/admin-ui is missing: run `npm ci` at the repository root (or set SOCKETIO_SKIP_BROWSER=1)")
	}
	runBrowser(t, "e2e/admin.test.mjs", "admin-ui.png")
}

func runBrowser(t *testing.T, script, screenshot string) {
	if os.Getenv("SOCKETIO_SKIP_BROWSER") == "1" {
		t.Skip("SOCKETIO_SKIP_BROWSER=1")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, need := range []struct{ path, fix string }{
		{"/usr/bin/chromium", "apt-get install chromium"},
		{filepath.Join(root, "examples/chat/e2e/node_modules/playwright-core"), "npm ci --prefix examples/chat/e2e"},
		{filepath.Join(root, "node_modules/socket.io-client/dist/socket.io.js"), "npm ci (at the repository root)"},
	} {
		if _, err := os.Stat(need.path); err != nil {
			t.Fatalf("%s is missing: run `%s` (or set SOCKETIO_SKIP_BROWSER=1)", need.path, need.fix)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "chat")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	artifacts := os.Getenv("ARTIFACTS_DIR")
	if artifacts == "" {
		artifacts = filepath.Join(root, "artifacts")
	}
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", script)
	cmd.Env = append(os.Environ(), "CHAT_BIN="+bin, "REPO_ROOT="+root, "ARTIFACTS_DIR="+artifacts)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("node output:\n%s", out)
	if err != nil {
		t.Fatalf("browser tests failed: %v", err)
	}
	t.Logf("screenshot: %s", filepath.Join(artifacts, screenshot))
}

// TestWebTransportBrowser runs the demo with -webtransport: its pages move
// to WebTransport (HTTP/3 with the demo's self-signed certificate, accepted
// by its hash) in Chromium, and chat with a page on WebSocket
// (e2e/webtransport.test.mjs). The screenshot is chat-webtransport.png.
func TestWebTransportBrowser(t *testing.T) {
	runBrowser(t, "e2e/webtransport.test.mjs", "chat-webtransport.png")
}
