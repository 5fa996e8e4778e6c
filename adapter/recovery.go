package adapter

import (
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/socketio-go/socketio/sioparser"
)

// RecoveryOptions configure connection state recovery.
type RecoveryOptions struct {
	// MaxDisconnectionDuration is how long a session and the packets it
	// may miss are kept. Default 2 minutes.
	MaxDisconnectionDuration time.Duration
}

// recovery keeps disconnected sessions and recent broadcasts, like Node's
// SessionAwareAdapter.
type recovery struct {
	maxAge time.Duration
	prefix string // makes offsets unique across restarts

	mu       sync.Mutex
	seq      uint64                    // guarded by mu
	sessions map[string]*storedSession // guarded by mu; by private id
	packets  []storedPacket            // guarded by mu; oldest first
	sweeper  *time.Timer               // guarded by mu; drops expired state
	closed   bool                      // guarded by mu
}

type storedSession struct {
	Session
	disconnectedAt time.Time
}

type storedPacket struct {
	id          string
	at          time.Time
	data        []byte
	attachments [][]byte
	rooms       []Room
	except      []Room
}

func newRecovery(o RecoveryOptions) *recovery {
	if o.MaxDisconnectionDuration <= 0 {
		o.MaxDisconnectionDuration = 2 * time.Minute
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &recovery{
		maxAge:   o.MaxDisconnectionDuration,
		prefix:   base64.RawURLEncoding.EncodeToString(b[:]),
		sessions: make(map[string]*storedSession),
	}
}

func (r *recovery) close() {
	r.mu.Lock()
	r.closed = true
	if r.sweeper != nil {
		r.sweeper.Stop()
	}
	r.sessions, r.packets = nil, nil
	r.mu.Unlock()
}

// armLocked schedules a sweep while there is state to expire.
func (r *recovery) armLocked() {
	if r.sweeper == nil && !r.closed {
		r.sweeper = time.AfterFunc(r.maxAge, r.sweep)
	}
}

func (r *recovery) sweep() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweeper = nil
	threshold := time.Now().Add(-r.maxAge)
	for pid, s := range r.sessions {
		if s.disconnectedAt.Before(threshold) {
			delete(r.sessions, pid)
		}
	}
	i := 0
	for i < len(r.packets) && r.packets[i].at.Before(threshold) {
		i++
	}
	r.packets = slices.Delete(r.packets, 0, i)
	if len(r.sessions) > 0 || len(r.packets) > 0 {
		r.armLocked()
	}
}

// record gives p an offset, appended as its last argument so that clients
// can report what they received, and keeps it.
func (r *recovery) record(p *sioparser.Packet, opts *BroadcastOptions) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.seq++
	id := r.prefix + "-" + strconv.FormatUint(r.seq, 36)
	p.Data = AppendOffset(p.Data, id)
	r.packets = append(r.packets, storedPacket{
		id:          id,
		at:          time.Now(),
		data:        p.Data,
		attachments: p.Attachments,
		rooms:       slices.Clone(opts.Rooms),
		except:      slices.Clone(opts.Except),
	})
	r.armLocked()
}

// AppendOffset returns a copy of the JSON array data (an event's
// arguments) with the string s appended: the offset a client reports to
// recover what it missed. s must need no JSON escaping (offsets are
// base64url, digits and dashes).
func AppendOffset(data []byte, s string) []byte {
	end := len(data) - 1
	for end > 0 && data[end] != ']' {
		end--
	}
	out := make([]byte, 0, len(data)+len(s)+3)
	out = append(out, data[:end]...)
	out = append(out, ',', '"')
	out = append(out, s...)
	return append(out, '"', ']')
}

func (r *recovery) persist(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.sessions[s.PID] = &storedSession{Session: *s, disconnectedAt: time.Now()}
	r.armLocked()
}

func (r *recovery) restore(pid, offset string) *Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sessions[pid]
	if s == nil {
		return nil
	}
	delete(r.sessions, pid)
	if time.Since(s.disconnectedAt) > r.maxAge {
		return nil
	}
	index := slices.IndexFunc(r.packets, func(p storedPacket) bool { return p.id == offset })
	if index < 0 {
		return nil
	}
	out := s.Session
	out.MissedPackets = nil
	for _, p := range r.packets[index+1:] {
		if includes(s.Rooms, p.rooms, p.except) {
			out.MissedPackets = append(out.MissedPackets, MissedPacket{Data: p.data, Attachments: p.attachments})
		}
	}
	return &out
}

// includes reports whether a socket in sessionRooms was a recipient of a
// broadcast to rooms minus except.
func includes(sessionRooms, rooms, except []Room) bool {
	for _, r := range sessionRooms {
		if slices.Contains(except, r) {
			return false
		}
	}
	if len(rooms) == 0 {
		return true
	}
	for _, r := range sessionRooms {
		if slices.Contains(rooms, r) {
			return true
		}
	}
	return false
}
