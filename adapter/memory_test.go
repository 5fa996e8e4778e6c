package adapter

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio/sioparser"
)

type fakeNamespace struct {
	prepared atomic.Int64
	ids      atomic.Uint64
}

func (n *fakeNamespace) Name() string { return "/" }
func (n *fakeNamespace) Prepare(p *sioparser.Packet) Prepared {
	n.prepared.Add(1)
	return p
}
func (n *fakeNamespace) NextAckID() uint64                                    { return n.ids.Add(1) - 1 }
func (n *fakeNamespace) OnServerSideEmit([]byte, [][]byte, func(AckResponse)) {}

type fakeSocket struct {
	id   string
	m    *Memory
	mu   sync.Mutex
	got  []Prepared
	acks map[uint64]func(AckResponse)
	gone bool
}

func (s *fakeSocket) ID() SocketID { return s.id }
func (s *fakeSocket) Send(p Prepared, _ BroadcastFlags) {
	s.mu.Lock()
	s.got = append(s.got, p)
	s.mu.Unlock()
}
func (s *fakeSocket) SendWithAck(p Prepared, f BroadcastFlags, id uint64, ack func(AckResponse)) {
	s.mu.Lock()
	if s.acks == nil {
		s.acks = map[uint64]func(AckResponse){}
	}
	s.acks[id] = ack
	s.mu.Unlock()
	s.Send(p, f)
}
func (s *fakeSocket) Join(rooms ...Room) { s.m.AddAll(s, rooms...) }
func (s *fakeSocket) Leave(room Room)    { s.m.Del(s.id, room) }
func (s *fakeSocket) Disconnect(bool) {
	s.gone = true
	s.m.DelAll(s.id)
}
func (s *fakeSocket) Info() SocketInfo { return SocketInfo{ID: s.id, Rooms: s.m.SocketRooms(s.id)} }
func (s *fakeSocket) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func setup(n int) (*Memory, *fakeNamespace, []*fakeSocket) {
	nsp := &fakeNamespace{}
	m := NewMemory(nsp, nil)
	socks := make([]*fakeSocket, n)
	for i := range socks {
		socks[i] = &fakeSocket{id: fmt.Sprintf("s%d", i), m: m}
		m.AddAll(socks[i], socks[i].id)
	}
	return m, nsp, socks
}

func counts(socks []*fakeSocket) []int {
	out := make([]int, len(socks))
	for i, s := range socks {
		out[i] = s.count()
	}
	return out
}

