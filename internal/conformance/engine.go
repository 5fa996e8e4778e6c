package main

import (
	"net/http"
	"time"

	"github.com/socketio-go/socketio/engineio"
)

// engineHandler is the echo server of the engine.io-protocol suite: path
// /engine.io/, pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1e6,
// CORS for every origin, and every message sent back as it came.
func engineHandler() http.Handler {
	eio := engineio.NewServer(&engineio.Options{
		PingInterval:      300 * time.Millisecond,
		PingTimeout:       200 * time.Millisecond,
		MaxHTTPBufferSize: 1e6,
		CORS:              &engineio.CORSOptions{Origins: []string{"*"}},
	})
	eio.OnConnection(func(c *engineio.Conn) {
		c.OnMessage(func(data []byte, binary bool) {
			if binary {
				_ = c.SendBinary(data)
			} else {
				_ = c.SendText(data)
			}
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", eio)
	return mux
}
