package redisstreamsadapter

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/internal/clusteradapter"
	"github.com/socketio-go/socketio/redisadapter/wire"
)

// Connection state recovery across servers (WIRE.md §5): a disconnected
// socket's session is a Redis key, SET <prefix><pid> base64(MessagePack
// {sid, pid, rooms, data}) PX <MaxDisconnectionDuration>; whichever server
// the client reaches takes it (GET and DEL in one transaction) and replays
// the broadcasts of the stream after the client's offset that were for the
// session's rooms.

// restoreRounds bounds the XRANGE calls of one restore, as in Node.
const restoreRounds = 100

var offsetPattern = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// Errors of RestoreSession (the socket then starts a new session).
var (
	errBadOffset = errors.New("redisstreamsadapter: invalid offset")
	errNotFound  = errors.New("redisstreamsadapter: session or offset not found")
)

// PersistSession implements adapter.Adapter: the session goes to Redis
// through the outbox (a shutdown's sessions are published before Close
// returns, RequestsTimeout at most).
func (a *Adapter) PersistSession(s *adapter.Session) {
	if a.recovery <= 0 {
		return
	}
	value, err := a.encodeSession(s)
	if err != nil {
		a.log.Warn("redisstreamsadapter: session cannot be encoded", "namespace", a.name, "sid", s.SID, "err", err)
		return
	}
	m := outMsg{kind: kindSet, target: a.opts.SessionKeyPrefix + s.PID, data: value, ttl: a.recovery}
	if err := a.push("persistSession", m); err != nil {
		a.log.Warn("redisstreamsadapter: session not kept", "namespace", a.name, "sid", s.SID, "err", err)
	}
}

// encodeSession returns the stored form of a session:
// base64(MessagePack {sid, pid, rooms, data}).
func (a *Adapter) encodeSession(s *adapter.Session) (string, error) {
	mp, err := clusteradapter.EncodeSession(s)
	if mp == nil {
		return "", err
	}
	if err != nil {
		a.log.Warn("redisstreamsadapter: session data cannot be encoded", "namespace", a.name, "sid", s.SID, "err", err)
	}
	return base64.StdEncoding.EncodeToString(mp), nil
}

// RestoreSession implements adapter.Adapter: the session is taken from
// Redis (and deleted, even when the offset is gone, as in Node), the offset
// must still be in the stream, and the broadcasts after it that were for
// the session's rooms come back with their offsets. Volatile broadcasts and
// emits with acknowledgements are not replayed (Node replays them, without
// their acknowledgement). The data of the session is the JSON the old
// server stored (json.RawMessage), nil for Node's default {}.
func (a *Adapter) RestoreSession(pid, offset string) (*adapter.Session, error) {
	if a.recovery <= 0 {
		return nil, nil
	}
	if !offsetPattern.MatchString(offset) {
		return nil, errBadOffset
	}
	if !a.sub.Healthy() || a.out.Down() {
		return nil, ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
	defer cancel()
	key := a.opts.SessionKeyPrefix + pid
	var get *redis.StringCmd
	_, err := a.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, key)
		p.Del(ctx, key)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisstreamsadapter: restoring a session: %w", err)
	}
	at, err := a.client.XRange(ctx, a.stream, offset, offset).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstreamsadapter: restoring a session: %w", err)
	}
	raw, gerr := get.Result()
	if gerr != nil || len(at) == 0 {
		return nil, errNotFound
	}
	s, err := decodeSession(raw)
	if err != nil {
		return nil, err
	}
	for range restoreRounds {
		entries, err := a.client.XRange(ctx, a.stream, nextOffset(offset), "+").Result()
		if err != nil {
			return nil, fmt.Errorf("redisstreamsadapter: restoring a session: %w", err)
		}
		if len(entries) == 0 {
			break
		}
		for _, e := range entries {
			if m, ok := a.missed(s.Rooms, e); ok {
				s.MissedPackets = append(s.MissedPackets, m)
			}
			offset = e.ID
		}
	}
	return s, nil
}

func decodeSession(raw string) (*adapter.Session, error) {
	mp, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("redisstreamsadapter: stored session: %w", err)
	}
	s, err := clusteradapter.DecodeSession(mp)
	if err != nil {
		return nil, fmt.Errorf("redisstreamsadapter: %w", err)
	}
	return s, nil
}

// missed returns the packet of an entry if it is a broadcast the session
// missed, with its offset appended.
func (a *Adapter) missed(rooms []string, e redis.XMessage) (adapter.MissedPacket, bool) {
	if nsp, _ := e.Values["nsp"].(string); nsp != a.name {
		return adapter.MissedPacket{}, false
	}
	if typ, _ := e.Values["type"].(string); typ != typeString(3) {
		return adapter.MissedPacket{}, false
	}
	data, _ := e.Values["data"].(string)
	js, atts, err := decodeEntryData(data)
	if err != nil {
		return adapter.MissedPacket{}, false
	}
	var d wire.ClusterData
	if json.Unmarshal(js, &d) != nil {
		return adapter.MissedPacket{}, false
	}
	return clusteradapter.Missed(rooms, &d, atts, e.ID)
}

// nextOffset is the smallest id after offset (XRANGE's start is
// inclusive).
func nextOffset(offset string) string {
	ms, seq, _ := strings.Cut(offset, "-")
	n, _ := strconv.ParseUint(seq, 10, 64)
	return ms + "-" + strconv.FormatUint(n+1, 10)
}
