package redisadapter_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/redisadapter"
)

// TestCluster runs every cluster operation between two servers sharing one
// Redis, in both directions, for both protocols: two Go servers, and a Go
// server with the Node server (npm socket.io 4.8.4 on
// @socket.io/redis-adapter 8.3.0). Each server has two clients.
func TestCluster(t *testing.T) {
	rdb := newRedis(t)
	for _, mode := range []struct {
		name    string
		sharded bool
		mode    redisadapter.SubscriptionMode
		node    bool
	}{
		{"classic", false, "", true},
		{"sharded", true, "", true},
		{"sharded-static", true, redisadapter.Static, false},
		{"sharded-dynamic-private", true, redisadapter.DynamicPrivate, false},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Run("go-go", func(t *testing.T) {
				o := clusterOptions{sharded: mode.sharded, mode: mode.mode, key: testKey()}
				a := newGoServer(t, "go-a", o)
				b := newGoServer(t, "go-b", o)
				runScenarios(t, rdbSettler(rdb, o), a, b)
			})
			if !mode.node {
				return // Node's sharded servers run the default mode, "dynamic"
			}
			t.Run("go-node", func(t *testing.T) {
				needNode(t)
				o := clusterOptions{sharded: mode.sharded, key: testKey()}
				a := newGoServer(t, "go-a", o)
				b := newNodeServer(t, "node-b", o)
				runScenarios(t, rdbSettler(rdb, o), a, b)
			})
		})
	}
}

// settler waits until the servers that have a room listen to its channel
// (sharded dynamic modes, where that takes a SSUBSCRIBE); nil otherwise.
type settler func(t *testing.T, room string, servers int)

