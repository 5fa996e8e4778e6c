package postgresadapter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/internal/pgtest"
)

func nodeDir() string { return "nodecluster" }

func needNode(t testing.TB) {
	t.Helper()
	msg := ""
	if _, err := exec.LookPath("node"); err != nil {
		msg = "node is not on the PATH"
	} else {
		for pkg, want := range map[string]string{"@socket.io/postgres-adapter": "0.5.0", "@socket.io/postgres-emitter": "0.1.1"} {
			raw, err := os.ReadFile(filepath.Join(nodeDir(), "node_modules", pkg, "package.json"))
			var v struct{ Version string }
			if err != nil || json.Unmarshal(raw, &v) != nil || v.Version != want {
				msg = fmt.Sprintf("postgresadapter/nodecluster/node_modules/%s is missing or not %s", pkg, want)
			}
		}
	}
	if msg != "" {
		if os.Getenv("SOCKETIO_SKIP_NODE") == "1" {
			t.Skip(msg + " (SOCKETIO_SKIP_NODE=1)")
		}
		t.Fatalf("%s: install it with  make deps-test  (or set SOCKETIO_SKIP_NODE=1)", msg)
	}
}

func (c cluster) env() []string {
	return append(os.Environ(), "PG_URL="+c.url, "PREFIX="+c.prefix, "TABLE="+c.table)
}

// nodeServer is nodecluster/server.mjs, driven through its control
// namespace "/ctl".
type nodeServer struct {
	*clustertest.Process
	ctl *client.Socket
}

