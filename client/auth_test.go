package client_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/client"
)

// TestSetAuth: the auth payload can change between connection requests,
// as socket.auth in JavaScript: after a refusal, for a reconnection, and
// through Manager.Socket for a namespace that has its Socket.
func TestSetAuth(t *testing.T) {
	forEachPeer(t, peerOptions{}, func(t *testing.T, p *peer) {
		o := testOptions("websocket")
		o.Auth = map[string]string{"token": "wrong"}
		s := newSocket(t, p.url("/admin"), o)
		welcomes := make(chan welcome, 4)
		s.On("welcome", func(w welcome) { welcomes <- w })
		s.Connect()
		var ce *client.ConnectError
		if err := s.WaitConnect(ctxT(t)); !errors.As(err, &ce) || ce.Message != "not authorized" {
			t.Fatalf("with the wrong token: %v", err)
		}

		// After a refusal: SetAuth, then Connect.
		s.SetAuth(map[string]string{"token": "secret", "user": "bob"})
		connect(t, s)
		if w := recv(t, welcomes, "welcome"); w.Auth["user"] != "bob" {
			t.Fatalf("auth after SetAuth: %v", w.Auth)
		}

		// While connected, for the next reconnection.
		s.SetAuth(func() any { return map[string]string{"token": "secret", "user": "carol"} })
		if _, ok := s.Auth().(func() any); !ok {
			t.Fatalf("Auth() is %T", s.Auth())
		}
		if err := s.Emit("drop-me", s.Manager().Engine().ID()); err != nil {
			t.Fatal(err)
		}
		if w := recv(t, welcomes, "welcome after reconnection"); w.Auth["user"] != "carol" {
			t.Fatalf("auth after a reconnection: %v", w.Auth)
		}

		// Manager.Socket with options for a namespace that has its Socket:
		// the same Socket, with the new options.
		s.Disconnect()
		same := s.Manager().Socket("/admin", &client.SocketOptions{
			Auth:       map[string]string{"token": "secret", "user": "dave"},
			AckTimeout: 100 * time.Millisecond,
		})
		if same != s {
			t.Fatal("Manager.Socket created a second Socket for a namespace")
		}
		connect(t, s)
		if w := recv(t, welcomes, "welcome"); w.Auth["user"] != "dave" {
			t.Fatalf("auth after Manager.Socket: %v", w.Auth)
		}
		if _, err := s.EmitWithAck(ctxT(t), "drop-first", 1); !errors.Is(err, client.ErrTimeout) {
			t.Fatalf("AckTimeout from Manager.Socket: %v", err)
		}
		if s.Manager().Socket("/admin", nil) != s || s.Auth() == nil {
			t.Fatal("Manager.Socket with nil options changed the Socket")
		}
	})
}

// TestAuthShape: an auth function of another type than func() any is
// refused where it is given, not at each connection.
func TestAuthShape(t *testing.T) {
	bad := func() map[string]string { return nil }
	o := testOptions()
	o.Auth = bad
	if _, err := client.NewSocket("http://127.0.0.1:1", o); err == nil || !strings.Contains(err.Error(), "func() map[string]string") {
		t.Fatalf("NewSocket: %v", err)
	}
	if _, err := client.NewManager("http://127.0.0.1:1", o); err == nil {
		t.Fatal("NewManager accepted the auth function")
	}
	m, err := client.NewManager("http://127.0.0.1:1", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := m.Socket("/", nil)
	for want, set := range map[string]func(){
		"client: Socket.SetAuth: auth is a value or a non-nil func() any, not func() map[string]string": func() { s.SetAuth(bad) },
		"client: Manager.Socket: auth is a value or a non-nil func() any, not func() map[string]string": func() {
			m.Socket("/", &client.SocketOptions{Auth: bad})
		},
	} {
		got := func() (msg string) {
			defer func() { msg, _ = recover().(string) }()
			set()
			return "no panic"
		}()
		if got != want {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	}
}
