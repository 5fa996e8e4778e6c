package adapter

import (
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/socketio-go/socketio/sioparser"
)

// Memory is the adapter of a single server: a room index and local
// delivery. Create it with NewMemory.
//
// A broadcast encodes its packet once (Namespace.Prepare) and hands the
// result to each recipient; it walks the room index under a read lock and
// allocates nothing per recipient.
type Memory struct {
	nsp      Namespace
	watch    RoomWatcher // nsp, when it wants room events
	recovery *recovery   // nil unless connection state recovery is on

	mu      sync.RWMutex
	rooms   map[Room]map[SocketID]Socket // guarded by mu; rooms other than socket ids
	members map[SocketID]Socket          // guarded by mu; every registered socket
	joined  map[SocketID]*socketRooms    // guarded by mu; rooms besides its own id, for sockets that joined some
}

// lockBatch bounds the rooms one call handles per hold of the lock: a
// socket joining or leaving thousands of rooms at once lets the other
// sockets of the namespace in between.
const lockBatch = 256

// smallRooms is how many rooms a socket keeps in a plain list: most sockets
// join a few, and a list is smaller than a set. Beyond it, a set makes each
// join and leave O(1) whatever the socket already holds.
const smallRooms = 8

// socketRooms are the rooms a socket joined besides its own id, in the
// order it joined them.
type socketRooms struct {
	list []Room          // while the socket holds at most smallRooms rooms
	set  map[Room]uint64 // beyond that: room -> join sequence, for the order
	seq  uint64          // next join sequence of set
}

func (r *socketRooms) len() int {
	if r.set != nil {
		return len(r.set)
	}
	return len(r.list)
}

// add records room; it reports false when the socket was already in it.
func (r *socketRooms) add(room Room) bool {
	if r.set != nil {
		if _, ok := r.set[room]; ok {
			return false
		}
		r.set[room] = r.seq
		r.seq++
		return true
	}
	if slices.Contains(r.list, room) { // at most smallRooms entries
		return false
	}
	if len(r.list) < smallRooms {
		r.list = append(r.list, room)
		return true
	}
	r.set = make(map[Room]uint64, 2*smallRooms)
	for _, x := range r.list {
		r.set[x] = r.seq
		r.seq++
	}
	r.list = nil
	r.set[room] = r.seq
	r.seq++
	return true
}

// remove forgets room; it reports false when the socket was not in it.
func (r *socketRooms) remove(room Room) bool {
	if r.set != nil {
		if _, ok := r.set[room]; !ok {
			return false
		}
		delete(r.set, room)
		return true
	}
	i := slices.Index(r.list, room)
	if i < 0 {
		return false
	}
	r.list = slices.Delete(r.list, i, i+1)
	return true
}

// appendTo appends the rooms in join order.
func (r *socketRooms) appendTo(out []Room) []Room {
	if r.set == nil {
		return append(out, r.list...)
	}
	start := len(out)
	for room := range r.set {
		out = append(out, room)
	}
	added := out[start:]
	sort.Slice(added, func(i, j int) bool { return r.set[added[i]] < r.set[added[j]] })
	return out
}

// each calls fn for every room, in no particular order.
func (r *socketRooms) each(fn func(Room)) {
	if r.set == nil {
		for _, room := range r.list {
			fn(room)
		}
		return
	}
	for room := range r.set {
		fn(room)
	}
}

// MemoryOptions configure a Memory adapter.
type MemoryOptions struct {
	// Recovery, when set, keeps sessions and broadcast packets for
	// connection state recovery.
	Recovery *RecoveryOptions
}

// NewMemory returns a single-server adapter for nsp.
func NewMemory(nsp Namespace, opts *MemoryOptions) *Memory {
	m := &Memory{
		nsp:     nsp,
		rooms:   make(map[Room]map[SocketID]Socket),
		members: make(map[SocketID]Socket),
		joined:  make(map[SocketID]*socketRooms),
	}
	if opts != nil && opts.Recovery != nil {
		m.recovery = newRecovery(*opts.Recovery)
	}
	m.watch, _ = nsp.(RoomWatcher)
	return m
}

