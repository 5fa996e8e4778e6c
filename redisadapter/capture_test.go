package redisadapter

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/socketio/adapter"
	"github.com/socketio-go/socketio/redisadapter/wire"
	"github.com/socketio-go/socketio/sioparser"
)

// TestCapturedMessages feeds every message that Node servers and the Node
// emitter published in the captures of WIRE.md to an adapter of the same
// namespace, and checks what it does with each: broadcasts reach the local
// socket with the captured arguments, server-side events reach the
// namespace, joins, leaves and disconnections reach the socket, responses
// to requests of other servers are ignored.
func TestCapturedMessages(t *testing.T) {
	dir := capturesDir(t)
	checked := map[string]int{}
	for _, name := range []string{"classic.log", "classic-hex.log", "flags-specific-response.log", "sharded.log", "sharded-hex.log"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if m := parseCaptureLine(t, sc.Text()); m != nil {
				checkCaptured(t, name, m, checked)
			}
		}
		f.Close()
	}
	t.Logf("checked: %v", checked)
	for _, what := range []string{"broadcast", "broadcast-with-ack", "server-side-emit", "join", "leave", "disconnect", "fetch", "all-rooms", "response"} {
		if checked[what] == 0 {
			t.Errorf("no captured %s message checked", what)
		}
	}
}

type capturedMessage struct {
	sharded bool
	channel string
	payload []byte
	decoded []byte // the log's JSON, binary as {"<bin>": hex}
}

var captureRE = regexp.MustCompile(`^\S+ \S+ (S?PUBLISH) "([^"]*)" \(\d+ B\) (JSON|MSGPACK) (.*?)(?: hex=([0-9a-f]+))?$`)
var binRE = regexp.MustCompile(`\{"<bin>":"([0-9a-f]*)"\}`)

func parseCaptureLine(t *testing.T, line string) *capturedMessage {
	m := captureRE.FindStringSubmatch(line)
	if m == nil {
		return nil
	}
	c := &capturedMessage{sharded: m[1] == "SPUBLISH", channel: m[2], decoded: []byte(m[4])}
	switch {
	case m[5] != "":
		c.payload, _ = hex.DecodeString(m[5])
	case m[3] == "JSON":
		c.payload = []byte(m[4])
	default:
		// rebuild the MessagePack from the decoded form: wire writes the
		// same bytes as notepack (see wire.TestCaptures)
		var atts [][]byte
		js := binRE.ReplaceAllStringFunc(m[4], func(s string) string {
			b, _ := hex.DecodeString(binRE.FindStringSubmatch(s)[1])
			atts = append(atts, b)
			return `{"_placeholder":true,"num":` + strconv.Itoa(len(atts)-1) + `}`
		})
		var err error
		if c.payload, err = wire.JSONToMsgpack(nil, []byte(js), atts); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
	}
	return c
}

func checkCaptured(t *testing.T, file string, m *capturedMessage, checked map[string]int) {
	t.Helper()
	// the namespace and room from the channel
	var nsp, room string
	var classicBroadcast bool
	rest := m.channel
	switch {
	case strings.HasPrefix(rest, "socket.io-request#"), strings.HasPrefix(rest, "socket.io-response#"):
		rest = rest[strings.Index(rest, "#")+1:]
		nsp = rest[:strings.Index(rest, "#")]
	case strings.HasPrefix(rest, "socket.io#"):
		rest = strings.TrimPrefix(rest, "socket.io#")
		nsp = rest[:strings.Index(rest, "#")]
		room = strings.TrimSuffix(rest[len(nsp)+1:], "#")
		classicBroadcast = !m.sharded
	default:
		t.Fatalf("%s: channel %s", file, m.channel)
	}
	var generic map[string]any
	var arr []any
	_ = json.Unmarshal(m.decoded, &generic)
	_ = json.Unmarshal(m.decoded, &arr)

	ns := &recordingNamespace{name: nsp}
	a := newAdapter(ns, redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), (&Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).withDefaults(), m.sharded)
	defer a.Close()
	defer a.client.Close()
	s := &recordingSocket{id: "capturedsocket000000"}
	a.mem.AddAll(s, s.id)
	rooms := []string{}
	if room != "" {
		rooms = append(rooms, room)
	}
	// the rooms the message selects
	opts := func(v map[string]any) {
		if o, ok := v["opts"].(map[string]any); ok {
			for _, r := range o["rooms"].([]any) {
				rooms = append(rooms, r.(string))
			}
		}
	}
	opts(generic)
	if d, ok := generic["data"].(map[string]any); ok {
		opts(d)
	}
	if len(arr) == 3 {
		opts(map[string]any{"opts": arr[2]})
	}
	a.mem.AddAll(s, rooms...)

	if m.sharded {
		ch := m.channel
		if room != "" && len(room) == 16 { // a response channel of a server
			ch = a.ownResponseChannel
		}
		a.onShardedMessage(ch, "", m.payload)
	} else {
		pattern := ""
		if classicBroadcast {
			pattern = a.channel + "*"
		}
		ch := m.channel
		if strings.HasPrefix(ch, "socket.io-response#") {
			ch = a.responseChannel
		}
		a.onClassicMessage(ch, pattern, m.payload)
	}

	typ, _ := generic["type"].(float64)
	var data map[string]any
	if d, ok := generic["data"].(map[string]any); ok {
		data = d
	}
	switch {
	case classicBroadcast || (m.sharded && typ == 3 && data["requestId"] == nil):
		var want any
		if classicBroadcast {
			want = arr[1].(map[string]any)["data"]
		} else {
			want = data["packet"].(map[string]any)["data"]
		}
		if len(s.sent) != 1 || !sameValue(t, withBinMarkers(t, s.sent[0].Data, s.sent[0].Attachments), want) {
			t.Errorf("%s: broadcast %s: delivered %v, want %v", file, m.decoded, s.sent, want)
		}
		checked["broadcast"]++
	case (!m.sharded && typ == 7) || (m.sharded && typ == 3):
		if len(s.sentWithAck) != 1 {
			t.Errorf("%s: broadcast with ack %s: delivered %d", file, m.decoded, len(s.sentWithAck))
		}
		checked["broadcast-with-ack"]++
	case (!m.sharded && typ == 6 && generic["uid"] != nil) || (m.sharded && typ == 9):
		want := generic["data"]
		if m.sharded {
			want = data["packet"]
		}
		if len(ns.sse) != 1 || !sameValue(t, ns.sse[0], want) {
			t.Errorf("%s: server-side emit %s: got %s", file, m.decoded, ns.sse)
		}
		checked["server-side-emit"]++
	case (!m.sharded && typ == 2) || (m.sharded && typ == 4):
		if len(s.joined) == 0 {
			t.Errorf("%s: join %s: not joined", file, m.decoded)
		}
		checked["join"]++
	case (!m.sharded && typ == 3) || (m.sharded && typ == 5):
		if len(s.left) == 0 {
			t.Errorf("%s: leave %s: not left", file, m.decoded)
		}
		checked["leave"]++
	case (!m.sharded && typ == 4) || (m.sharded && typ == 6):
		if !s.disconnected {
			t.Errorf("%s: disconnect %s: not disconnected", file, m.decoded)
		}
		checked["disconnect"]++
	case (!m.sharded && typ == 5) || (m.sharded && typ == 7):
		checked["fetch"]++ // answered: the answer is published (no Redis here)
	case !m.sharded && typ == 1:
		checked["all-rooms"]++
	default:
		if len(s.sent)+len(s.sentWithAck)+len(ns.sse)+len(s.joined)+len(s.left) > 0 || s.disconnected {
			t.Errorf("%s: response %s acted on", file, m.decoded)
		}
		checked["response"]++
	}
}