func TestRoomsAndSelection(t *testing.T) {
	m, nsp, s := setup(4)
	s[0].Join("a", "b")
	s[1].Join("a")
	s[2].Join("b")
	if got := m.SocketRooms("s0"); !slices.Equal(got, []Room{"s0", "a", "b"}) {
		t.Fatalf("rooms of s0: %v", got)
	}
	ev := &sioparser.Packet{Type: sioparser.Event, Data: []byte(`["x"]`)}

	must(t, m.Broadcast(ev, &BroadcastOptions{}))
	if c := counts(s); !slices.Equal(c, []int{1, 1, 1, 1}) {
		t.Fatalf("all: %v", c)
	}
	must(t, m.Broadcast(ev, &BroadcastOptions{Rooms: []Room{"a", "b"}}))
	if c := counts(s); !slices.Equal(c, []int{2, 2, 2, 1}) {
		t.Fatalf("a or b, once each: %v", c)
	}
	must(t, m.Broadcast(ev, &BroadcastOptions{Rooms: []Room{"a"}, Except: []Room{"s0"}}))
	if c := counts(s); !slices.Equal(c, []int{2, 3, 2, 1}) {
		t.Fatalf("a except s0: %v", c)
	}
	must(t, m.Broadcast(ev, &BroadcastOptions{Except: []Room{"b"}}))
	if c := counts(s); !slices.Equal(c, []int{2, 4, 2, 2}) {
		t.Fatalf("except b: %v", c)
	}
	must(t, m.Broadcast(ev, &BroadcastOptions{Rooms: []Room{"nobody"}}))
	if nsp.prepared.Load() != 4 {
		t.Fatalf("a broadcast is prepared once, and not at all without recipients: %d", nsp.prepared.Load())
	}

	ids, _ := m.SocketIDs(context.Background(), []Room{"b"})
	slices.Sort(ids)
	if !slices.Equal(ids, []SocketID{"s0", "s2"}) {
		t.Fatalf("ids in b: %v", ids)
	}
	must(t, m.AddSockets(&BroadcastOptions{Rooms: []Room{"a"}}, []Room{"c"}))
	must(t, m.DelSockets(&BroadcastOptions{Rooms: []Room{"c"}, Except: []Room{"s1"}}, []Room{"c", "a"}))
	if got := m.SocketRooms("s0"); !slices.Equal(got, []Room{"s0", "b"}) {
		t.Fatalf("s0 after add/del: %v", got)
	}
	if got := m.SocketRooms("s1"); !slices.Equal(got, []Room{"s1", "a", "c"}) {
		t.Fatalf("s1 after add/del: %v", got)
	}
	infos, _ := m.FetchSockets(context.Background(), &BroadcastOptions{Rooms: []Room{"c"}})
	if len(infos) != 1 || infos[0].ID != "s1" {
		t.Fatalf("fetch c: %+v", infos)
	}
	must(t, m.DisconnectSockets(&BroadcastOptions{Rooms: []Room{"a"}}, false))
	if !s[1].gone || s[0].gone || m.SocketRooms("s1") != nil {
		t.Fatal("disconnect a")
	}
	rooms := m.Rooms()
	slices.Sort(rooms)
	if !slices.Equal(rooms, []Room{"b", "s0", "s2", "s3"}) {
		t.Fatalf("rooms: %v", rooms)
	}
	m.Del("s0", "b")
	m.Del("s2", "b")
	if slices.Contains(m.Rooms(), "b") {
		t.Fatal("empty room kept")
	}
	n, _ := m.ServerCount(context.Background())
	if n != 1 {
		t.Fatal(n)
	}
}

func TestBroadcastWithAck(t *testing.T) {
	m, _, s := setup(3)
	var counted int
	var answers atomic.Int32
	p := &sioparser.Packet{Type: sioparser.Event, Data: []byte(`["q"]`)}
	must(t, m.BroadcastWithAck(p, &BroadcastOptions{Except: []Room{"s2"}}, func(n int) { counted = n }, func(AckResponse) { answers.Add(1) }))
	if counted != 2 || !p.HasID {
		t.Fatalf("count %d, id %v", counted, p.HasID)
	}
	for _, sock := range s[:2] {
		sock.acks[p.ID](AckResponse{Data: []byte(`[1]`)})
	}
	if answers.Load() != 2 || s[2].count() != 0 {
		t.Fatal("acks")
	}
}