func startNode(t *testing.T, c cluster, name string) *nodeServer {
	t.Helper()
	needNode(t)
	cmd := exec.Command("node", "server.mjs")
	cmd.Dir = nodeDir()
	cmd.Env = append(c.env(), "PORT=0", "NAME="+name)
	n := &nodeServer{Process: clustertest.StartProcess(t, "node server "+name, cmd)}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := client.Connect(ctx, n.URL()+"/ctl", &client.Options{ForceNew: true, Transports: []string{"websocket"}, DisableReconnection: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	n.ctl = s
	t.Cleanup(func() { s.Manager().Close() })
	return n
}

// call runs a ctl command and decodes its result into out (when not nil).
func (n *nodeServer) call(t *testing.T, out any, cmd map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	args, err := n.ctl.EmitWithAck(ctx, "ctl", cmd)
	if err != nil {
		t.Fatalf("ctl %v: %v", cmd["op"], err)
	}
	var res struct {
		Ok    json.RawMessage `json:"ok"`
		Error string          `json:"error"`
	}
	if err := args.Decode(&res); err != nil {
		t.Fatal(err)
	}
	if res.Error != "" {
		t.Fatalf("ctl %v: %s", cmd["op"], res.Error)
	}
	if out != nil {
		if err := json.Unmarshal(res.Ok, out); err != nil {
			t.Fatalf("ctl %v: %s: %v", cmd["op"], res.Ok, err)
		}
	}
}

func (n *nodeServer) serverCount(t *testing.T) int {
	var v int
	n.call(t, &v, map[string]any{"op": "serverCount"})
	return v
}

// createTable makes the attachments table before Node servers start (Node's
// adapter does not create it; Go's does at Init).
func (c cluster) createTable(t *testing.T) {
	pool := pgtest.Pool(t, c.url)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+c.table+" (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)"); err != nil {
		t.Fatal(err)
	}
}

// TestNodeInterop runs a Go server and a Node server (npm
// @socket.io/postgres-adapter 0.5.0) on one database: every operation,
// both ways, binary and long (attachment) payloads included.
func TestNodeInterop(t *testing.T) {
	needNode(t)
	c := newCluster(t, "")
	c.createTable(t)
	g := clustertest.StartServer(t, "go", c.factory(t, nil), false)
	n := startNode(t, c, "node")
	g1 := clustertest.Dial(t, g.URL(), "g1", false)
	n1 := clustertest.Dial(t, n.URL(), "n1", false)
	n2 := clustertest.Dial(t, n.URL(), "n2", false)
	all := []*clustertest.Client{g1, n1, n2}
	clustertest.Eventually(t, "2 servers on each side", func() bool { return g.ServerCount() == 2 && n.serverCount(t) == 2 })
	g1.Join(t, "r")
	n1.Join(t, "r")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	long := strings.Repeat("x", 9000)

	t.Run("broadcasts both ways", func(t *testing.T) {
		args := []any{1.0, "two", map[string]any{"three": 3.0}, nil, []byte{0, 1, 0xff}}
		if err := g.Srv.Emit("from-go", args...); err != nil {
			t.Fatal(err)
		}
		for _, cl := range all {
			if got := cl.WaitFor(t, "from-go"); !reflect.DeepEqual(got, args) {
				t.Errorf("%s got %v", cl.Name, got)
			}
		}
		n.call(t, nil, map[string]any{"op": "emit", "event": "from-node", "args": []any{"b", map[string]any{"$bin": "0102"}}})
		for _, cl := range all {
			if got := cl.WaitFor(t, "from-node"); !reflect.DeepEqual(got, []any{"b", []byte{1, 2}}) {
				t.Errorf("%s got %v", cl.Name, got)
			}
		}
		// Over NOTIFY's limit: through the attachments table.
		if err := g.Srv.Emit("long-go", long); err != nil {
			t.Fatal(err)
		}
		n.call(t, nil, map[string]any{"op": "emit", "event": "long-node", "args": []any{long}})
		for _, cl := range all {
			for _, ev := range []string{"long-go", "long-node"} {
				if got := cl.WaitFor(t, ev); len(got) != 1 || got[0] != long {
					t.Errorf("%s: %s lost its payload", cl.Name, ev)
				}
			}
		}
	})
	t.Run("rooms and except", func(t *testing.T) {
		if err := g.Srv.To("r").Except(g1.ID()).Emit("room-go", 1); err != nil {
			t.Fatal(err)
		}
		n.call(t, nil, map[string]any{"op": "emit", "rooms": []string{"r"}, "event": "room-node", "args": []any{2}})
		n1.WaitFor(t, "room-go")
		g1.WaitFor(t, "room-node")
		n1.WaitFor(t, "room-node")
		time.Sleep(100 * time.Millisecond)
		for _, cl := range []*clustertest.Client{g1, n2} {
			if names := cl.Names(); slices.Contains(names, "room-go") || cl != g1 && slices.Contains(names, "room-node") {
				t.Errorf("%s got %v", cl.Name, names)
			}
		}
	})
	t.Run("acks both ways", func(t *testing.T) {
		resps, err := g.Srv.Timeout(wait/2).EmitWithAck(ctx, "ask", 7)
		if err != nil || len(resps) != 3 {
			t.Fatalf("Go EmitWithAck: %d answers, %v", len(resps), err)
		}
		var res struct {
			Error     *string
			Responses []struct{ From string }
		}
		n.call(t, &res, map[string]any{"op": "emitWithAck", "timeout": 3000, "event": "ask", "args": []any{8}})
		if res.Error != nil || len(res.Responses) != 3 {
			t.Fatalf("Node emitWithAck: %+v", res)
		}
	})
	t.Run("fetchSockets both ways", func(t *testing.T) {
		n1.Call(t, "set-data", map[string]any{"user": "n1"})
		g1.Call(t, "set-data", map[string]any{"user": "g1"})
		socks, err := g.Srv.In("r").FetchSockets(ctx)
		if err != nil || len(socks) != 2 {
			t.Fatalf("Go FetchSockets: %d, %v", len(socks), err)
		}
		for _, s := range socks {
			var d struct{ User string }
			if err := s.DecodeData(&d); err != nil || d.User == "" {
				t.Errorf("socket %s data %v, %v", s.ID, d, err)
			}
		}
		var fetched []struct {
			ID   string
			Data struct{ User string }
		}
		n.call(t, &fetched, map[string]any{"op": "fetchSockets", "rooms": []string{"r"}})
		if len(fetched) != 2 {
			t.Fatalf("Node fetchSockets: %+v", fetched)
		}
		for _, s := range fetched {
			if s.ID == g1.ID() && s.Data.User != "g1" {
				t.Errorf("Node fetched g1 with %+v", s.Data)
			}
		}
	})
	t.Run("socketsJoin both ways", func(t *testing.T) {
		if err := g.Srv.In(n2.ID()).SocketsJoin("j"); err != nil {
			t.Fatal(err)
		}
		n.call(t, nil, map[string]any{"op": "socketsJoin", "rooms": []string{g1.ID()}, "join": "j"})
		clustertest.Eventually(t, "g1 joined", func() bool { return slices.Contains(g.Rooms(g1.ID()), "j") })
		clustertest.Eventually(t, "n2 joined", func() bool {
			var rooms []string
			n.call(t, &rooms, map[string]any{"op": "socketRooms", "id": n2.ID()})
			return slices.Contains(rooms, "j")
		})
	})
	t.Run("serverSideEmit both ways", func(t *testing.T) {
		if err := g.Srv.ServerSideEmit("note", "from-go", []byte{7}); err != nil {
			t.Fatal(err)
		}
		n.call(t, nil, map[string]any{"op": "serverSideEmit", "event": "note", "args": []any{"from-node"}})
		clustertest.Eventually(t, "go noted", func() bool { return len(g.Notes()) == 1 })
		clustertest.Eventually(t, "node noted", func() bool {
			var notes [][]any
			n.call(t, &notes, map[string]any{"op": "notes"})
			return len(notes) == 1
		})
		resps, err := g.Srv.ServerSideEmitWithAck(ctx, "ping-servers", 1)
		if err != nil || len(resps) != 1 {
			t.Fatalf("Go ServerSideEmitWithAck: %v, %v", resps, err)
		}
		var answers []struct{ Server string }
		n.call(t, &answers, map[string]any{"op": "serverSideEmitWithAck", "event": "ping-servers", "args": []any{2}})
		if len(answers) != 1 || answers[0].Server != "go" {
			t.Fatalf("Node serverSideEmitWithAck: %+v", answers)
		}
	})
	t.Run("disconnectSockets both ways", func(t *testing.T) {
		if err := g.Srv.In(n2.ID()).DisconnectSockets(true); err != nil {
			t.Fatal(err)
		}
		clustertest.Eventually(t, "n2 disconnected", func() bool { return !n2.S.Connected() })
		n.call(t, nil, map[string]any{"op": "disconnectSockets", "rooms": []string{g1.ID()}})
		clustertest.Eventually(t, "g1 disconnected", func() bool { return !g1.S.Connected() })
	})
	t.Run("close", func(t *testing.T) {
		g.Stop() // ADAPTER_CLOSE: Node forgets it at once
		clustertest.Eventually(t, "node counts 1", func() bool { return n.serverCount(t) == 1 })
	})
}