func capturesDir(t *testing.T) string {
	for _, dir := range []string{os.Getenv("SOCKETIO_REDIS_CAPTURES"), "../../shared/redis-adapter/captures", "/work/shared/redis-adapter/captures"} {
		if dir == "" {
			continue
		}
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir
		}
	}
	t.Fatal("the captures of shared/redis-adapter/captures are missing (set SOCKETIO_REDIS_CAPTURES)")
	return ""
}

func withBinMarkers(t *testing.T, js []byte, atts [][]byte) any {
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if x["_placeholder"] == true {
				return map[string]any{"<bin>": hex.EncodeToString(atts[int(x["num"].(float64))])}
			}
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		}
		return v
	}
	return walk(v)
}

func sameValue(t *testing.T, a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	return reflect.DeepEqual(va, vb)
}

// recordingNamespace is an adapter.Namespace that records server-side
// events.
type recordingNamespace struct {
	name string
	mu   sync.Mutex
	sse  []any
}

func (n *recordingNamespace) Name() string                                 { return n.name }
func (n *recordingNamespace) Prepare(p *sioparser.Packet) adapter.Prepared { return p }
func (n *recordingNamespace) NextAckID() uint64                            { return 1 }
func (n *recordingNamespace) OnServerSideEmit(data []byte, atts [][]byte, _ func(adapter.AckResponse)) {
	var v any
	_ = json.Unmarshal(data, &v)
	n.mu.Lock()
	n.sse = append(n.sse, v)
	n.mu.Unlock()
}

// recordingSocket is an adapter.Socket that records what it is asked to do.
type recordingSocket struct {
	id           string
	sent         []*sioparser.Packet
	sentWithAck  []*sioparser.Packet
	joined, left []string
	disconnected bool
}

func (s *recordingSocket) ID() string { return s.id }
func (s *recordingSocket) Send(p adapter.Prepared, _ adapter.BroadcastFlags) {
	s.sent = append(s.sent, p.(*sioparser.Packet))
}
func (s *recordingSocket) SendWithAck(p adapter.Prepared, _ adapter.BroadcastFlags, _ uint64, _ func(adapter.AckResponse)) {
	s.sentWithAck = append(s.sentWithAck, p.(*sioparser.Packet))
}
func (s *recordingSocket) Join(rooms ...string) { s.joined = append(s.joined, rooms...) }
func (s *recordingSocket) Leave(room string)    { s.left = append(s.left, room) }
func (s *recordingSocket) Disconnect(bool)      { s.disconnected = true }
func (s *recordingSocket) Info() adapter.SocketInfo {
	return adapter.SocketInfo{ID: s.id, Rooms: []string{s.id}}
}

func TestHashSlot(t *testing.T) {
	// values from the Redis Cluster specification and CLUSTER KEYSLOT
	for key, want := range map[string]uint16{"123456789": 0x31c3 % 16384, "foo": 12182, "{user1000}.following": 3443, "{user1000}.followers": 3443, "foo{}{bar}": 8363} {
		if got := hashSlot(key); got != want {
			t.Errorf("hashSlot(%q) = %d, want %d", key, got, want)
		}
	}
}
