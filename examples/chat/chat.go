package main

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/socketio-go/socketio"
)

// Input limits. Everything a user types is bounded and cleaned on the
// server; the page renders it as text, never as HTML.
const (
	maxNickname = 24
	maxRoomName = 32
	maxMessage  = 500
	maxRooms    = 100
	historySize = 50 // messages a room keeps for those who join later
	defaultRoom = "lobby"
)

// Rate limits, per socket: how many at once, then one more per interval.
// Anything a client sends that makes the server talk to others is limited:
// a join or a nickname change notifies a room and sends the room list to
// everyone, a typing flag goes to the room.
var (
	messageRate = rate{burst: 5, every: 2 * time.Second}
	changeRate  = rate{burst: 4, every: 3 * time.Second} // joins and nickname changes
	typingRate  = rate{burst: 2, every: time.Second}
)

// rate describes a token bucket.
type rate struct {
	burst float64
	every time.Duration
}

// bucket is one socket's token bucket for one kind of action.
type bucket struct {
	tokens float64
	last   time.Time
}

// take spends a token if one is left.
func (b *bucket) take(r rate, now time.Time) bool {
	if b.last.IsZero() {
		b.tokens = r.burst
	} else {
		b.tokens = min(r.burst, b.tokens+float64(now.Sub(b.last))/float64(r.every))
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// chat holds the rooms and who is in them.
type chat struct {
	srv *socketio.Server

	mu      sync.Mutex
	rooms   map[string]map[string]string // guarded by mu; room -> socket id -> nickname
	history map[string][]chatMessage     // guarded by mu; room -> its last messages, oldest first
}

func newChat(srv *socketio.Server) *chat {
	return &chat{
		srv:     srv,
		rooms:   map[string]map[string]string{defaultRoom: {}},
		history: make(map[string][]chatMessage),
	}
}

// user is the per-socket state, kept in the socket's Data.
type user struct {
	mu       sync.Mutex
	nickname string
	room     string
	messages bucket // guarded by mu
	changes  bucket // guarded by mu
	typing   bucket // guarded by mu
	isTyping bool   // guarded by mu; what the room was last told
}

// allow applies a rate limit to one of the user's buckets.
func (u *user) allow(b *bucket, r rate) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return b.take(r, time.Now())
}

func (u *user) get() (nickname, room string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.nickname, u.room
}

// MarshalJSON is how the Admin UI shows the socket's data. (The chat calls
// SetData again after each change, so that the UI hears of it.)
func (u *user) MarshalJSON() ([]byte, error) {
	nickname, room := u.get()
	return json.Marshal(struct {
		Nickname string `json:"nickname"`
		Room     string `json:"room"`
	}{nickname, room})
}

// Payloads exchanged with the page.
type (
	roomInfo struct {
		Name    string `json:"name"`
		Members int    `json:"members"`
	}
	chatMessage struct {
		Room     string `json:"room"`
		Nickname string `json:"nickname"`
		Text     string `json:"text"`
		Time     int64  `json:"time"`
	}
	notice struct {
		Room string `json:"room"`
		Text string `json:"text"`
	}
	reply struct {
		OK       bool   `json:"ok"`
		Error    string `json:"error,omitempty"`
		Nickname string `json:"nickname,omitempty"`
		Room     string `json:"room,omitempty"`
	}
)

// clean trims s, drops control and formatting characters, folds runs of
// white space, and bounds its length in characters.
func clean(s string, max int) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range strings.TrimSpace(s) {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			continue
		}
		if unicode.IsSpace(r) {
			if space {
				continue
			}
			space, r = true, ' '
		} else {
			space = false
		}
		if n == max {
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// cleanRoom makes a room name: letters, digits, spaces, '-' and '_'.
func cleanRoom(s string) string {
	s = clean(s, maxRoomName)
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || r == '-' || r == '_' {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}

func (c *chat) onConnection(s *socketio.Socket) {
	u, _ := s.Data().(*user)
	if u == nil || !s.Recovered() {
		u = &user{nickname: "guest-" + s.ID()[:4]}
		s.SetData(u)
		c.join(s, u, defaultRoom)
	} else {
		_, room := u.get()
		c.enter(s, u, room)
	}

	_ = s.Emit("welcome", map[string]string{"description": "Hello and Welcome to the Server"})
	nickname, room := u.get()
	_ = s.Emit("session", reply{OK: true, Nickname: nickname, Room: room})
	_ = s.Emit("rooms", c.roomList())

	s.On("nickname", func(name string, ack func(reply)) {
		name = clean(name, maxNickname)
		if name == "" {
			answer(ack, reply{Error: "Choose a nickname of 1 to 24 characters."})
			return
		}
		if !u.allow(&u.changes, changeRate) {
			answer(ack, reply{Error: "Slow down: too many nickname or room changes."})
			return
		}
		u.mu.Lock()
		old, room := u.nickname, u.room
		u.nickname = name
		u.mu.Unlock()
		c.setNickname(room, s.ID(), name)
		s.SetData(u)
		_ = c.srv.To(room).Emit("notice", notice{Room: room, Text: old + " is now " + name})
		answer(ack, reply{OK: true, Nickname: name, Room: room})
	})

	s.On("join", func(name string, ack func(reply)) {
		room := cleanRoom(name)
		if room == "" {
			answer(ack, reply{Error: "Room names are 1 to 32 letters, digits, spaces, - or _."})
			return
		}
		if !c.exists(room) && c.count() >= maxRooms {
			answer(ack, reply{Error: "There are too many rooms already."})
			return
		}
		if _, current := u.get(); current != room && !u.allow(&u.changes, changeRate) {
			answer(ack, reply{Error: "Slow down: too many nickname or room changes."})
			return
		}
		c.join(s, u, room)
		nickname, _ := u.get()
		answer(ack, reply{OK: true, Nickname: nickname, Room: room})
	})

	s.On("message", func(text string, ack func(reply)) {
		if utf8.RuneCountInString(text) > maxMessage {
			answer(ack, reply{Error: "Messages are limited to 500 characters."})
			return
		}
		text = clean(text, maxMessage)
		if text == "" {
			answer(ack, reply{Error: "Empty message."})
			return
		}
		if !u.allow(&u.messages, messageRate) {
			answer(ack, reply{Error: "Slow down: too many messages."})
			return
		}
		nickname, room := u.get()
		m := chatMessage{Room: room, Nickname: nickname, Text: text, Time: time.Now().UnixMilli()}
		c.remember(m)
		_ = c.srv.To(room).Emit("message", m)
		answer(ack, reply{OK: true})
	})

	s.On("announce", func(text string, ack func(reply)) {
		if utf8.RuneCountInString(text) > maxMessage {
			answer(ack, reply{Error: "Announcements are limited to 500 characters."})
			return
		}
		text = clean(text, maxMessage)
		if text == "" || !u.allow(&u.messages, messageRate) {
			answer(ack, reply{Error: "Nothing announced (empty, or too many messages)."})
			return
		}
		nickname, _ := u.get()
		_ = c.srv.Emit("announcement", chatMessage{Nickname: nickname, Text: text, Time: time.Now().UnixMilli()})
		answer(ack, reply{OK: true})
	})

	s.On("typing", func(typing bool) {
		// Only changes go to the room, starts at a limited rate: the
		// indicator is best effort, but a stop always follows a start.
		u.mu.Lock()
		tell := typing != u.isTyping && (!typing || u.typing.take(typingRate, time.Now()))
		if tell {
			u.isTyping = typing
		}
		u.mu.Unlock()
		if !tell {
			return
		}
		nickname, room := u.get()
		_ = s.To(room).Volatile().Emit("typing", map[string]any{"nickname": nickname, "typing": typing})
	})

	s.OnDisconnect(func(reason socketio.DisconnectReason, _ error) {
		nickname, room := u.get()
		if c.leave(room, s.ID()) {
			_ = c.srv.To(room).Emit("notice", notice{Room: room, Text: nickname + " left"})
			c.broadcastRooms()
		}
	})
}

// answer acknowledges an event with r when the client asked for an
// answer: a client may emit without a callback, and ack is then nil.
func answer(ack func(reply), r reply) {
	if ack != nil {
		ack(r)
	}
}

// join moves the socket to room.
func (c *chat) join(s *socketio.Socket, u *user, room string) {
	u.mu.Lock()
	old, nickname := u.room, u.nickname
	u.room = room
	u.mu.Unlock()
	if old == room {
		return
	}
	if old != "" {
		s.Leave(old)
		if c.leave(old, s.ID()) {
			_ = c.srv.To(old).Emit("notice", notice{Room: old, Text: nickname + " left"})
		}
	}
	c.enter(s, u, room)
	s.SetData(u)
	_ = s.To(room).Emit("notice", notice{Room: room, Text: nickname + " joined"})
	c.broadcastRooms()
}

// enter records the socket in room, joins the Socket.IO room and sends the
// room's recent messages.
func (c *chat) enter(s *socketio.Socket, u *user, room string) {
	nickname, _ := u.get()
	c.mu.Lock()
	members := c.rooms[room]
	if members == nil {
		members = make(map[string]string)
		c.rooms[room] = members
	}
	members[s.ID()] = nickname
	recent := slices.Clone(c.history[room])
	c.mu.Unlock()
	s.Join(room)
	if recent == nil {
		recent = []chatMessage{}
	}
	_ = s.Emit("history", map[string]any{"room": room, "messages": recent})
}

// remember keeps a message for the room's later arrivals.
func (c *chat) remember(m chatMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := append(c.history[m.Room], m)
	if len(h) > historySize {
		h = slices.Delete(h, 0, len(h)-historySize)
	}
	c.history[m.Room] = h
}

// leave removes a socket from a room; empty rooms other than the lobby go.
func (c *chat) leave(room, id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	members := c.rooms[room]
	if _, ok := members[id]; !ok {
		return false
	}
	delete(members, id)
	if len(members) == 0 && room != defaultRoom {
		delete(c.rooms, room)
		delete(c.history, room)
	}
	return true
}

func (c *chat) setNickname(room, id, name string) {
	c.mu.Lock()
	if members := c.rooms[room]; members != nil {
		members[id] = name
	}
	c.mu.Unlock()
}

func (c *chat) exists(room string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rooms[room] != nil
}

func (c *chat) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.rooms)
}

func (c *chat) roomList() []roomInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := make([]roomInfo, 0, len(c.rooms))
	for name, members := range c.rooms {
		list = append(list, roomInfo{Name: name, Members: len(members)})
	}
	slices.SortFunc(list, func(a, b roomInfo) int {
		if a.Name == defaultRoom {
			return -1
		}
		if b.Name == defaultRoom {
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return list
}

func (c *chat) broadcastRooms() { _ = c.srv.Emit("rooms", c.roomList()) }
