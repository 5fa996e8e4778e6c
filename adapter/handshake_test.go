package adapter

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestHandshakeJSON: a handshake sent to a client reads as Node's
// socket.handshake.
func TestHandshakeJSON(t *testing.T) {
	h := &Handshake{
		Headers: http.Header{"User-Agent": {"test"}, "Cookie": {"a=1", "b=2"}, "Set-Cookie": {"x=1"}, "Accept": {"a", "b"}},
		Time:    time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC),
		Address: "127.0.0.1",
		XDomain: true,
		Issued:  1796463000000,
		URL:     "/socket.io/?EIO=4&transport=polling&a=b&r=1&r=2",
		Query:   url.Values{"a": {"b"}, "r": {"1", "2"}},
	}
	b, err := h.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"headers":{"accept":"a, b","cookie":"a=1; b=2","set-cookie":["x=1"],"user-agent":"test"},` +
		`"time":"Sat Dec 05 2026 09:30:00 GMT+0000 (Coordinated Universal Time)","address":"127.0.0.1",` +
		`"xdomain":true,"secure":false,"issued":1796463000000,"url":"/socket.io/?EIO=4&transport=polling&a=b&r=1&r=2",` +
		`"query":{"a":"b","r":["1","2"]},"auth":{}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}
