package adapter

import (
	"context"
	"slices"
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
	recovery *recovery // nil unless connection state recovery is on

	mu      sync.RWMutex
	rooms   map[Room]map[SocketID]Socket // guarded by mu; rooms other than socket ids
	members map[SocketID]Socket          // guarded by mu; every registered socket
	joined  map[SocketID][]Room          // guarded by mu; rooms besides its own id, for sockets that joined some
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
		joined:  make(map[SocketID][]Room),
	}
	if opts != nil && opts.Recovery != nil {
		m.recovery = newRecovery(*opts.Recovery)
	}
	return m
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

// AddAll implements Adapter.
func (m *Memory) AddAll(s Socket, rooms ...Room) {
	id := s.ID()
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.members[id]; !ok {
		m.members[id] = s
	}
	for _, r := range rooms {
		if r == id || slices.Contains(m.joined[id], r) {
			continue // the id room is implied by membership
		}
		m.joined[id] = append(m.joined[id], r)
		set := m.rooms[r]
		if set == nil {
			set = make(map[SocketID]Socket)
			m.rooms[r] = set
		}
		set[id] = s
	}
}

// Del implements Adapter.
func (m *Memory) Del(id SocketID, room Room) {
	m.mu.Lock()
	defer m.mu.Unlock()
	joined := m.joined[id]
	if i := slices.Index(joined, room); i >= 0 {
		joined = slices.Delete(joined, i, i+1)
		if len(joined) == 0 {
			delete(m.joined, id)
		} else {
			m.joined[id] = joined
		}
		m.delFromRoomLocked(room, id)
	}
}

// DelAll implements Adapter.
func (m *Memory) DelAll(id SocketID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.joined[id] {
		m.delFromRoomLocked(r, id)
	}
	delete(m.joined, id)
	delete(m.members, id)
}

func (m *Memory) delFromRoomLocked(room Room, id SocketID) {
	if set := m.rooms[room]; set != nil {
		delete(set, id)
		if len(set) == 0 {
			delete(m.rooms, room)
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
	return append([]Room{id}, m.joined[id]...)
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
