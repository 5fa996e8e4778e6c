package webtransport

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/socketio-go/socketio/engineio"
)

// Serve and ListenAndServe end with http.ErrServerClosed after Close, as
// http.Server's do, so that programs can tell a shutdown from a failure;
// Serve leaves its socket open.
func TestServeAfterClose(t *testing.T) {
	engine := engineio.NewServer(&engineio.Options{Transports: []string{engineio.Polling, engineio.WebTransport}})
	defer engine.Close()
	cert, err := SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	wt, err := New(engine, &Options{Addr: "127.0.0.1:0", TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ended := make(chan error, 2)
	go func() { ended <- wt.Serve(pc) }()
	go func() { ended <- wt.ListenAndServe() }()
	time.Sleep(100 * time.Millisecond) // both serving, most likely; either way they must end
	if err := wt.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-ended:
			if !errors.Is(err, http.ErrServerClosed) {
				t.Fatalf("ended with %v, want http.ErrServerClosed", err)
			}
		case <-time.After(waitTime):
			t.Fatal("still serving after Close")
		}
	}
	if _, err := pc.WriteTo([]byte("x"), pc.LocalAddr()); err != nil {
		t.Fatalf("the socket was closed: %v", err)
	}
}