// watching reports whether room events are to be recorded now.
func (m *Memory) watching() bool { return m.watch != nil && m.watch.RoomsWatched() }

// eventLocked records a room event; the caller holds mu and checked
// watching.
func (m *Memory) eventLocked(kind RoomEventKind, room Room, id SocketID) {
	m.watch.QueueRoomEvent(RoomEvent{Kind: kind, Room: room, ID: id})
}

// existsLocked reports whether a room has members: sockets that joined it,
// or the socket it is named after.
func (m *Memory) existsLocked(room Room) bool {
	if _, ok := m.members[room]; ok {
		return true
	}
	return len(m.rooms[room]) > 0
}

// Init implements Adapter.
func (m *Memory) Init() error { return nil }

// Close implements Adapter.
func (m *Memory) Close() error {
	if m.recovery != nil {
		m.recovery.close()
	}
	return nil
}

// AddAll implements Adapter. Each room costs O(1), and the lock is let go
// every lockBatch rooms.
func (m *Memory) AddAll(s Socket, rooms ...Room) {
	id := s.ID()
	for start := 0; ; start += lockBatch {
		end := min(start+lockBatch, len(rooms))
		m.mu.Lock()
		watch := m.watching()
		if _, ok := m.members[id]; !ok {
			if start > 0 {
				// Removed (DelAll) while the lock was let go: joining the
				// rest would leave it in rooms nobody takes it out of.
				m.mu.Unlock()
				return
			}
			if watch && !m.existsLocked(id) {
				m.eventLocked(CreateRoom, id, "")
			}
			m.members[id] = s
			if watch {
				m.eventLocked(JoinRoom, id, id)
			}
		}
		for _, r := range rooms[start:end] {
			m.addLocked(id, s, r, watch)
		}
		m.mu.Unlock()
		if watch {
			m.watch.DeliverRoomEvents()
		}
		if end == len(rooms) {
			return
		}
	}
}

func (m *Memory) addLocked(id SocketID, s Socket, r Room, watch bool) {
	if r == id {
		return // the id room is implied by membership
	}
	jr := m.joined[id]
	if jr == nil {
		jr = &socketRooms{}
		m.joined[id] = jr
	}
	if !jr.add(r) {
		return
	}
	if watch && !m.existsLocked(r) {
		m.eventLocked(CreateRoom, r, "")
	}
	set := m.rooms[r]
	if set == nil {
		set = make(map[SocketID]Socket)
		m.rooms[r] = set
	}
	set[id] = s
	if watch {
		m.eventLocked(JoinRoom, r, id)
	}
}

// Del implements Adapter.
func (m *Memory) Del(id SocketID, room Room) {
	m.mu.Lock()
	jr := m.joined[id]
	if jr == nil || !jr.remove(room) {
		m.mu.Unlock()
		return
	}
	if jr.len() == 0 {
		delete(m.joined, id)
	}
	watch := m.watching()
	m.delFromRoomLocked(room, id, watch)
	m.mu.Unlock()
	if watch {
		m.watch.DeliverRoomEvents()
	}
}

// DelAll implements Adapter. The socket is forgotten at once; a socket in
// many rooms leaves them lockBatch at a time.
func (m *Memory) DelAll(id SocketID) {
	m.mu.Lock()
	watch := m.watching()
	jr := m.joined[id]
	delete(m.joined, id)
	_, member := m.members[id]
	delete(m.members, id)
	if member && watch {
		m.eventLocked(LeaveRoom, id, id)
		if !m.existsLocked(id) {
			m.eventLocked(DeleteRoom, id, "")
		}
	}
	if jr == nil || jr.len() <= lockBatch {
		if jr != nil {
			jr.each(func(r Room) { m.delFromRoomLocked(r, id, watch) })
		}
		m.mu.Unlock()
		if watch {
			m.watch.DeliverRoomEvents()
		}
		return
	}
	m.mu.Unlock()
	// jr is no longer reachable from m: it is ours to walk unlocked.
	n := 0
	m.mu.Lock()
	jr.each(func(r Room) {
		if n++; n%lockBatch == 0 {
			m.mu.Unlock()
			if watch {
				m.watch.DeliverRoomEvents()
			}
			m.mu.Lock()
		}
		m.delFromRoomLocked(r, id, watch)
	})
	m.mu.Unlock()
	if watch {
		m.watch.DeliverRoomEvents()
	}
}

