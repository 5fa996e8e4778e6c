package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// dial connects to srv over WebSocket and checks the open packet.
func dial(t *testing.T, srv *httptest.Server) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got := read(t, ws); !strings.HasPrefix(got, `0{"sid":"`) || !strings.Contains(got, `"pingInterval":3600000`) {
		t.Fatalf("open packet %q", got)
	}
	return ws
}

func read(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	mt, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if mt == websocket.BinaryMessage {
		return "binary:" + string(b)
	}
	return string(b)
}

func send(t *testing.T, ws *websocket.Conn, msg string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

func TestContract(t *testing.T) {
	srv := httptest.NewServer(newServer())
	defer srv.Close()
	a, b := dial(t, srv), dial(t, srv)
	for _, ws := range []*websocket.Conn{a, b} {
		send(t, ws, "40")
		if got := read(t, ws); !strings.HasPrefix(got, `40{"sid":"`) {
			t.Fatalf("CONNECT answer %q", got)
		}
	}
	for _, tc := range []struct{ req, want string }{
		{`4212["echo","hi",{"a":[1,2]}]`, `4312["hi",{"a":[1,2]}]`},
		{`427["echo"]`, `437[]`},
		{`40/admin,`, `44/admin,{"message":"Invalid namespace"}`},
		{`2`, `3`},
	} {
		send(t, a, tc.req)
		if got := read(t, a); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.req, got, tc.want)
		}
	}
	send(t, a, `423["broadcast",{"count":2,"size":3,"binary":false}]`)
	for _, ws := range []*websocket.Conn{a, b} {
		for range 2 {
			if got := read(t, ws); got != `42["msg","xxx"]` {
				t.Fatalf("broadcast message %q", got)
			}
		}
	}
	if got := read(t, a); got != `433[]` {
		t.Fatalf("broadcast ack %q", got)
	}
	send(t, b, `424["broadcast",{"count":1,"size":2,"binary":true}]`)
	for _, ws := range []*websocket.Conn{a, b} {
		if got := read(t, ws) + " " + read(t, ws); got != `451-["msg",{"_placeholder":true,"num":0}] binary:xx` {
			t.Fatalf("binary broadcast %q", got)
		}
	}
	if got := read(t, b); got != `434[]` {
		t.Fatalf("binary broadcast ack %q", got)
	}
}

func TestPollingRefused(t *testing.T) {
	srv := httptest.NewServer(newServer())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("polling: status %d, want 400", resp.StatusCode)
	}
}
