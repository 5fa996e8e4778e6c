package postgresadapter_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/internal/pgtest"
	"github.com/socketio-go/socketio/postgresemitter"
)

// TestGoEmitter drives a Node server (npm @socket.io/postgres-adapter
// 0.5.0) and a Go server with postgresemitter: events (binary and long
// ones included), rooms, socketsJoin, serverSideEmit, disconnectSockets.
// Node's adapter routes by the message's top-level nsp, which Node's own
// emitter does not send; this one does.
func TestGoEmitter(t *testing.T) {
	needNode(t)
	c := newCluster(t, "")
	c.createTable(t)
	g := clustertest.StartServer(t, "go", c.factory(t, nil), false)
	n := startNode(t, c, "node")
	g1 := clustertest.Dial(t, g.URL(), "g1", false)
	n1 := clustertest.Dial(t, n.URL(), "n1", false)
	clients := []*clustertest.Client{g1, n1}
	e := postgresemitter.New(pgtest.Pool(t, c.url), &postgresemitter.Options{ChannelPrefix: c.prefix, TableName: c.table})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	long := strings.Repeat("é", 5000)

	must(e.Emit(ctx, "hello", "x", []byte{9, 8, 7}))
	must(e.Emit(ctx, "long", long))
	for _, cl := range clients {
		if got := cl.WaitFor(t, "hello"); !reflect.DeepEqual(got, []any{"x", []byte{9, 8, 7}}) {
			t.Errorf("%s got hello%v", cl.Name, got)
		}
		if got := cl.WaitFor(t, "long"); len(got) != 1 || got[0] != long {
			t.Errorf("%s: long payload lost", cl.Name)
		}
	}
	must(e.To(g1.ID(), n1.ID()).SocketsJoin(ctx, "er"))
	must(e.To("er").Except(g1.ID()).Emit(ctx, "in-er", 1))
	n1.WaitFor(t, "in-er")
	must(e.ServerSideEmit(ctx, "note", "from-emitter"))
	clustertest.Eventually(t, "go noted", func() bool { return len(g.Notes()) == 1 })
	clustertest.Eventually(t, "node noted", func() bool {
		var notes [][]any
		n.call(t, &notes, map[string]any{"op": "notes"})
		return len(notes) == 1
	})
	must(e.Of("/ns2").Emit(ctx, "other-nsp")) // no client there: nothing must break
	must(e.In("er").DisconnectSockets(ctx, true))
	clustertest.Eventually(t, "both disconnected", func() bool { return !g1.S.Connected() && !n1.S.Connected() })
	if slices.Contains(g1.Names(), "in-er") {
		t.Error("g1 got in-er, which excluded it")
	}
}

// TestNodeEmitter drives a Go server with Node's emitter (npm
// @socket.io/postgres-emitter 0.1.1), whose messages have no top-level
// nsp: the Go adapter takes the namespace from the channel.
func TestNodeEmitter(t *testing.T) {
	needNode(t)
	c := newCluster(t, "")
	g := clustertest.StartServer(t, "go", c.factory(t, nil), false)
	g1 := clustertest.Dial(t, g.URL(), "g1", false)
	g2 := clustertest.Dial(t, g.URL(), "g2", false)

	cmd := exec.Command("node", "emitter.mjs")
	cmd.Dir = nodeDir()
	cmd.Env = c.env()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr clustertest.Logs
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("emitter stderr:\n%s", stderr.String())
		}
	})
	lines := bufio.NewScanner(stdout)
	run := func(op map[string]any) {
		t.Helper()
		b, _ := json.Marshal(op)
		if _, err := io.WriteString(stdin, string(b)+"\n"); err != nil {
			t.Fatal(err)
		}
		if !lines.Scan() || lines.Text() != "ok" {
			t.Fatalf("emitter %v: %q", op["op"], lines.Text())
		}
	}
	long := strings.Repeat("y", 9000)
	run(map[string]any{"op": "emit", "event": "hello", "args": []any{"x", map[string]any{"$bin": "090807"}}})
	run(map[string]any{"op": "emit", "event": "long", "args": []any{long}})
	for _, cl := range []*clustertest.Client{g1, g2} {
		if got := cl.WaitFor(t, "hello"); !reflect.DeepEqual(got, []any{"x", []byte{9, 8, 7}}) {
			t.Errorf("%s got hello%v", cl.Name, got)
		}
		if got := cl.WaitFor(t, "long"); len(got) != 1 || got[0] != long {
			t.Errorf("%s: long payload lost", cl.Name)
		}
	}
	run(map[string]any{"op": "socketsJoin", "rooms": []string{g1.ID()}, "target": []string{"nr"}})
	clustertest.Eventually(t, "g1 joined", func() bool { return slices.Contains(g.Rooms(g1.ID()), "nr") })
	run(map[string]any{"op": "emit", "rooms": []string{"nr"}, "event": "in-nr"})
	g1.WaitFor(t, "in-nr")
	run(map[string]any{"op": "serverSideEmit", "event": "note", "args": []any{"from-node-emitter"}})
	clustertest.Eventually(t, "go noted", func() bool { return len(g.Notes()) == 1 })
	run(map[string]any{"op": "disconnectSockets", "rooms": []string{g2.ID()}, "close": true})
	clustertest.Eventually(t, "g2 disconnected", func() bool { return !g2.S.Connected() })
	if slices.Contains(g2.Names(), "in-nr") {
		t.Error("g2 got in-nr")
	}
	if n, _ := g.Srv.Of("/").Adapter().ServerCount(context.Background()); n != 1 {
		t.Errorf("server count %d: the emitter counted as a server", n)
	}
}
