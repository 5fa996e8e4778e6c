package engineio

import (
	"sync"
	"time"
)

// hbGranularity is the precision of the heartbeat schedule: sessions whose
// next ping or pong deadline falls in the same slot share one timer. Pings
// are rounded down, so they leave up to this much early, never late (a
// ping that leaves late shortens nothing, but Node sends them on time);
// pong deadlines are rounded up, so a session is closed up to this much
// after its deadline, never before. Conn.expired checks the exact
// deadline on requests.
const hbGranularity = 20 * time.Millisecond

// heartbeats schedules the pings and pong deadlines of a server's sessions
// on shared timers, one per slot of hbGranularity, instead of a timer per
// session (a runtime timer costs more than a hundred bytes a session).
type heartbeats struct {
	mu    sync.Mutex
	slots map[int64]*Conn // guarded by mu; slot number -> first session of its list
}

// schedule (re)places c in the slot of at (UnixNano): the slot that starts
// at or before it when early is set (a ping), else the first that starts
// at or after it (a deadline). The caller may hold c.mu.
func (h *heartbeats) schedule(c *Conn, at int64, early bool) {
	g := int64(hbGranularity)
	slot := (at + g - 1) / g
	// A ping takes the slot that starts before it, unless that slot is
	// already running (an interval under hbGranularity): it would then go
	// out at once, again and again.
	if early && (at/g)*g > time.Now().UnixNano() {
		slot = at / g
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(c)
	if h.slots == nil {
		h.slots = make(map[int64]*Conn)
	}
	first, ok := h.slots[slot]
	if !ok {
		time.AfterFunc(time.Until(time.Unix(0, slot*g)), func() { h.fire(slot) })
	}
	c.hbNext, c.hbPrev, c.hbSlot = first, nil, slot
	if first != nil {
		first.hbPrev = c
	}
	h.slots[slot] = c
}

// remove takes c off the schedule.
func (h *heartbeats) remove(c *Conn) {
	h.mu.Lock()
	h.removeLocked(c)
	h.mu.Unlock()
}

func (h *heartbeats) removeLocked(c *Conn) {
	if c.hbSlot == 0 {
		return
	}
	if c.hbPrev != nil {
		c.hbPrev.hbNext = c.hbNext
	} else if h.slots[c.hbSlot] == c {
		h.slots[c.hbSlot] = c.hbNext // may leave an empty slot: its timer finds nobody
	}
	if c.hbNext != nil {
		c.hbNext.hbPrev = c.hbPrev
	}
	c.hbNext, c.hbPrev, c.hbSlot = nil, nil, 0
}

// fire runs the heartbeat of every session of a slot.
func (h *heartbeats) fire(slot int64) {
	h.mu.Lock()
	var due []*Conn
	for c := h.slots[slot]; c != nil; {
		next := c.hbNext
		c.hbNext, c.hbPrev, c.hbSlot = nil, nil, 0
		due = append(due, c)
		c = next
	}
	delete(h.slots, slot)
	h.mu.Unlock()
	for _, c := range due {
		c.onHeartbeat()
	}
}