func rdbSettler(rdb *redis.Client, o clusterOptions) settler {
	if !o.sharded || o.mode == redisadapter.Static {
		return nil
	}
	return func(t *testing.T, room string, servers int) {
		t.Helper()
		ch := o.key + "#/#" + room + "#"
		if o.mode == redisadapter.DynamicPrivate && len(room) == 20 {
			return
		}
		deadline := time.Now().Add(wait)
		for {
			m, err := rdb.PubSubShardNumSub(context.Background(), ch).Result()
			if err == nil && m[ch] >= int64(servers) {
				return
			}
			if time.Now().After(deadline) {
				list, _ := rdb.ClientList(context.Background()).Result()
				t.Fatalf("%d servers subscribed to %s, want %d\n%s", m[ch], ch, servers, list)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func runScenarios(t *testing.T, settle settler, a, b server) {
	for _, s := range []server{a, b} {
		eventually(t, s.name()+" sees 2 servers", func() bool { return s.serverCount(t, "/") == 2 })
	}
	for _, pair := range [][2]server{{a, b}, {b, a}} {
		src, dst := pair[0], pair[1]
		t.Run(src.name()+"-to-"+dst.name(), func(t *testing.T) { scenario(t, settle, src, dst) })
	}
}

func scenario(t *testing.T, settle settler, src, dst server) {
	// Room names differ per direction: Node's sharded adapter (node-redis)
	// may lose a SSUBSCRIBE sent while the SUNSUBSCRIBE of the same room
	// is in flight.
	rR, rX, rJoined, rBoth, rRJ := "r-"+src.name(), "x-"+src.name(), "joined-"+src.name(), "both-"+src.name(), "rj-"+src.name()
	s1 := dial(t, src, "/", "s1")
	s2 := dial(t, src, "/", "s2")
	d1 := dial(t, dst, "/", "d1")
	d2 := dial(t, dst, "/", "d2")
	n1 := dial(t, dst, "/ns2", "n1")
	all := []*tclient{s1, s2, d1, d2}
	s1.emitAck(t, "join", rR)
	d1.emitAck(t, "join", rR)
	d2.emitAck(t, "join", rX)
	// d1's data: on Node the object JSON.parse builds from aliceJSON, on Go
	// a userData; both write aliceJSON. d2's data is a map with binary.
	d1.emitAck(t, "set-struct", json.RawMessage(aliceJSON))
	d2.emitAck(t, "set-data", map[string]any{"user": "d2", "blob": []byte{1, 2, 3}, "tags": []any{"a", true, nil}})
	if settle != nil {
		settle(t, rR, 2)
		settle(t, rX, 1)
	}

	marks := 0
	// expect checks that exactly want got ev (with args, when not nil),
	// using a marker broadcast after it: events of one server arrive in
	// order.
	expect := func(t *testing.T, ev string, args []any, want ...*tclient) {
		t.Helper()
		for _, c := range want {
			got := c.waitFor(t, ev)
			if args != nil && !same(got, args) {
				t.Errorf("%s got %s%v, want %v", c.name, ev, got, args)
			}
		}
		marks++
		mark := "mark-" + strings.Repeat(rX, marks)
		src.emit(t, sel{}, mark)
		for _, c := range all {
			c.waitFor(t, mark)
			if got := c.take(); slices.Contains(got, ev) {
				t.Errorf("%s got %s, which was not for it", c.name, ev)
			}
		}
	}

	t.Run("broadcast", func(t *testing.T) {
		args := []any{1, "two", map[string]any{"three": 3.0, "nested": []any{[]byte{9, 8}}}, nil, true, 1.5, -7, []byte{0, 1, 2, 0xfd, 0xfe, 0xff}, "é✓", 1099511627776, 1e-7, -2147483649}
		src.emit(t, sel{}, "all-msg", args...)
		expect(t, "all-msg", args, s1, s2, d1, d2)
	})
	t.Run("room", func(t *testing.T) {
		src.emit(t, sel{rooms: []string{rR}}, "room-msg", "hi")
		expect(t, "room-msg", []any{"hi"}, s1, d1)
	})
	t.Run("rooms and except", func(t *testing.T) {
		src.emit(t, sel{rooms: []string{rR, rX}, except: []string{d1.id()}}, "multi-msg", 4)
		expect(t, "multi-msg", []any{4}, s1, d2)
		src.emit(t, sel{except: []string{rR}}, "except-msg")
		expect(t, "except-msg", nil, s2, d2)
	})
	t.Run("socket id room", func(t *testing.T) {
		src.emit(t, sel{rooms: []string{d2.id()}}, "to-id", "one")
		expect(t, "to-id", []any{"one"}, d2)
	})
	t.Run("local", func(t *testing.T) {
		src.emit(t, sel{local: true}, "local-msg")
		expect(t, "local-msg", nil, s1, s2)
	})
	t.Run("volatile", func(t *testing.T) {
		// A volatile packet is dropped when the connection is busy: send
		// until each member of the room got one.
		got := map[*tclient]bool{}
		for i := 0; i < 50 && !(got[s1] && got[d1]); i++ {
			src.emit(t, sel{volatile: true, rooms: []string{rR}}, "volatile-msg", 1)
			time.Sleep(20 * time.Millisecond)
			for _, c := range []*tclient{s1, d1} {
				got[c] = got[c] || slices.Contains(c.names(), "volatile-msg")
			}
		}
		if !got[s1] || !got[d1] {
			t.Fatalf("volatile broadcast not received: %v", got)
		}
		for _, c := range []*tclient{s2, d2} {
			if slices.Contains(c.names(), "volatile-msg") {
				t.Errorf("%s got a volatile broadcast for another room", c.name)
			}
		}
		for _, c := range all {
			c.take()
		}
	})
	t.Run("namespaces", func(t *testing.T) {
		src.emit(t, sel{nsp: "/ns2"}, "ns2-msg", "n")
		if got := n1.waitFor(t, "ns2-msg"); !same(got, []any{"n"}) {
			t.Errorf("n1 got %v", got)
		}
		expect(t, "ns2-msg", nil)
	})
	t.Run("broadcast with acks", func(t *testing.T) {
		resps, errMsg := src.emitWithAck(t, sel{rooms: []string{rR}}, 3*time.Second, "ask", 7)
		if errMsg != "" {
			t.Fatalf("error %q", errMsg)
		}
		checkFrom(t, resps, 7, "s1", "d1")
		resps, errMsg = src.emitWithAck(t, sel{}, 3*time.Second, "ask", []byte{1, 2})
		if errMsg != "" {
			t.Fatalf("error %q", errMsg)
		}
		checkFrom(t, resps, []byte{1, 2}, "s1", "s2", "d1", "d2")
		// a room with no member anywhere: every server reports 0 at once
		start := time.Now()
		resps, errMsg = src.emitWithAck(t, sel{rooms: []string{"nobody"}}, 3*time.Second, "ask", 0)
		if errMsg != "" || len(resps) != 0 || time.Since(start) > 2*time.Second {
			t.Fatalf("empty room: %v %q after %v", resps, errMsg, time.Since(start))
		}
		for _, c := range all {
			c.take()
		}
	})
	t.Run("fetchSockets", func(t *testing.T) {
		socks := src.fetchSockets(t, sel{})
		ids := idsOf(socks)
		want := []string{s1.id(), s2.id(), d1.id(), d2.id()}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("ids %v, want %v", ids, want)
		}
		for _, so := range socks {
			if so.ID != d1.id() {
				continue
			}
			if !slices.Equal(so.Rooms, sorted(d1.id(), rR)) {
				t.Errorf("rooms %v", so.Rooms)
			}
			if so.DataJSON != aliceJSON {
				t.Errorf("data\n got %s\nwant %s", so.DataJSON, aliceJSON)
			}
			if q := so.Query["client"]; len(q) != 1 || q[0] != "d1" {
				t.Errorf("query %v", so.Query)
			}
			if !strings.Contains(so.Address, "127.0.0.1") {
				t.Errorf("address %q", so.Address)
			}
			if !so.HasHeader {
				t.Errorf("no upgrade header in the handshake")
			}
		}
		for _, so := range socks {
			if want := blobJSON(t, src, dst); so.ID == d2.id() && so.DataJSON != want {
				t.Errorf("data with binary\n got %s\nwant %s", so.DataJSON, want)
			}
		}
		// only d1 remote: the answer goes as JSON, not MessagePack
		socks = src.fetchSockets(t, sel{rooms: []string{rR}})
		if ids := idsOf(socks); !slices.Equal(ids, sorted(s1.id(), d1.id())) {
			t.Errorf("room r: %v", ids)
		}
		for _, so := range socks {
			if so.ID == d1.id() && so.DataJSON != aliceJSON {
				t.Errorf("data in room r\n got %s\nwant %s", so.DataJSON, aliceJSON)
			}
		}
		if ids := idsOf(src.fetchSockets(t, sel{except: []string{rR}})); !slices.Equal(ids, sorted(s2.id(), d2.id())) {
			t.Errorf("except r: %v", ids)
		}
		if ids := idsOf(src.fetchSockets(t, sel{local: true})); !slices.Equal(ids, sorted(s1.id(), s2.id())) {
			t.Errorf("local: %v", ids)
		}
	})
	t.Run("remote socket", func(t *testing.T) {
		src.remoteEmit(t, "/", d1.id(), "private", "p")
		expect(t, "private", []any{"p"}, d1)
		if got := src.remoteEmitWithAck(t, "/", d1.id(), "ask", 5); !same(got, map[string]any{"from": "d1", "q": 5}) {
			t.Errorf("ack %v", got)
		}
		src.remoteJoin(t, "/", d1.id(), rRJ)
		eventually(t, "d1 in "+rRJ, func() bool { return slices.Contains(dst.socketRooms(t, "/", d1.id()), rRJ) })
		src.remoteLeave(t, "/", d1.id(), rRJ)
		eventually(t, "d1 out of "+rRJ, func() bool { return !slices.Contains(dst.socketRooms(t, "/", d1.id()), rRJ) })
	})
	t.Run("socketsJoin and socketsLeave", func(t *testing.T) {
		src.socketsJoin(t, sel{rooms: []string{rX}}, rJoined)
		eventually(t, "d2 in "+rJoined, func() bool { return slices.Contains(dst.socketRooms(t, "/", d2.id()), rJoined) })
		if settle != nil {
			settle(t, rJoined, 1)
		}
		src.emit(t, sel{rooms: []string{rJoined}}, "joined-msg")
		expect(t, "joined-msg", nil, d2)
		src.socketsJoin(t, sel{rooms: []string{rR}}, rBoth)
		eventually(t, "s1 and d1 in both", func() bool {
			return slices.Contains(src.socketRooms(t, "/", s1.id()), rBoth) && slices.Contains(dst.socketRooms(t, "/", d1.id()), rBoth)
		})
		src.socketsLeave(t, sel{}, rJoined, rBoth)
		eventually(t, "rooms left", func() bool {
			return !slices.Contains(dst.socketRooms(t, "/", d2.id()), rJoined) && !slices.Contains(dst.socketRooms(t, "/", d1.id()), rBoth) &&
				!slices.Contains(src.socketRooms(t, "/", s1.id()), rBoth)
		})
	})
	t.Run("serverSideEmit", func(t *testing.T) {
		tag := map[string]any{"tag": "from-" + src.name(), "n": 42.0, "list": []any{1.0, "a", nil}}
		src.serverSideEmit(t, "/", "note", tag, "second")
		eventually(t, "note received", func() bool {
			return slices.ContainsFunc(dst.notes(t, "/"), func(n []any) bool { return same(n, []any{tag, "second"}) })
		})
		if slices.ContainsFunc(src.notes(t, "/"), func(n []any) bool { return same(n, []any{tag, "second"}) }) {
			t.Error("the sender got its own server-side event")
		}
		resps, err := src.serverSideEmitWithAck(t, "/", "ping-servers", map[string]any{"q": src.name()})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"server": dst.name(), "nsp": "/", "data": map[string]any{"q": src.name()}}
		if len(resps) != 1 || !same(resps[0], want) {
			t.Errorf("responses %v, want [%v]", resps, want)
		}
	})
	t.Run("allRooms", func(t *testing.T) {
		if _, isNode := src.(*nodeServer); isNode && isSharded(t) {
			t.Skip("Node's sharded adapter has no allRooms")
		}
		rooms := src.allRooms(t, "/")
		for _, r := range []string{rR, rX, s1.id(), d1.id(), d2.id()} {
			if !slices.Contains(rooms, r) {
				t.Errorf("allRooms %v lacks %s", rooms, r)
			}
		}
	})
	t.Run("disconnectSockets", func(t *testing.T) {
		src.disconnectSockets(t, sel{rooms: []string{rX}}, false)
		d2.waitFor(t, "(disconnect)")
		src.remoteDisconnect(t, "/", d1.id())
		d1.waitFor(t, "(disconnect)")
		if slices.Contains(s1.names(), "(disconnect)") || slices.Contains(s2.names(), "(disconnect)") {
			t.Error("a socket of the sender was disconnected")
		}
	})
}

func isSharded(t *testing.T) bool { return strings.Contains(t.Name(), "/sharded") }

// aliceJSON is socket data whose key order, integers (2^53-1 among them)
// and float must come through every trip as written.
const aliceJSON = `{"user":"alice","level":7,"big":9007199254740991,"f":1.5,"nested":{"z":1,"a":2}}`

// blobJSON is d2's data as src has it when fetched from dst. A Go fetcher
// writes binary as base64, as encoding/json does for []byte, when it got
// MessagePack bin; Node's classic adapter answers FetchSockets in JSON,
// where a Buffer is {"type":"Buffer","data":[...]}, and a Node fetcher shows
// its Buffer that way too.
func blobJSON(t *testing.T, src, dst server) string {
	_, srcNode := src.(*nodeServer)
	_, dstNode := dst.(*nodeServer)
	if srcNode || (dstNode && !isSharded(t)) {
		return `{"blob":{"type":"Buffer","data":[1,2,3]},"tags":["a",true,null],"user":"d2"}`
	}
	return `{"blob":"AQID","tags":["a",true,null],"user":"d2"}`
}

func checkFrom(t *testing.T, resps []any, q any, from ...string) {
	t.Helper()
	var got []string
	for _, r := range resps {
		m, _ := r.(map[string]any)
		f, _ := m["from"].(string)
		got = append(got, f)
		if !same(m["q"], q) {
			t.Errorf("ack %v: q is %#v, want %#v", m, m["q"], q)
		}
	}
	slices.Sort(got)
	slices.Sort(from)
	if !slices.Equal(got, from) {
		t.Errorf("acks from %v, want %v", got, from)
	}
}

func idsOf(socks []sock) []string {
	ids := make([]string, len(socks))
	for i, s := range socks {
		ids[i] = s.ID
	}
	slices.Sort(ids)
	return ids
}

func sorted(ss ...string) []string {
	slices.Sort(ss)
	return ss
}