func TestRecovery(t *testing.T) {
	nsp := &fakeNamespace{}
	m := NewMemory(nsp, &MemoryOptions{Recovery: &RecoveryOptions{MaxDisconnectionDuration: 100 * time.Millisecond}})
	defer m.Close()
	s := &fakeSocket{id: "s", m: m}
	m.AddAll(s, "s", "news")
	first := &sioparser.Packet{Type: sioparser.Event, Data: []byte(`["n",1]`)}
	must(t, m.Broadcast(first, &BroadcastOptions{Rooms: []Room{"news"}}))
	if len(first.Data) <= len(`["n",1]`) || first.Data[len(first.Data)-2] != '"' {
		t.Fatalf("no offset appended: %s", first.Data)
	}
	offset := string(first.Data[len(`["n",1,"`) : len(first.Data)-2])
	m.PersistSession(&Session{SID: "s", PID: "p", Rooms: []Room{"s", "news"}, Data: "d"})
	m.DelAll("s")
	must(t, m.Broadcast(&sioparser.Packet{Type: sioparser.Event, Data: []byte(`["n",2]`)}, &BroadcastOptions{Rooms: []Room{"news"}}))
	must(t, m.Broadcast(&sioparser.Packet{Type: sioparser.Event, Data: []byte(`["n",3]`)}, &BroadcastOptions{Rooms: []Room{"other"}}))
	must(t, m.Broadcast(&sioparser.Packet{Type: sioparser.Event, Data: []byte(`["n",4]`)}, &BroadcastOptions{Except: []Room{"news"}}))
	must(t, m.Broadcast(&sioparser.Packet{Type: sioparser.Event, Data: []byte(`["n",5]`)}, &BroadcastOptions{Flags: BroadcastFlags{Volatile: true}}))
	must(t, m.Broadcast(&sioparser.Packet{Type: sioparser.Event, Data: []byte(`["n",6]`)}, &BroadcastOptions{}))

	if got, _ := m.RestoreSession("p", "unknown-offset"); got != nil {
		t.Fatal("restored from an unknown offset")
	}
	m.PersistSession(&Session{SID: "s", PID: "p", Rooms: []Room{"s", "news"}, Data: "d"})
	got, err := m.RestoreSession("p", offset)
	if err != nil || got == nil {
		t.Fatalf("restore: %v %v", got, err)
	}
	if got.SID != "s" || got.Data != "d" || len(got.MissedPackets) != 2 {
		t.Fatalf("session %+v", got)
	}
	if string(got.MissedPackets[0].Data[:7]) != `["n",2,` || string(got.MissedPackets[1].Data[:7]) != `["n",6,` {
		t.Fatalf("missed %s %s", got.MissedPackets[0].Data, got.MissedPackets[1].Data)
	}
	if again, _ := m.RestoreSession("p", offset); again != nil {
		t.Fatal("a session restores once")
	}
	// Expiry.
	m.PersistSession(&Session{SID: "s", PID: "q"})
	time.Sleep(150 * time.Millisecond)
	if late, _ := m.RestoreSession("q", offset); late != nil {
		t.Fatal("expired session restored")
	}
}

func TestConcurrentJoinBroadcast(t *testing.T) {
	m, _, s := setup(50)
	p := &sioparser.Packet{Type: sioparser.Event, Data: []byte(`["x"]`)}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				s[j%50].Join(fmt.Sprintf("r%d", j%7))
				s[(j+3)%50].Leave(fmt.Sprintf("r%d", j%7))
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				_ = m.Broadcast(p, &BroadcastOptions{Rooms: []Room{fmt.Sprintf("r%d", j%7)}, Except: []Room{"s1"}})
			}
		}()
	}
	wg.Wait()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkBroadcast measures a broadcast to a room of 1000 sockets: the
// allocations do not grow with the number of recipients.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			nsp := &fakeNamespace{}
			m := NewMemory(nsp, nil)
			for i := 0; i < n; i++ {
				s := &nullSocket{id: fmt.Sprintf("s%d", i)}
				m.AddAll(s, s.id, "room")
			}
			p := &sioparser.Packet{Type: sioparser.Event, Data: []byte(`["x"]`)}
			opts := &BroadcastOptions{Rooms: []Room{"room"}, Except: []Room{"s0"}}
			b.ReportAllocs()
			for b.Loop() {
				_ = m.Broadcast(p, opts)
			}
		})
	}
}

type nullSocket struct{ id string }

func (s *nullSocket) ID() SocketID                                                    { return s.id }
func (s *nullSocket) Send(Prepared, BroadcastFlags)                                   {}
func (s *nullSocket) SendWithAck(Prepared, BroadcastFlags, uint64, func(AckResponse)) {}
func (s *nullSocket) Join(...Room)                                                    {}
func (s *nullSocket) Leave(Room)                                                      {}
func (s *nullSocket) Disconnect(bool)                                                 {}
func (s *nullSocket) Info() SocketInfo                                                { return SocketInfo{ID: s.id} }
