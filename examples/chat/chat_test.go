package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
)

// startChat serves the chat on a test server and returns its URL.
func startChat(t *testing.T, logger *slog.Logger) string {
	t.Helper()
	srv := socketio.NewServer(&socketio.Options{DisableServeClient: true, Logger: logger})
	srv.OnConnection(newChat(srv).onConnection)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	return ts.URL
}

// TestChangesAreRateLimited: a client switching rooms or nicknames in a
// loop cannot make the server flood everyone else (each join sends the room
// list to every client).
func TestChangesAreRateLimited(t *testing.T) {
	url := startChat(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := &client.Options{Transports: []string{"websocket"}, ForceNew: true}

	observer, err := client.NewSocket(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	var seen atomic.Int64 // events the observer got because of the attacker
	observer.On("rooms", func(client.Args) { seen.Add(1) })
	observer.On("notice", func(client.Args) { seen.Add(1) })
	observer.Connect()
	defer observer.Disconnect()
	if err := observer.WaitConnect(ctx); err != nil {
		t.Fatal(err)
	}

	attacker, err := client.Connect(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer attacker.Disconnect()
	type reply struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	refused := 0
	for i := range 200 {
		// Every one a change: room a, room b, a new nickname, ...
		ev, arg := "join", []string{"a", "b"}[i%3%2]
		if i%3 == 2 {
			ev, arg = "nickname", fmt.Sprint("nick", i)
		}
		res, err := attacker.EmitWithAck(ctx, ev, arg)
		if err != nil {
			t.Fatal(err)
		}
		var r reply
		if err := res.Decode(&r); err != nil {
			t.Fatal(err)
		}
		if !r.OK {
			refused++
		}
	}
	time.Sleep(100 * time.Millisecond) // what was sent has arrived
	t.Logf("%d of 200 changes refused, the observer got %d events", refused, seen.Load())
	if refused < 100 {
		t.Fatalf("only %d of 200 changes refused", refused)
	}
	// The observer sees the room list of each accepted change, and
	// notices of those in its room: a handful, not hundreds.
	if n := seen.Load(); n > 40 {
		t.Fatalf("the observer got %d events from one client's 200 changes", n)
	}
}

// TestWithoutAcks: a client may emit without a callback; the server then
// gets no acknowledgement function and must not need one.
func TestWithoutAcks(t *testing.T) {
	var logs syncBuffer
	url := startChat(t, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := &client.Options{Transports: []string{"websocket"}, ForceNew: true}
	got := make(chan string, 4)
	reader, err := client.NewSocket(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	reader.On("message", func(m chatMessage) { got <- m.Text })
	// The server's connection handler puts the reader in the lobby and
	// then sends "session": a client is in its room once that arrives,
	// not at the CONNECT, which leaves before the handler runs.
	inLobby := make(chan struct{}, 1)
	reader.On("session", func(client.Args) { inLobby <- struct{}{} })
	reader.Connect()
	defer reader.Disconnect()
	select {
	case <-inLobby:
	case <-ctx.Done():
		t.Fatal("no session event")
	}
	writer, err := client.Connect(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Disconnect()
	for _, ev := range []string{"nickname", "join", "announce"} {
		if err := writer.Emit(ev, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if err := writer.Emit("join", defaultRoom); err != nil {
		t.Fatal(err)
	}
	if err := writer.Emit("message", "no callback"); err != nil {
		t.Fatal(err)
	}
	select {
	case text := <-got:
		if text != "no callback" {
			t.Fatalf("got %q", text)
		}
	case <-ctx.Done():
		t.Fatal("the message sent without a callback never arrived")
	}
	if text := logs.String(); strings.Contains(text, "level=ERROR") {
		t.Fatalf("errors logged: %s", text)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
