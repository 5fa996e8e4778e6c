package main

import (
	"io"
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

// pollReq sends one long-polling request and returns the status and body.
func pollReq(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestPolling(t *testing.T) {
	srv := httptest.NewServer(newServer())
	defer srv.Close()
	base := srv.URL + "/socket.io/?EIO=4&transport=polling"
	code, open := pollReq(t, "GET", base, "")
	if code != 200 || !strings.HasPrefix(open, `0{"sid":"`) {
		t.Fatalf("handshake: %d %q", code, open)
	}
	sid := strings.Split(strings.TrimPrefix(open, `0{"sid":"`), `"`)[0]
	url := base + "&sid=" + sid
	if code, b := pollReq(t, "POST", url, "40"); code != 200 || b != "ok" {
		t.Fatalf("POST CONNECT: %d %q", code, b)
	}
	if _, b := pollReq(t, "GET", url, ""); b != `40{"sid":"`+sid+`"}` {
		t.Fatalf("CONNECT answer %q", b)
	}
	// Two packets in one POST: both acks come in one GET.
	pollReq(t, "POST", url, "4212[\"echo\",\"hi\",{\"a\":1}]\x1e427[\"echo\"]")
	if _, b := pollReq(t, "GET", url, ""); b != "4312[\"hi\",{\"a\":1}]\x1e437[]" {
		t.Fatalf("acks %q", b)
	}
	// A GET waits for the next packet, and for the close.
	waitGET := func() <-chan string {
		got := make(chan string, 1)
		go func() {
			req, _ := http.NewRequest("GET", url, nil)
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				got <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got <- string(b)
		}()
		time.Sleep(50 * time.Millisecond)
		return got
	}
	got := waitGET()
	pollReq(t, "POST", url, `423["echo",5]`)
	if b := <-got; b != `433[5]` {
		t.Fatalf("waiting GET got %q", b)
	}
	got = waitGET()
	pollReq(t, "POST", url, "1")
	if b := <-got; b != "1" {
		t.Fatalf("waiting GET got %q at the close", b)
	}
	// The sid is forgotten.
	if code, _ := pollReq(t, "GET", url, ""); code != http.StatusBadRequest {
		t.Fatalf("unknown sid: status %d, want 400", code)
	}
}
