package client_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio/eioparser"
)

// TestEIO3Wire compares, byte for byte, what the Go server and Node's
// socket.io 4.8.4 with allowEIO3 answer to the same Engine.IO v3
// long-polling requests of a Socket.IO 2.x client: the open packet, the
// implicit CONNECT of the main namespace, pings, events and
// acknowledgements with characters outside the BMP (UTF-16 lengths), a
// namespace joined with query auth and refused, binary acknowledgements as
// XHR2 binary payloads and as base64, JSONP, and the error answers. Session
// ids are replaced by "SID" before the comparison.
func TestEIO3Wire(t *testing.T) {
	var transcripts [2][]string
	for i, mk := range []func(*testing.T, peerOptions) *peer{goPeer, nodePeer} {
		p := mk(t, peerOptions{eio3: true})
		transcripts[i] = eio3Script(t, "http://"+p.addr+"/socket.io/")
	}
	g, n := transcripts[0], transcripts[1]
	for i := 0; i < len(g) || i < len(n); i++ {
		var gs, ns string
		if i < len(g) {
			gs = g[i]
		}
		if i < len(n) {
			ns = n[i]
		}
		if gs != ns {
			t.Errorf("step %d differs:\n  go:   %s\n  node: %s", i, gs, ns)
		}
	}
	if testing.Verbose() {
		t.Logf("transcript:\n%s", strings.Join(n, "\n"))
	}
}

