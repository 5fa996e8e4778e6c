package postgresadapter_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clustertest"
	"github.com/socketio-go/socketio/internal/pgnotify"
	"github.com/socketio-go/socketio/internal/pgtest"
	"github.com/socketio-go/socketio/postgresadapter"
	"github.com/socketio-go/socketio/redisadapter/wire"
	"github.com/socketio-go/socketio/sioparser"
)

// tap LISTENs on a channel and returns its notifications.
type tap struct {
	conn *pgx.Conn
}

func newTap(t *testing.T, c cluster, channel string) *tap {
	conn, err := pgx.Connect(context.Background(), c.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	if _, err := conn.Exec(context.Background(), "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return &tap{conn: conn}
}

// next returns the next notification whose payload matches re.
func (p *tap) next(t *testing.T, re string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		n, err := p.conn.WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("no notification matching %s: %v", re, err)
		}
		if regexp.MustCompile(re).MatchString(n.Payload) {
			return n.Payload
		}
	}
}

// row reads an attachment as JSON (binary values inlined as base64).
func (p *tap) row(t *testing.T, c cluster, header string) string {
	t.Helper()
	h, ok := pgnotify.ParseHeader(header)
	if !ok {
		t.Fatalf("not a header: %s", header)
	}
	js, atts, err := pgnotify.Fetch(context.Background(), p.conn, c.table, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := wire.InlineBinary(js, atts)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestWire checks the notifications a Go server sends against the
// captures of Node's (WIRE.md §3): the heartbeat, a broadcast, binary and
// long payloads through the attachments table, from 8000 bytes of JSON on.
func TestWire(t *testing.T) {
	c := newCluster(t, "")
	p := newTap(t, c, c.prefix+"#/")
	g := clustertest.StartServer(t, "go", c.factory(t, nil), false)
	uid := g.Srv.Of("/").Adapter().(*postgresadapter.Adapter).UID()
	if got, want := p.next(t, `"type":1`), `{"type":1,"uid":"`+uid+`","nsp":"/"}`; got != want {
		t.Errorf("initial heartbeat %s, want %s", got, want)
	}

	if err := g.Srv.To("room1").Emit("hello", map[string]any{"x": 1}); err != nil {
		t.Fatal(err)
	}
	want := `{"type":3,"data":{"packet":{"type":2,"data":["hello",{"x":1}]},"opts":{"rooms":["room1"],"except":[],"flags":{}}},"uid":"` + uid + `","nsp":"/"}`
	if got := p.next(t, `"type":3`); got != want {
		t.Errorf("broadcast\n got %s\nwant %s", got, want)
	}

	// Compress(false) travels as Node's flags.compress: false.
	if err := g.Srv.Volatile().Compress(false).Emit("nc"); err != nil {
		t.Fatal(err)
	}
	if got := p.next(t, `"nc"`); !strings.Contains(got, `"flags":{"volatile":true,"compress":false}`) {
		t.Errorf("compress(false): %s", got)
	}

	if err := g.Srv.Emit("bin", []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	header := p.next(t, `attachmentId`)
	if !regexp.MustCompile(`^\{"uid":"` + uid + `","type":3,"attachmentId":"[0-9]+"\}$`).MatchString(header) {
		t.Errorf("header %s", header)
	}
	if got, want := p.row(t, c, header), `{"type":3,"data":{"packet":{"type":2,"data":["bin","AQID"]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"`+uid+`","nsp":"/"}`; got != want {
		t.Errorf("row\n got %s\nwant %s", got, want)
	}

	// The JSON of a broadcast of s: its length decides.
	overhead := len(`{"type":3,"data":{"packet":{"type":2,"data":["edge",""]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"` + uid + `","nsp":"/"}`)
	for _, size := range []int{7999, 8000} {
		s := strings.Repeat("z", size-overhead)
		if err := g.Srv.Emit("edge", s); err != nil {
			t.Fatal(err)
		}
		got := p.next(t, `"edge"|attachmentId`)
		switch {
		case size < 8000 && len(got) != size:
			t.Errorf("%d bytes: notified %d bytes: %.80s", size, len(got), got)
		case size >= 8000 && !strings.Contains(got, "attachmentId"):
			t.Errorf("%d bytes: not an attachment: %.80s", size, got)
		case size >= 8000 && len(p.row(t, c, got)) != size:
			t.Errorf("%d bytes: row of %d bytes", size, len(p.row(t, c, got)))
		}
	}
}

// TestReceiveNodeForms: what a Go server accepts beyond its own messages:
// attachment ids as numbers, messages without nsp (Node's emitter), extra
// fields (Node's cluster mode adds nodeId).
func TestReceiveNodeForms(t *testing.T) {
	c := newCluster(t, "")
	g := clustertest.StartServer(t, "go", c.factory(t, nil), false)
	g1 := clustertest.Dial(t, g.URL(), "g1", false)
	pool := pgPool(t, c)
	ctx := context.Background()
	notify := func(payload string) {
		t.Helper()
		if _, err := pool.Exec(ctx, "SELECT pg_notify($1, $2)", c.prefix+"#/", payload); err != nil {
			t.Fatal(err)
		}
	}
	notify(`{"type":3,"data":{"packet":{"type":2,"data":["plain",1],"nsp":"/"},"opts":{"rooms":[],"flags":{},"except":[]}},"uid":"emitter","nodeId":"0123456789abcdef"}`)
	if got := g1.WaitFor(t, "plain"); len(got) != 1 || got[0] != 1.0 {
		t.Errorf("plain %v", got)
	}
	mp, err := wire.JSONToMsgpack(nil, []byte(`{"type":3,"data":{"packet":{"type":2,"data":["row",{"_placeholder":true,"num":0}],"nsp":"/"},"opts":{"rooms":[],"flags":{},"except":[]}},"uid":"emitter"}`), [][]byte{{5}})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := pool.QueryRow(ctx, "INSERT INTO "+c.table+" (payload) VALUES ($1) RETURNING id", mp).Scan(&id); err != nil {
		t.Fatal(err)
	}
	notify(fmt.Sprintf(`{"uid":"emitter","type":3,"attachmentId":%d}`, id))
	if got := g1.WaitFor(t, "row"); len(got) != 1 || string(got[0].([]byte)) != "\x05" {
		t.Errorf("row %v", got)
	}
}

// TestChannelTooLong: a namespace whose channel is over 63 bytes gets a
// clear error and works on its server.
func TestChannelTooLong(t *testing.T) {
	c := newCluster(t, "")
	nsp := "/" + strings.Repeat("n", 62-len(c.prefix)) // a channel of 64 bytes
	a := postgresadapter.New(pgPool(t, c), c.options(nil))(fakeNamespace(nsp))
	err := a.Init()
	defer a.Close()
	if !errors.Is(err, postgresadapter.ErrChannelTooLong) || !strings.Contains(err.Error(), "63") {
		t.Fatalf("Init: %v", err)
	}
	srv := clustertest.StartServer(t, "go", c.factory(t, nil), false)
	if err := srv.Srv.Of(nsp).Emit("x"); err != nil {
		t.Errorf("local emit: %v", err)
	}
	b := postgresadapter.New(pgPool(t, c), c.options(nil))(fakeNamespace("/" + strings.Repeat("n", 61-len(c.prefix))))
	if err := b.Init(); err != nil {
		t.Errorf("a channel of 63 bytes: %v", err)
	}
	b.Close()
}

func pgPool(t *testing.T, c cluster) *pgxpool.Pool { return pgtest.Pool(t, c.url) }

// fakeNamespace is a namespace without sockets.
type fakeNamespace string

func (n fakeNamespace) Name() string                                               { return string(n) }
func (fakeNamespace) Prepare(p *sioparser.Packet) adapter.Prepared                 { return p }
func (fakeNamespace) NextAckID() uint64                                            { return 1 }
func (fakeNamespace) OnServerSideEmit([]byte, [][]byte, func(adapter.AckResponse)) {}
