package client_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/client"
)

type Message struct {
	Room string `json:"room"`
	Text string `json:"text"`
}

// The server of the README's quickstart, in-process.
func exampleServer() (string, func()) {
	srv := socketio.NewServer(&socketio.Options{DisableServeClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv.OnConnection(func(s *socketio.Socket) {
		s.Emit("welcome", map[string]string{"description": "Hello and Welcome to the Server"})
		s.On("join", func(room string, ack func([]string)) { s.Join(room); ack([]string{room}) })
		s.On("chat", func(m Message) { srv.To(m.Room).Emit("chat", m) })
	})
	ts := httptest.NewServer(srv)
	return ts.URL, func() { srv.Close(); ts.Close() }
}

func Example() {
	url, stop := exampleServer()
	defer stop()

	s, _ := client.NewSocket(url, nil) // not connected yet: set the handlers first
	s.On("welcome", func(w struct{ Description string }) { fmt.Println(w.Description) })
	s.On("chat", func(m Message) { fmt.Printf("%s: %s\n", m.Room, m.Text) })
	s.Connect() // in the background; reconnects by itself
	defer s.Disconnect()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, _ := s.EmitWithAck(ctx, "join", "lobby") // sent once connected; waits for the ack
	var rooms []string
	ack.Decode(&rooms)
	fmt.Println("joined", rooms)
	s.Emit("chat", Message{Room: "lobby", Text: "hello"})

	time.Sleep(200 * time.Millisecond) // let the chat come back before Disconnect
	// Handlers run on the client's handler goroutine, concurrently with main.

	// Unordered output:
	// Hello and Welcome to the Server
	// joined [lobby]
	// lobby: hello
}