// eio3Script runs the requests against base and returns what came back.
func eio3Script(t *testing.T, base string) []string {
	t.Helper()
	hc := &http.Client{Timeout: wait, Transport: &http.Transport{DisableCompression: true}}
	defer hc.CloseIdleConnections()
	var out []string
	var sids []string
	norm := func(s string) string {
		for _, sid := range sids {
			s = strings.ReplaceAll(s, sid, "SID")
		}
		return s
	}
	do := func(method, query, ctype string, body []byte) (int, string, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+"?"+query, bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, "", []byte("error: " + err.Error())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}
	show := func(ct string, b []byte) string {
		if ct == "application/octet-stream" {
			return "hex " + hex.EncodeToString([]byte(norm(string(b))))
		}
		return fmt.Sprintf("%q", norm(string(b)))
	}
	record := func(what string, status int, ct string, b []byte) {
		out = append(out, fmt.Sprintf("%s: %d %s %s", what, status, ct, show(ct, b)))
	}
	// handshake opens a session and returns its id.
	handshake := func(what, query string) string {
		status, ct, b := do(http.MethodGet, query, "", nil)
		var hs struct {
			SID string `json:"sid"`
		}
		open := b
		if bytes.HasPrefix(b, []byte("___eio[")) { // JSONP: the payload is a JSON string
			var inner string
			if i, j := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')'); i >= 0 && j > i {
				_ = json.Unmarshal(b[i+1:j], &inner)
			}
			open = []byte(inner)
		}
		if i := bytes.Index(open, []byte("{")); i >= 0 {
			end := bytes.LastIndexByte(open, '}')
			_ = json.Unmarshal(open[i:end+1], &hs)
		}
		if hs.SID == "" {
			t.Fatalf("%s: no session in %d %q", what, status, b)
		}
		sids = append(sids, hs.SID)
		record(what, status, ct, b)
		return hs.SID
	}
	// pollUntil polls until n packets came, and records their
	// concatenation (v3 payloads are self-delimiting, so however the
	// packets were split between responses, this is the same).
	pollUntil := func(what, sid string, n int) {
		var all []byte
		var cts []string
		got := 0
		deadline := time.Now().Add(wait)
		for got < n && time.Now().Before(deadline) {
			status, ct, b := do(http.MethodGet, "EIO=3&transport=polling&sid="+sid, "", nil)
			if status != http.StatusOK {
				record(what+" (poll failed)", status, ct, b)
				return
			}
			var packets []eioparser.Packet
			var err error
			if ct == "application/octet-stream" {
				packets, err = eioparser.DecodeBinaryPayloadV3(b, 0)
			} else {
				packets, err = eioparser.DecodePayloadV3(b, 0)
			}
			if err != nil {
				t.Fatalf("%s: payload %q: %v", what, b, err)
			}
			for _, p := range packets {
				if p.Type != eioparser.Noop {
					got++
				}
			}
			all = append(all, b...)
			cts = append(cts, ct)
		}
		record(what, http.StatusOK, strings.Join(cts, ","), all)
	}
	post := func(what, sid, ctype string, body []byte) {
		status, ct, b := do(http.MethodPost, "EIO=3&transport=polling&sid="+sid, ctype, body)
		record(what, status, ct, b)
	}
	const text = "text/plain;charset=UTF-8"
	payload := func(packets ...string) []byte {
		var ps []eioparser.Packet
		for _, s := range packets {
			if b, ok := strings.CutPrefix(s, "bin:"); ok {
				ps = append(ps, eioparser.Packet{Type: eioparser.Message, Data: []byte(b), Binary: true})
				continue
			}
			ps = append(ps, eioparser.Packet{Type: eioparser.Type(s[0] - '0'), Data: []byte(s[1:])})
		}
		return eioparser.AppendPayloadV3(nil, ps)
	}

	// An XHR2 client (no b64): binary payloads.
	sid := handshake("handshake", "EIO=3&transport=polling")
	pollUntil("connect and welcome", sid, 2)
	post("ping", sid, text, payload("2"))
	pollUntil("pong", sid, 1)
	post("event with ack", sid, text, payload(`421["echo",1,"é😀"]`))
	pollUntil("ack", sid, 1)
	post("namespace with query auth", sid, text, payload("40/admin?token=secret,"))
	pollUntil("namespace connect and welcome", sid, 2)
	bin := eioparser.AppendBinaryPayloadV3(nil, []eioparser.Packet{
		{Type: eioparser.Message, Data: []byte(`51-2["echo","x",{"_placeholder":true,"num":0}]`)},
		{Type: eioparser.Message, Data: []byte{1, 2, 3}, Binary: true},
	})
	post("binary event (XHR2 payload)", sid, "application/octet-stream", bin)
	pollUntil("binary ack (XHR2 payload)", sid, 2)
	status, ct, b := do(http.MethodGet, "EIO=4&transport=polling&sid="+sid, "", nil)
	record("protocol mismatch", status, ct, b)

	// A client that asked for base64.
	sid = handshake("handshake b64", "EIO=3&transport=polling&b64=1")
	pollUntil("connect and welcome b64", sid, 2)
	post("binary event (base64)", sid, text, payload(`451-3["echo",{"_placeholder":true,"num":0}]`, "bin:\x07\x08"))
	pollUntil("binary ack (base64)", sid, 2)
	post("namespace refused", sid, text, payload("40/admin?token=bad,"))
	pollUntil("connect error", sid, 1)
	post("invalid namespace", sid, text, payload("40/nope,"))
	pollUntil("invalid namespace error", sid, 1)

	// JSONP.
	handshake("handshake JSONP", "EIO=3&transport=polling&j=3")

	// Errors.
	status, ct, b = do(http.MethodGet, "EIO=3&transport=polling&sid=nope", "", nil)
	record("unknown sid", status, ct, b)
	status, ct, b = do(http.MethodPost, "EIO=3&transport=polling", text, nil)
	record("POST handshake", status, ct, b)
	status, ct, b = do(http.MethodGet, "EIO=3&transport=foo", "", nil)
	record("unknown transport", status, ct, b)
	sid = handshake("handshake for a bad payload", "EIO=3&transport=polling")
	pollUntil("connect and welcome again", sid, 2)
	post("bad payload", sid, text, []byte("7:4hello"))
	time.Sleep(100 * time.Millisecond)
	status, ct, b = do(http.MethodGet, "EIO=3&transport=polling&sid="+sid, "", nil)
	record("after the bad payload", status, ct, b)
	return out
}