func (m *Memory) delFromRoomLocked(room Room, id SocketID, watch bool) {
	set := m.rooms[room]
	if _, ok := set[id]; !ok {
		return
	}
	delete(set, id)
	if len(set) == 0 {
		delete(m.rooms, room)
	}
	if watch {
		m.eventLocked(LeaveRoom, room, id)
		if !m.existsLocked(room) {
			m.eventLocked(DeleteRoom, room, "")
		}
	}
}

// SocketRooms implements Adapter.
func (m *Memory) SocketRooms(id SocketID) []Room {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if _, ok := m.members[id]; !ok {
		return nil
	}
	jr := m.joined[id]
	if jr == nil {
		return []Room{id}
	}
	return jr.appendTo(append(make([]Room, 0, 1+jr.len()), id))
}

// Rooms implements Adapter.
func (m *Memory) Rooms() []Room {
	m.mu.RLock()
	defer m.mu.RUnlock()
	rooms := make([]Room, 0, len(m.rooms)+len(m.members))
	for r := range m.rooms {
		rooms = append(rooms, r)
	}
	for id := range m.members {
		if _, dup := m.rooms[id]; !dup {
			rooms = append(rooms, id)
		}
	}
	return rooms
}

// excludedLocked reports whether the socket is in one of the except rooms.
func (m *Memory) excludedLocked(id SocketID, except []Room) bool {
	for _, r := range except {
		if r == id {
			return true
		}
		if _, ok := m.rooms[r][id]; ok {
			return true
		}
	}
	return false
}

// applyLocked calls fn for each local socket selected by opts, once each.
// The caller holds mu (read); fn must not call back into the adapter.
func (m *Memory) applyLocked(opts *BroadcastOptions, fn func(Socket)) {
	switch len(opts.Rooms) {
	case 0:
		for id, s := range m.members {
			if !m.excludedLocked(id, opts.Except) {
				fn(s)
			}
		}
	case 1:
		m.applyRoomLocked(opts.Rooms[0], opts.Except, nil, fn)
	default:
		seen := make(map[SocketID]struct{})
		for _, r := range opts.Rooms {
			m.applyRoomLocked(r, opts.Except, seen, fn)
		}
	}
}

func (m *Memory) applyRoomLocked(room Room, except []Room, seen map[SocketID]struct{}, fn func(Socket)) {
	visit := func(id SocketID, s Socket) {
		if seen != nil {
			if _, dup := seen[id]; dup {
				return
			}
			seen[id] = struct{}{}
		}
		if !m.excludedLocked(id, except) {
			fn(s)
		}
	}
	if s, ok := m.members[room]; ok {
		visit(room, s) // the socket's own room
	}
	for id, s := range m.rooms[room] {
		visit(id, s)
	}
}

// collect returns the local sockets selected by opts, for operations that
// call back into the adapter.
func (m *Memory) collect(opts *BroadcastOptions) []Socket {
	var out []Socket
	m.mu.RLock()
	m.applyLocked(opts, func(s Socket) { out = append(out, s) })
	m.mu.RUnlock()
	return out
}

// Broadcast implements Adapter.
func (m *Memory) Broadcast(p *sioparser.Packet, opts *BroadcastOptions) error {
	if m.recovery != nil && p.Type == sioparser.Event && !p.HasID && !opts.Flags.Volatile {
		m.recovery.record(p, opts)
	}
	m.BroadcastLocal(p, opts)
	return nil
}

