package client_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/sioparser"
)

// recordManager records the Manager's events as text, in the order its
// handlers ran.
func recordManager(m *client.Manager, packets bool) chan string {
	events := make(chan string, 64)
	m.OnOpen(func() { events <- "open" })
	m.OnClose(func(r client.DisconnectReason, err error) { events <- "close " + string(r) })
	m.OnError(func(err error) { events <- "error" })
	m.OnUpgrade(func(transport string) { events <- "upgrade " + transport })
	m.OnReconnectAttempt(func(n int) { events <- fmt.Sprint("reconnect_attempt ", n) })
	m.OnReconnect(func(n int) { events <- fmt.Sprint("reconnect ", n) })
	m.OnReconnectError(func(err error) { events <- "reconnect_error" })
	m.OnReconnectFailed(func() { events <- "reconnect_failed" })
	if packets {
		m.OnPacket(func(p sioparser.Packet) {
			name := ""
			if p.Type == sioparser.Event {
				name = " " + strings.SplitN(strings.Trim(string(p.Data), "[]"), ",", 2)[0]
			}
			events <- fmt.Sprintf("packet %s %s%s", p.Type, p.Namespace, name)
		})
	}
	return events
}

// expectEvents reads len(want) events and compares them with want.
func expectEvents(t *testing.T, events chan string, want ...string) {
	t.Helper()
	var got []string
	for range want {
		got = append(got, recv(t, events, strings.Join(want, ", ")))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Manager events:\n got %q\nwant %q", got, want)
	}
}

// TestManagerEvents: open, packet, close, reconnect_attempt, reconnect,
// in the JavaScript client's order, then the close of Disconnect.
func TestManagerEvents(t *testing.T) {
	forEachPeer(t, peerOptions{}, func(t *testing.T, p *peer) {
		s, err := client.NewSocket(p.url("/"), testOptions("websocket"))
		if err != nil {
			t.Fatal(err)
		}
		events := recordManager(s.Manager(), true)
		welcomes := make(chan struct{}, 2)
		s.On("welcome", func(client.Args) { welcomes <- struct{}{} })
		connect(t, s)
		recv(t, welcomes, "welcome")
		expectEvents(t, events, "open", "packet CONNECT /", `packet EVENT / "welcome"`)

		if err := s.Emit("drop-me", s.Manager().Engine().ID()); err != nil {
			t.Fatal(err)
		}
		recv(t, welcomes, "welcome after reconnection")
		expectEvents(t, events, "close transport close", "reconnect_attempt 1", "open", "reconnect 1",
			"packet CONNECT /", `packet EVENT / "welcome"`)
		s.Disconnect()
		expectEvents(t, events, "close forced close")
	})
}

// TestManagerUpgradeEvent: the Engine.IO upgrade reaches the Manager's
// handlers, after its open.
func TestManagerUpgradeEvent(t *testing.T) {
	forEachPeer(t, peerOptions{}, func(t *testing.T, p *peer) {
		s, err := client.NewSocket(p.url("/"), testOptions())
		if err != nil {
			t.Fatal(err)
		}
		events := recordManager(s.Manager(), false)
		connect(t, s)
		defer s.Disconnect()
		expectEvents(t, events, "open", "upgrade websocket")
	})
}

// TestManagerPingEvent: each ping of the server is a "ping" event.
func TestManagerPingEvent(t *testing.T) {
	forEachPeer(t, peerOptions{pingInterval: 100 * time.Millisecond, pingTimeout: time.Second}, func(t *testing.T, p *peer) {
		o := testOptions()
		o.Transports = []string{"websocket"}
		s, err := client.NewSocket(p.url("/"), o)
		if err != nil {
			t.Fatal(err)
		}
		events := make(chan string, 16)
		s.Manager().OnPing(func() { events <- "ping" })
		connect(t, s)
		defer s.Disconnect()
		expectEvents(t, events, "ping", "ping")
	})
}

// TestManagerErrorEvents: each failed attempt is an "error", then the
// reconnection events of the JavaScript client, in its order.
func TestManagerErrorEvents(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	o := testOptions()
	o.ReconnectionAttempts = 2
	s := newSocket(t, "http://"+addr, o)
	events := recordManager(s.Manager(), true)
	s.Connect()
	expectEvents(t, events, "error",
		"reconnect_attempt 1", "error", "reconnect_error",
		"reconnect_attempt 2", "error", "reconnect_failed", "reconnect_error")
}
