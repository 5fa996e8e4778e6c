package adminui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adminui"
	"github.com/socketio-go/socketio/internal/clustertest"
)

// TestSameTrafficAsNode runs one scripted Admin UI session (nodeadmin/
// scenario.mjs: socket.io-client playing the UI and two application
// clients) against Node's instrument() (nodeadmin/server.mjs: socket.io
// 4.8.4, @socket.io/admin-ui 0.5.1, bcryptjs, pinned) and against this
// package, and compares what the UI received: the same events, in the same
// order, with the same shapes, once ids, times and values that differ
// between any two runs are normalised. Known differences are normalised
// too, each named below.
func TestSameTrafficAsNode(t *testing.T) {
	if os.Getenv("SOCKETIO_SKIP_NODE") == "1" {
		t.Skip("SOCKETIO_SKIP_NODE=1")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed (or set SOCKETIO_SKIP_NODE=1)")
	}
	dir, _ := filepath.Abs("nodeadmin")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@socket.io", "admin-ui")); err != nil {
		t.Fatal("adminui/nodeadmin/node_modules is missing: run make deps-test (or set SOCKETIO_SKIP_NODE=1)")
	}

	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT=0")
	proc := clustertest.StartProcess(t, "node admin server", cmd)
	fromNode := runScenario(t, node, dir, proc.URL())

	srv := socketio.NewServer(&socketio.Options{Logger: quiet(), DisableServeClient: true})
	app(srv)
	ui, err := adminui.Instrument(srv, &adminui.Options{
		Auth:     &adminui.BasicAuth{Username: "admin", Password: changeitHash},
		ServerID: "server",
		Logger:   quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer func() {
		ui.Close()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	}()
	fromGo := runScenario(t, node, dir, ts.URL)

	if fromNode.AliceReason != "io server disconnect" || fromGo.AliceReason != fromNode.AliceReason {
		t.Errorf("alice's disconnect reason: node %q, go %q", fromNode.AliceReason, fromGo.AliceReason)
	}
	n, g := fromNode.normalise(t, "node"), fromGo.normalise(t, "go")
	for i := 0; i < max(len(n), len(g)); i++ {
		var a, b string
		if i < len(n) {
			a = n[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			t.Errorf("event %d differs:\n node: %s\n   go: %s", i, a, b)
		}
	}
	if t.Failed() {
		t.Logf("node:\n%s\ngo:\n%s", strings.Join(n, "\n"), strings.Join(g, "\n"))
	}
}

type capture struct {
	IDs         map[string]string `json:"ids"`
	AliceReason string            `json:"aliceReason"`
	Events      []struct {
		Name string            `json:"name"`
		Args []json.RawMessage `json:"args"`
	} `json:"events"`
}

func runScenario(t *testing.T, node, dir, url string) *capture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "scenario.mjs", url)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scenario against %s: %v\n%s", url, err, stderr.String())
	}
	var c capture
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("scenario output: %v\n%s", err, out)
	}
	return &c
}

