// Package pgnotify is the wire format of Node's npm
// @socket.io/postgres-adapter 0.5.x and @socket.io/postgres-emitter 0.1.x
// (shared/postgres-adapter/WIRE.md): a message is a NOTIFY on the channel
// "<prefix>#<nsp>" with its JSON as payload, or, when it holds binary
// values or its JSON is too long for NOTIFY, a row of the attachments
// table (MessagePack of the whole message) announced by a NOTIFY header
// {"uid","type","attachmentId"}.
package pgnotify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/socketio-go/socketio/redisadapter/wire"
)

// MaxChannel is PostgreSQL's limit on identifiers, channel names included
// (NAMEDATALEN - 1 bytes).
const MaxChannel = 63

// MaxPayload is the first payload size NOTIFY refuses ("payload string too
// long"): a message whose JSON is this long or longer goes through the
// attachments table. (Node 0.5.0 sends 8000 bytes as a NOTIFY, which fails.)
const MaxPayload = 8000

// Defaults of Node's options.
const (
	DefaultPrefix = "socket.io"
	DefaultTable  = "socket_io_attachments"
)

// ErrChannelTooLong is returned for a namespace whose channel name is
// longer than PostgreSQL accepts.
var ErrChannelTooLong = errors.New("channel name longer than PostgreSQL's 63 bytes")

// Channel returns the channel of a namespace, "<prefix>#<nsp>", or an
// error wrapping ErrChannelTooLong.
func Channel(prefix, nsp string) (string, error) {
	ch := prefix + "#" + nsp
	if len(ch) > MaxChannel {
		return ch, fmt.Errorf("%w: %q is %d bytes (prefix %q + \"#\" + namespace %q; a namespace may have at most %d bytes with this prefix)", ErrChannelTooLong, ch, len(ch), prefix, nsp, MaxChannel-len(prefix)-1)
	}
	return ch, nil
}

var tablePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// CheckTable checks a table name: Node interpolates it into SQL unquoted,
// and so does this package, so it must be a plain (optionally
// schema-qualified) identifier.
func CheckTable(t string) error {
	if !tablePattern.MatchString(t) {
		return fmt.Errorf("table name %q: letters, digits and underscores only (schema.table allowed)", t)
	}
	return nil
}

// CreateTable is the statement creating the attachments table, as the
// README of Node's adapter has applications run it.
func CreateTable(table string) string {
	return "CREATE TABLE IF NOT EXISTS " + table + " (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)"
}

// Cleanup is the statement that deletes attachments older than ms
// milliseconds (Node's, every cleanupInterval).
func Cleanup(table string, ms int64) string {
	return "DELETE FROM " + table + " WHERE created_at < now() - interval '" + strconv.FormatInt(ms, 10) + " milliseconds'"
}

// Message is a message to publish.
type Message struct {
	Channel string
	UID     string
	Type    int
	JSON    []byte // the whole message, with placeholders indexing Atts
	Atts    [][]byte
}

// Queue adds to b the statement that publishes m: SELECT pg_notify with
// the JSON, or, for a message with binary values or with threshold bytes
// of JSON or more, one statement that inserts the MessagePack row and
// notifies its header. (Node's sends binary as attachments only for
// broadcasts, server-side events and acknowledgements and writes Buffers
// as JSON otherwise; any Node receiver reads a row whatever its type.)
func Queue(b *pgx.Batch, table string, threshold int, m Message) error {
	if threshold <= 0 || threshold > MaxPayload {
		threshold = MaxPayload
	}
	if len(m.Atts) == 0 && len(m.JSON) < threshold {
		b.Queue("SELECT pg_notify($1, $2)", m.Channel, string(m.JSON))
		return nil
	}
	row, err := wire.JSONToMsgpack(make([]byte, 0, len(m.JSON)), m.JSON, m.Atts)
	if err != nil {
		return err
	}
	uid, _ := json.Marshal(m.UID)
	b.Queue("WITH a AS (INSERT INTO "+table+" (payload) VALUES ($1) RETURNING id) "+
		`SELECT pg_notify($2, '{"uid":' || $3::text || ',"type":' || $4::int || ',"attachmentId":"' || a.id || '"}') FROM a`,
		row, m.Channel, string(uid), m.Type)
	return nil
}

// Header is the notification of a message sent as an attachment.
type Header struct {
	UID  string
	Type int
	ID   int64
}

// ParseHeader reports whether a notification's payload is an attachment's
// header, and reads it. The id may be a JSON string (Node's: pg returns
// int8 as text) or a number.
func ParseHeader(payload string) (Header, bool) {
	if !strings.Contains(payload, `"attachmentId"`) {
		return Header{}, false
	}
	var h struct {
		UID  string          `json:"uid"`
		Type int             `json:"type"`
		ID   json.RawMessage `json:"attachmentId"`
	}
	if json.Unmarshal([]byte(payload), &h) != nil || len(h.ID) == 0 {
		return Header{}, false
	}
	id, err := strconv.ParseInt(strings.Trim(string(h.ID), `"`), 10, 64)
	if err != nil {
		return Header{}, false
	}
	return Header{UID: h.UID, Type: h.Type, ID: id}, true
}

// Querier runs a query: a *pgx.Conn or a pool.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Fetch reads an attachment's row and returns the message as JSON with
// placeholders and attachments.
func Fetch(ctx context.Context, q Querier, table string, id int64) ([]byte, [][]byte, error) {
	var row []byte
	if err := q.QueryRow(ctx, "SELECT payload FROM "+table+" WHERE id = $1", id).Scan(&row); err != nil {
		return nil, nil, fmt.Errorf("attachment %d: %w", id, err)
	}
	return wire.MsgpackToJSON(row)
}
