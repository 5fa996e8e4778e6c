package socketio

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/socketio-go/socketio/sioparser"
)

// Socket.IO 2.x clients (Engine.IO protocol v3, engineio.Options.AllowEIO3)
// speak Socket.IO protocol v4, which differs from v5 where Node's server
// makes it differ for them:
//
//   - the server connects the client to the main namespace unprompted,
//     as soon as its connection opens (the client sends no CONNECT for "/");
//   - a CONNECT names the namespace with its query string
//     ("0/admin?token=x,"): the query is the socket's handshake auth, and
//     every packet's namespace is read without it;
//   - the CONNECT answer has no payload, and a socket's id is the
//     Engine.IO session id ("/admin#" + that id in another namespace), as
//     the client computes it;
//   - a middleware's refusal (CONNECT_ERROR) carries the error's data, or
//     its message as a plain string when it has no data.
//
// Everything else (events, acknowledgements, binary attachments,
// DISCONNECT) is encoded alike, so that a broadcast is encoded once for
// both protocols: Engine.IO frames its binary messages for each protocol
// once (see engineio).

// isV3 reports whether the client speaks Engine.IO v3 (Socket.IO v4).
func (c *client) isV3() bool { return c.conn.Protocol() == 3 }

// splitV3Namespace splits the namespace of a v3 client's packet into its
// name and query, as Node reads it (new URL(nsp, base): the pathname, and
// the query before a fragment).
func splitV3Namespace(nsp string) (name, query string) {
	name, query, _ = strings.Cut(nsp, "?")
	name, _, _ = strings.Cut(name, "#")
	query, _, _ = strings.Cut(query, "#")
	return name, query
}

// v3Auth turns a v3 CONNECT's query into the socket's auth, as Node does
// (URLSearchParams, the last of repeated keys winning): string values.
func v3Auth(query string) map[string]any {
	auth := map[string]any{}
	for query != "" {
		var kv string
		kv, query, _ = strings.Cut(query, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		auth[unescapeForm(k)] = unescapeForm(v)
	}
	return auth
}

// unescapeForm decodes an application/x-www-form-urlencoded component
// leniently, as URLSearchParams does: "+" is a space, "%XX" a byte, any
// other "%" itself, and invalid UTF-8 reads as U+FFFD.
func unescapeForm(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(b)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// v3SocketID is the id of a v3 client's socket: the Engine.IO session id,
// prefixed by the namespace and "#" outside the main namespace.
func v3SocketID(nsp, sid string) string {
	if nsp == "/" {
		return sid
	}
	return nsp + "#" + sid
}

// connectErrorData is the payload of a CONNECT_ERROR for a middleware's
// error: {message, data} for v5 clients; for v3 clients, the error's data
// when it is truthy in JavaScript, else its message as a string (Node's
// err.data || err.message).
func (c *client) connectErrorData(err error) []byte {
	payload := connectErrorPayload(err)
	if !c.isV3() {
		return mustJSON(payload)
	}
	if d, ok := payload["data"]; ok {
		if b := mustJSON(d); jsTruthyJSON(b) {
			return b
		}
	}
	return mustJSON(payload["message"])
}

// jsTruthyJSON reports whether a JSON value is truthy in JavaScript.
func jsTruthyJSON(b []byte) bool {
	switch string(b) {
	case "false", "null", `""`:
		return false
	}
	var f float64
	if json.Unmarshal(b, &f) == nil && f == 0 {
		return false
	}
	return true
}

// connectV3Main connects a new v3 client to the main namespace, as Node
// does for Socket.IO 2.x clients, which expect to be connected to it.
func (c *client) connectV3Main() {
	c.connect(&sioparser.Packet{Type: sioparser.Connect, Namespace: "/"}, "")
}
