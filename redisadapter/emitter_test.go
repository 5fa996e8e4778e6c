package redisadapter_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/socketio-go/socketio/redisemitter"
)

// TestEmitters checks the Go emitter (package redisemitter) and Node's
// (npm @socket.io/redis-emitter 5.1.0) against a Go server and a Node
// server of one classic cluster: every server hears both emitters.
func TestEmitters(t *testing.T) {
	rdb := newRedis(t)
	needNode(t)
	o := clusterOptions{key: testKey()}
	goSrv := newGoServer(t, "go", o)
	nodeSrv := newNodeServer(t, "node", o)
	eventually(t, "2 servers", func() bool { return goSrv.serverCount(t, "/") == 2 })

	goEmitter := redisemitter.New(rdb, &redisemitter.Options{Key: o.key})
	nodeEmitter := startNodeEmitter(t, o.key)

	for _, em := range []struct {
		name string
		e    emitter
	}{{"go-emitter", goEmitterDriver{t, goEmitter}}, {"node-emitter", nodeEmitter}} {
		t.Run(em.name, func(t *testing.T) {
			e := em.e
			suffix := "-" + em.name
			var all []*tclient
			var inR, inX []*tclient
			for _, srv := range []server{goSrv, nodeSrv} {
				c1 := dial(t, srv, "/", srv.name()+"1")
				c2 := dial(t, srv, "/", srv.name()+"2")
				c1.emitAck(t, "join", "r"+suffix)
				c2.emitAck(t, "join", "x"+suffix)
				all = append(all, c1, c2)
				inR = append(inR, c1)
				inX = append(inX, c2)
			}
			n1 := dial(t, goSrv, "/ns2", "go-ns2")
			n2 := dial(t, nodeSrv, "/ns2", "node-ns2")

			marks := 0
			expect := func(t *testing.T, ev string, args []any, want []*tclient) {
				t.Helper()
				for _, c := range want {
					if got := c.waitFor(t, ev); args != nil && !same(got, args) {
						t.Errorf("%s got %v, want %v", c.name, got, args)
					}
				}
				marks++
				mark := "mark-" + strings.Repeat("m", marks)
				e.emit(t, "/", nil, nil, false, mark)
				for _, c := range all {
					c.waitFor(t, mark)
					if slices.Contains(c.take(), ev) {
						t.Errorf("%s got %s, which was not for it", c.name, ev)
					}
				}
			}

			args := []any{"text", 42, 1.5, true, nil, map[string]any{"k": []any{1, "v"}}, []byte{0, 1, 0xff}}
			e.emit(t, "/", nil, nil, false, "to-all", args...)
			expect(t, "to-all", args, all)
			e.emit(t, "/", []string{"r" + suffix}, nil, false, "to-r", "r")
			expect(t, "to-r", []any{"r"}, inR)
			e.emit(t, "/", []string{"r" + suffix, "x" + suffix}, []string{"x" + suffix}, false, "multi")
			expect(t, "multi", nil, inR)
			e.emit(t, "/", nil, []string{"r" + suffix}, true, "volatile-except")
			expect(t, "volatile-except", nil, inX)
			e.emit(t, "/ns2", nil, nil, false, "ns2", 2)
			for _, c := range []*tclient{n1, n2} {
				if got := c.waitFor(t, "ns2"); !same(got, []any{2}) {
					t.Errorf("%s got %v", c.name, got)
				}
			}

			// socketsJoin / socketsLeave / disconnectSockets
			e.roomsOp(t, "socketsJoin", []string{"x" + suffix}, []string{"joined" + suffix})
			eventually(t, "x sockets joined", func() bool {
				return slices.Contains(goSrv.socketRooms(t, "/", inX[0].id()), "joined"+suffix) &&
					slices.Contains(nodeSrv.socketRooms(t, "/", inX[1].id()), "joined"+suffix)
			})
			e.roomsOp(t, "socketsLeave", nil, []string{"joined" + suffix})
			eventually(t, "x sockets left", func() bool {
				return !slices.Contains(goSrv.socketRooms(t, "/", inX[0].id()), "joined"+suffix) &&
					!slices.Contains(nodeSrv.socketRooms(t, "/", inX[1].id()), "joined"+suffix)
			})

			// serverSideEmit
			note := map[string]any{"from": em.name}
			e.serverSideEmit(t, "/", "note", note)
			for _, srv := range []server{goSrv, nodeSrv} {
				eventually(t, srv.name()+" got the note", func() bool {
					return slices.ContainsFunc(srv.notes(t, "/"), func(n []any) bool { return same(n, []any{note}) })
				})
			}

			e.disconnect(t, []string{"r" + suffix})
			for _, c := range inR {
				c.waitFor(t, "(disconnect)")
			}
		})
	}

	if err := goEmitter.ServerSideEmit(context.Background(), "note", func() {}); err != redisemitter.ErrAck {
		t.Errorf("ServerSideEmit with an ack: %v", err)
	}
	if err := goEmitter.Emit(context.Background(), "connect"); err == nil {
		t.Error("Emit of a reserved event: no error")
	}
}

