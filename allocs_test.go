package socketio

import (
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/internal/websocket"
)

// echoAllocBudget is what one acknowledged echo may allocate on the server
// side, over WebSocket with the default parser: the received message (1),
// its argument list (1), the event name (1, tiny), the acknowledgement's
// callback and its guard (2), the bench server's handler itself (2: its
// []any and the json.RawMessage in it), and one more tiny one. The
// answer's buffer and the decoded packet are pooled. Measured 8 (issue
// 14; 16 before).
const echoAllocBudget = 8

// TestEchoAllocs holds the server's echo path to its allocation budget:
// a client that allocates nothing sends an event with an ack and reads
// the answer, and every allocation of the process is counted. Counts, not
// time: they do not depend on the machine's load.
func TestEchoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	if testing.Short() {
		t.Skip("short")
	}
	opts := testOptions()
	opts.Engine.PingInterval = time.Hour
	opts.Engine.PingTimeout = time.Hour
	ws := dialEchoServer(t, opts)
	for _, send := range []string{"", "40"} { // the open packet, then CONNECT
		if send != "" {
			if err := ws.WriteMessage(websocket.OpText, []byte(send)); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}

	// From here on the client writes a prepared frame (masked with a zero
	// key: the payload reads as is) and reads the answer's known length.
	arg := strconv.Quote(strings.Repeat("x", 100))
	payload := `427["echo",` + arg + `]`
	frame := append([]byte{0x81, 0x80 | 126, 0, byte(len(payload)), 0, 0, 0, 0}, payload...)
	answer := `437[` + arg + `]`
	want := append([]byte{0x81, byte(len(answer))}, answer...)
	got := make([]byte, len(want))
	nc := ws.NetConn()
	_ = nc.SetDeadline(time.Now().Add(time.Minute))
	round := func() {
		if _, err := nc.Write(frame); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(nc, got); err != nil {
			t.Fatal(err)
		}
	}
	round()
	if string(got) != string(want) {
		t.Fatalf("answer %q, want %q", got, want)
	}
	allocs := testing.AllocsPerRun(500, round)
	t.Logf("%.2f allocations per echo", allocs)
	if allocs > echoAllocBudget {
		t.Errorf("%.2f allocations per echo, budget %d", allocs, echoAllocBudget)
	}
}