// BroadcastLocal sends p to the selected local sockets only. Cluster
// adapters call it for the local part of a broadcast.
func (m *Memory) BroadcastLocal(p *sioparser.Packet, opts *BroadcastOptions) {
	var prepared Prepared
	m.mu.RLock()
	m.applyLocked(opts, func(s Socket) {
		if prepared == nil {
			prepared = m.nsp.Prepare(p)
		}
		s.Send(prepared, opts.Flags)
	})
	m.mu.RUnlock()
}

// BroadcastWithAck implements Adapter.
func (m *Memory) BroadcastWithAck(p *sioparser.Packet, opts *BroadcastOptions, clientCount func(int), ack func(AckResponse)) error {
	clientCount(m.BroadcastWithAckLocal(p, opts, ack))
	return nil
}

// BroadcastWithAckLocal sends p with a fresh acknowledgement id to the
// selected local sockets and returns how many it reached.
func (m *Memory) BroadcastWithAckLocal(p *sioparser.Packet, opts *BroadcastOptions, ack func(AckResponse)) int {
	if !p.HasID {
		p.ID, p.HasID = m.nsp.NextAckID(), true
	}
	var prepared Prepared
	n := 0
	m.mu.RLock()
	m.applyLocked(opts, func(s Socket) {
		if prepared == nil {
			prepared = m.nsp.Prepare(p)
		}
		n++
		s.SendWithAck(prepared, opts.Flags, p.ID, ack)
	})
	m.mu.RUnlock()
	return n
}

// ServerCount implements Adapter: a Memory is a cluster of one.
func (m *Memory) ServerCount(context.Context) (int, error) { return 1, nil }

// SocketIDs implements Adapter.
func (m *Memory) SocketIDs(_ context.Context, rooms []Room) ([]SocketID, error) {
	var ids []SocketID
	m.mu.RLock()
	m.applyLocked(&BroadcastOptions{Rooms: rooms}, func(s Socket) { ids = append(ids, s.ID()) })
	m.mu.RUnlock()
	return ids, nil
}

// FetchSockets implements Adapter.
func (m *Memory) FetchSockets(_ context.Context, opts *BroadcastOptions) ([]SocketInfo, error) {
	sockets := m.collect(opts)
	infos := make([]SocketInfo, len(sockets))
	for i, s := range sockets {
		infos[i] = s.Info()
	}
	return infos, nil
}

// AddSockets implements Adapter.
func (m *Memory) AddSockets(opts *BroadcastOptions, rooms []Room) error {
	for _, s := range m.collect(opts) {
		s.Join(rooms...)
	}
	return nil
}

// DelSockets implements Adapter.
func (m *Memory) DelSockets(opts *BroadcastOptions, rooms []Room) error {
	for _, s := range m.collect(opts) {
		for _, r := range rooms {
			s.Leave(r)
		}
	}
	return nil
}

// DisconnectSockets implements Adapter.
func (m *Memory) DisconnectSockets(opts *BroadcastOptions, close bool) error {
	for _, s := range m.collect(opts) {
		s.Disconnect(close)
	}
	return nil
}

// ServerSideEmit implements Adapter: there is no other server to reach.
func (m *Memory) ServerSideEmit([]byte, [][]byte) error { return nil }

// ServerSideEmitWithAck implements Adapter: with no other server, there
// are no answers to wait for.
func (m *Memory) ServerSideEmitWithAck(context.Context, []byte, [][]byte) ([]AckResponse, error) {
	return nil, nil
}

// PersistSession implements Adapter.
func (m *Memory) PersistSession(s *Session) {
	if m.recovery != nil {
		m.recovery.persist(s)
	}
}

// RestoreSession implements Adapter.
func (m *Memory) RestoreSession(pid, offset string) (*Session, error) {
	if m.recovery == nil {
		return nil, nil
	}
	return m.recovery.restore(pid, offset), nil
}

var _ Adapter = (*Memory)(nil)