// emitter is the Go or Node emitter under test.
type emitter interface {
	emit(t *testing.T, nsp string, rooms, except []string, volatile bool, event string, args ...any)
	roomsOp(t *testing.T, op string, rooms, target []string)
	disconnect(t *testing.T, rooms []string)
	serverSideEmit(t *testing.T, nsp, event string, args ...any)
}

type goEmitterDriver struct {
	t *testing.T
	e *redisemitter.Emitter
}

func (g goEmitterDriver) emit(t *testing.T, nsp string, rooms, except []string, volatile bool, event string, args ...any) {
	t.Helper()
	e := g.e.Of(nsp).To(rooms...).Except(except...)
	if volatile {
		e = e.Volatile()
	}
	if err := e.Emit(context.Background(), event, args...); err != nil {
		t.Fatal(err)
	}
}

func (g goEmitterDriver) roomsOp(t *testing.T, op string, rooms, target []string) {
	t.Helper()
	var err error
	if op == "socketsJoin" {
		err = g.e.In(rooms...).SocketsJoin(context.Background(), target...)
	} else {
		err = g.e.In(rooms...).SocketsLeave(context.Background(), target...)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func (g goEmitterDriver) disconnect(t *testing.T, rooms []string) {
	t.Helper()
	if err := g.e.In(rooms...).DisconnectSockets(context.Background(), false); err != nil {
		t.Fatal(err)
	}
}

func (g goEmitterDriver) serverSideEmit(t *testing.T, nsp, event string, args ...any) {
	t.Helper()
	if err := g.e.Of(nsp).ServerSideEmit(context.Background(), event, args...); err != nil {
		t.Fatal(err)
	}
}

// nodeEmitter drives nodecluster/emitter.mjs: one JSON command a line.
type nodeEmitter struct {
	in  io.Writer
	out *bufio.Scanner
}

func startNodeEmitter(t *testing.T, key string) *nodeEmitter {
	t.Helper()
	cmd := exec.Command("node", "emitter.mjs")
	cmd.Dir = nodeDir()
	cmd.Env = append(os.Environ(), "REDIS_URL=redis://"+redisAddr(), "KEY="+key)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("node emitter stderr:\n%s", logs.String())
		}
	})
	return &nodeEmitter{in: in, out: bufio.NewScanner(out)}
}

func (n *nodeEmitter) run(t *testing.T, cmd map[string]any) {
	t.Helper()
	line, _ := json.Marshal(cmd)
	if _, err := n.in.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
	if !n.out.Scan() {
		t.Fatal("node emitter exited")
	}
	if got := n.out.Text(); got != "ok" {
		t.Fatalf("node emitter: %s", got)
	}
}

// binArgs replaces []byte values by the script's {"$bin": hex}.
func binArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if b, ok := a.([]byte); ok {
			out[i] = map[string]any{"$bin": hex.EncodeToString(b)}
		} else {
			out[i] = a
		}
	}
	return out
}

func (n *nodeEmitter) emit(t *testing.T, nsp string, rooms, except []string, volatile bool, event string, args ...any) {
	t.Helper()
	n.run(t, map[string]any{"op": "emit", "nsp": nsp, "rooms": rooms, "except": except, "volatile": volatile, "event": event, "args": binArgs(args)})
}

func (n *nodeEmitter) roomsOp(t *testing.T, op string, rooms, target []string) {
	t.Helper()
	n.run(t, map[string]any{"op": op, "rooms": rooms, "target": target})
}

func (n *nodeEmitter) disconnect(t *testing.T, rooms []string) {
	t.Helper()
	n.run(t, map[string]any{"op": "disconnectSockets", "rooms": rooms})
}

func (n *nodeEmitter) serverSideEmit(t *testing.T, nsp, event string, args ...any) {
	t.Helper()
	n.run(t, map[string]any{"op": "serverSideEmit", "nsp": nsp, "event": event, "args": binArgs(args)})
}
