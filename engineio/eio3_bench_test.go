package engineio

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/eioparser"
)

// BenchmarkPollingEcho measures one long-polling round trip of a session:
// a POST of one message, echoed by the server, and the GET that carries
// the echo back, for a v4 client and a v3 (Socket.IO 2.x) client.
func BenchmarkPollingEcho(b *testing.B) {
	const msg = `2["chat",{"room":"lobby","text":"héllo wörld, 😀 and some more text"}]`
	for _, v := range []struct{ name, eio, post string }{
		{"v4", "4", "4" + msg},
		{"v3", "3", string(eioparser.AppendPayloadV3(nil, []eioparser.Packet{{Type: eioparser.Message, Data: []byte(msg)}}))},
	} {
		b.Run(v.name, func(b *testing.B) {
			srv := NewServer(&Options{PingInterval: time.Hour, AllowEIO3: true})
			srv.OnConnection(func(c *Conn) {
				c.OnMessage(func(data []byte, binary bool) { _ = c.SendText(data) })
			})
			ts := httptest.NewServer(srv)
			defer ts.Close()
			defer srv.Close()
			hc := ts.Client()
			get := func(q string) string {
				resp, err := hc.Get(ts.URL + "/?EIO=" + v.eio + "&transport=polling" + q)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return string(body)
			}
			open := get("")
			i := strings.Index(open, `"sid":"`)
			sid := open[i+7 : i+7+20]
			url := ts.URL + "/?EIO=" + v.eio + "&transport=polling&sid=" + sid
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				resp, err := hc.Post(url, "text/plain;charset=UTF-8", strings.NewReader(v.post))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				resp, err = hc.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("poll: %d", resp.StatusCode)
				}
			}
		})
	}
}