var (
	isoTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	jsDate  = regexp.MustCompile(`^[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d{4} \d\d:\d\d:\d\d GMT\+0000 \(Coordinated Universal Time\)$`)
	hex16   = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// normalise turns the events into comparable lines.
func (c *capture) normalise(t *testing.T, who string) []string {
	var out []string
	var stats []string
	sessions := 0
	for _, ev := range c.Events {
		var args []any
		for _, raw := range ev.Args {
			s := string(raw)
			for role, id := range c.IDs {
				s = strings.ReplaceAll(s, `"`+id+`"`, `"<`+role+`>"`)
			}
			var v any
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				t.Fatalf("%s: %v", who, err)
			}
			args = append(args, v)
		}
		for i, a := range args {
			if s, ok := a.(string); ok && isoTime.MatchString(s) {
				args[i] = "<time>"
			}
		}
		keys := ""
		if len(ev.Args) > 0 {
			keys = keyOrder(ev.Args[0])
		}
		switch ev.Name {
		case "session":
			// Node sends it before the CONNECT, we after (so that the UI
			// keeps it): compared apart from the order.
			if len(args) == 1 && hex16.MatchString(fmt.Sprint(args[0])) {
				sessions++
				continue
			}
		case "socket_connected":
			args[0] = normaliseSocket(t, who, args[0])
		case "all_sockets":
			list, _ := args[0].([]any)
			for i := range list {
				list[i] = normaliseSocket(t, who, list[i])
			}
			sort.Slice(list, func(i, j int) bool { return fmt.Sprint(list[i]) < fmt.Sprint(list[j]) })
		case "server_stats":
			stats = append(stats, line(ev.Name, []any{normaliseStats(t, who, args[0])})+keys)
			continue // their number depends on timing: the last one is compared
		}
		out = append(out, line(ev.Name, args)+keys)
	}
	// One action on many sockets (a leave without filter) reports them in
	// the adapter's order: insertion order in Node, none here. Each run of
	// reports of one room is sorted.
	runKey := func(l string) string {
		var name string
		var args []any
		name, rest, _ := strings.Cut(l, " ")
		if (name != "room_joined" && name != "room_left") || json.Unmarshal([]byte(rest), &args) != nil || len(args) < 2 {
			return ""
		}
		return fmt.Sprint(name, args[0], args[1])
	}
	for i := 0; i < len(out); {
		j := i + 1
		for k := runKey(out[i]); k != "" && j < len(out) && runKey(out[j]) == k; j++ {
		}
		sort.Strings(out[i:j])
		i = j
	}
	if sessions != 1 {
		t.Errorf("%s: %d session events, want 1", who, sessions)
	}
	if len(stats) == 0 {
		t.Errorf("%s: no server_stats", who)
	} else {
		out = append(out, stats[len(stats)-1])
	}
	return out
}

func line(name string, args []any) string {
	b, _ := json.Marshal(args) // map keys sorted: keyOrder tells the order
	return name + " " + string(b)
}

// keyOrder lists the keys of a JSON object (with those of its objects
// nested one level down), in order: "" for other values.
func keyOrder(raw json.RawMessage) string {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return ""
		}
		if k == "handshake" {
			k += keyOrder(v)
		}
		keys = append(keys, k)
	}
	return " keys:(" + strings.Join(keys, ",") + ")"
}

func normaliseSocket(t *testing.T, who string, v any) any {
	s, ok := v.(map[string]any)
	if !ok {
		return v
	}
	h, _ := s["handshake"].(map[string]any)
	if h == nil {
		return v
	}
	if _, ok := h["issued"].(float64); ok {
		h["issued"] = "<ms>"
	}
	if d, ok := h["time"].(string); ok && jsDate.MatchString(d) {
		h["time"] = "<date>"
	}
	// Header names only: the values (the WebSocket key, the port) vary.
	if hd, ok := h["headers"].(map[string]any); ok {
		var names []string
		for k := range hd {
			names = append(names, k)
		}
		sort.Strings(names)
		h["headers"] = names
	}
	return s
}

func normaliseStats(t *testing.T, who string, v any) any {
	st, ok := v.(map[string]any)
	if !ok {
		return v
	}
	host, _ := os.Hostname()
	if st["hostname"] == host {
		st["hostname"] = "<host>"
	}
	if _, ok := st["pid"].(float64); ok {
		st["pid"] = "<pid>"
	}
	if _, ok := st["uptime"].(float64); ok {
		st["uptime"] = "<seconds>"
	}
	// The aggregated events depend on timing: their shape is checked.
	if evs, ok := st["aggregatedEvents"].([]any); ok {
		valid := true
		for _, e := range evs {
			m, _ := e.(map[string]any)
			ts, _ := m["timestamp"].(float64)
			count, _ := m["count"].(float64)
			typ, _ := m["type"].(string)
			_, hasSub := m["subType"]
			valid = valid && ts > 0 && int64(ts)%1000 == 0 && count > 0 &&
				strings.Contains(" rawConnection rawDisconnection packetsIn packetsOut bytesIn bytesOut ", " "+typ+" ") &&
				hasSub == (typ == "rawDisconnection") && len(m) == 3+map[bool]int{true: 1}[hasSub]
		}
		if valid {
			st["aggregatedEvents"] = "<valid>"
		}
	}
	if ns, ok := st["namespaces"].([]any); ok {
		sort.Slice(ns, func(i, j int) bool { return fmt.Sprint(ns[i]) < fmt.Sprint(ns[j]) })
	}
	return st
}
