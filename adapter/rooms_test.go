package adapter

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// roomNames returns n distinct room names.
func roomNames(prefix string, n int) []Room {
	rooms := make([]Room, n)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return rooms
}

// TestJoinManyRooms: one socket joining 100,000 rooms at once must neither
// take quadratic time nor keep the namespace locked while it works: another
// socket's join gets through meanwhile.
func TestJoinManyRooms(t *testing.T) {
	m, _, s := setup(2)
	big := roomNames("r", 100_000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s[0].Join(big...)
	}()
	// Another socket joins while (or after) the big join runs.
	time.Sleep(20 * time.Millisecond)
	joined := make(chan struct{})
	go func() {
		s[1].Join("lobby")
		close(joined)
	}()
	select {
	case <-joined:
	case <-time.After(200 * time.Millisecond):
		t.Fatal("a join waited for another socket's 100,000-room join")
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("joining 100,000 rooms did not finish")
	}
	rooms := m.SocketRooms("s0")
	if len(rooms) != 1+len(big) || rooms[0] != "s0" || !slices.Equal(rooms[1:], big) {
		t.Fatalf("rooms: %d, first %v", len(rooms), rooms[:min(3, len(rooms))])
	}
	// Leaving is as cheap, and forgetting the socket empties every room.
	leave := time.AfterFunc(20*time.Second, func() { panic("leaving 50,000 rooms did not finish") })
	for _, r := range big[:50_000] {
		s[0].Leave(r)
	}
	leave.Stop()
	if got := m.SocketRooms("s0"); len(got) != 1+50_000 || got[1] != big[50_000] {
		t.Fatalf("after leaving: %d rooms, %v", len(got), got[:2])
	}
	s[0].Disconnect(false)
	m.mu.RLock()
	left := len(m.rooms)
	m.mu.RUnlock()
	if left != 1 { // lobby
		t.Fatalf("%d rooms left after the socket went", left)
	}
}

// TestRoomOrder: rooms are listed in the order they were joined, whether the
// socket holds a few (a list) or many (a set).
func TestRoomOrder(t *testing.T) {
	m, _, s := setup(1)
	want := []Room{"s0"}
	for i := 20; i > 0; i-- {
		r := fmt.Sprintf("room%02d", i)
		s[0].Join(r, r) // twice: joined once
		want = append(want, r)
		if got := m.SocketRooms("s0"); !slices.Equal(got, want) {
			t.Fatalf("after %d joins: %v, want %v", len(want)-1, got, want)
		}
	}
	s[0].Leave("room05")
	s[0].Leave("nope")
	want = slices.DeleteFunc(want, func(r Room) bool { return r == "room05" })
	if got := m.SocketRooms("s0"); !slices.Equal(got, want) {
		t.Fatalf("after a leave: %v, want %v", got, want)
	}
	s[0].Join("room05")
	want = append(want, "room05")
	if got := m.SocketRooms("s0"); !slices.Equal(got, want) {
		t.Fatalf("after joining again: %v, want %v", got, want)
	}
	// The selection sees the same rooms.
	ids, _ := m.SocketIDs(t.Context(), []Room{"room17"})
	if !slices.Equal(ids, []SocketID{"s0"}) {
		t.Fatalf("room17: %v", ids)
	}
}

// TestDelAllDuringJoin: a socket removed while a long join is under way
// does not stay in the rooms the join had not reached yet.
func TestDelAllDuringJoin(t *testing.T) {
	for range 20 {
		m, _, s := setup(1)
		big := roomNames("r", 5_000)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s[0].Join(big...)
		}()
		time.Sleep(time.Millisecond)
		m.DelAll("s0")
		<-done
		m.DelAll("s0") // in case the join registered it again before the first
		m.mu.RLock()
		rooms, members, joined := len(m.rooms), len(m.members), len(m.joined)
		m.mu.RUnlock()
		if rooms != 0 || members != 0 || joined != 0 {
			t.Fatalf("left behind: %d rooms, %d members, %d joined", rooms, members, joined)
		}
	}
}

// BenchmarkJoinLeave measures joining and leaving one room for a socket that
// already holds 10 or 100,000 rooms: the cost must not grow with them.
func BenchmarkJoinLeave(b *testing.B) {
	for _, n := range []int{10, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			m := NewMemory(&fakeNamespace{}, nil)
			s := &nullSocket{id: "s"}
			m.AddAll(s, roomNames("r", n)...)
			b.ReportAllocs()
			for b.Loop() {
				m.AddAll(s, "extra")
				m.Del("s", "extra")
			}
		})
	}
}

// watchingNamespace records room events as package socketio does.
type watchingNamespace struct {
	fakeNamespace
	queue  []RoomEvent
	got    []string
	on     bool
	checks int // DeliverRoomEvents calls with the lock free
	m      *Memory
}

func (n *watchingNamespace) RoomsWatched() bool         { return n.on }
func (n *watchingNamespace) QueueRoomEvent(e RoomEvent) { n.queue = append(n.queue, e) }
func (n *watchingNamespace) DeliverRoomEvents() {
	if n.m.mu.TryLock() { // the adapter's lock must be free
		n.m.mu.Unlock()
		n.checks++
	}
	for _, e := range n.queue {
		n.got = append(n.got, fmt.Sprintf("%s %s %s", e.Kind, e.Room, e.ID))
	}
	n.queue = nil
}

func (n *watchingNamespace) take() []string {
	got := n.got
	n.got = nil
	return got
}

// TestRoomEvents: the adapter reports the room lifecycle as Node's adapter
// emits it: create-room, join-room, leave-room, delete-room, for the
// socket's own room too.
func TestRoomEvents(t *testing.T) {
	nsp := &watchingNamespace{on: true}
	m := NewMemory(nsp, nil)
	nsp.m = m
	a, b := &nullSocket{id: "a"}, &nullSocket{id: "b"}
	m.AddAll(a, "a")
	m.AddAll(b, "b", "r")
	m.AddAll(a, "r", "r", "s")
	if got, want := nsp.take(), []string{
		"create-room a ", "join-room a a",
		"create-room b ", "join-room b b", "create-room r ", "join-room r b",
		"join-room r a", "create-room s ", "join-room s a",
	}; !slices.Equal(got, want) {
		t.Fatalf("joins:\n got  %q\n want %q", got, want)
	}
	m.Del("a", "r")
	m.Del("a", "nope")
	m.Del("a", "s")
	if got, want := nsp.take(), []string{"leave-room r a", "leave-room s a", "delete-room s "}; !slices.Equal(got, want) {
		t.Fatalf("leaves:\n got  %q\n want %q", got, want)
	}
	m.DelAll("b")
	got := nsp.take()
	slices.Sort(got)
	if want := []string{"delete-room b ", "delete-room r ", "leave-room b b", "leave-room r b"}; !slices.Equal(got, want) {
		t.Fatalf("DelAll:\n got  %q\n want %q", got, want)
	}
	if nsp.checks != 6 {
		t.Fatalf("events delivered %d times with the lock free, want 6", nsp.checks)
	}
	// Nothing is recorded while nobody watches.
	nsp.on = false
	m.AddAll(b, "b", "x")
	m.DelAll("b")
	if got := nsp.take(); len(got) != 0 || len(nsp.queue) != 0 {
		t.Fatalf("unwatched: %q", got)
	}
}
