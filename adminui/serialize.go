package adminui

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/socketio-go/socketio"
)

// serializedSocket is a socket as the UI reads it (Node's serialize()).
type serializedSocket struct {
	ID        string          `json:"id"`
	ClientID  string          `json:"clientId"`
	Transport string          `json:"transport"`
	Nsp       string          `json:"nsp"`
	Data      json.RawMessage `json:"data"`
	Handshake handshake       `json:"handshake"`
	Rooms     []string        `json:"rooms"`
}

type handshake struct {
	Address string            `json:"address"`
	Headers map[string]string `json:"headers"`
	Query   map[string]any    `json:"query"`
	Issued  int64             `json:"issued"`
	Secure  bool              `json:"secure"`
	Time    string            `json:"time"`
	URL     string            `json:"url"`
	XDomain bool              `json:"xdomain"`
}

// jsDate is JavaScript's Date.prototype.toString, in UTC.
const jsDate = "Mon Jan 02 2006 15:04:05 GMT+0000 (Coordinated Universal Time)"

// serializeLocal describes a socket of this server.
func serializeLocal(s *socketio.Socket) serializedSocket {
	cid := s.Conn().ID()
	if len(cid) > 12 {
		cid = cid[:12]
	}
	h := s.Handshake()
	headers := lowerHeaders(h.Headers)
	if host := s.Request().Host; host != "" {
		headers["host"] = host
	}
	rooms := s.Rooms()
	if rooms == nil {
		rooms = []string{}
	}
	return serializedSocket{
		ID:        s.ID(),
		ClientID:  cid,
		Transport: s.Transport(),
		Nsp:       s.Namespace().Name(),
		Data:      serializeData(s.Data()),
		Handshake: handshake{
			Address: address(headers, h.Address),
			Headers: headers,
			Query:   query(h.Query),
			Issued:  h.Issued,
			Secure:  h.Secure,
			Time:    h.Time.UTC().Format(jsDate),
			URL:     h.URL,
			XDomain: h.XDomain,
		},
		Rooms: rooms,
	}
}

// serializeRemote describes a socket of another server, from what its
// server answered to FetchSockets. A Node server puts the client id and
// transport in the data's "_admin" key; for others, the socket id stands
// for the client id and the handshake's transport for the transport.
func serializeRemote(nsp string, r *socketio.RemoteSocket) serializedSocket {
	var admin struct {
		Admin struct {
			ClientID  string `json:"clientId"`
			Transport string `json:"transport"`
		} `json:"_admin"`
	}
	var h socketio.Handshake
	if r.Handshake != nil {
		h = *r.Handshake
	}
	_ = r.DecodeData(&admin)
	cid, transport := admin.Admin.ClientID, admin.Admin.Transport
	if cid == "" {
		cid = r.ID
		if len(cid) > 12 {
			cid = cid[:12]
		}
	}
	if transport == "" {
		transport = h.Query.Get("transport")
	}
	headers := lowerHeaders(h.Headers)
	rooms := r.Rooms
	if rooms == nil {
		rooms = []string{}
	}
	t := ""
	if !h.Time.IsZero() {
		t = h.Time.UTC().Format(jsDate)
	}
	return serializedSocket{
		ID:        r.ID,
		ClientID:  cid,
		Transport: transport,
		Nsp:       nsp,
		Data:      serializeData(r.Data),
		Handshake: handshake{
			Address: address(headers, h.Address),
			Headers: headers,
			Query:   query(h.Query),
			Issued:  h.Issued,
			Secure:  h.Secure,
			Time:    t,
			URL:     h.URL,
			XDomain: h.XDomain,
		},
		Rooms: rooms,
	}
}

// address is Node's choice: the proxies' headers, else the peer's IP.
func address(headers map[string]string, peer string) string {
	if v := headers["cf-connecting-ip"]; v != "" {
		return v
	}
	if v := headers["x-forwarded-for"]; v != "" {
		return v
	}
	return peer
}

// lowerHeaders gives headers as Node's request has them: lower-case names,
// repeated values joined.
func lowerHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h)+1)
	for k, vs := range h {
		name := strings.ToLower(k)
		sep := ", "
		if name == "cookie" {
			sep = "; "
		}
		out[name] = strings.Join(vs, sep)
	}
	return out
}

// query gives a query as Node parses it: a string, or an array for a
// repeated key.
func query(q url.Values) map[string]any {
	out := make(map[string]any, len(q))
	for k, vs := range q {
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			out[k] = vs
		}
	}
	return out
}

// serializeData is a socket's data as the UI shows it: a JSON object
// (without the "_admin" key a Node server adds), {} when there is none or
// it is not an object.
func serializeData(v any) json.RawMessage {
	keys, vals := dataKeys(v)
	if len(keys) == 0 {
		return json.RawMessage("{}")
	}
	m := make(map[string]json.RawMessage, len(keys))
	for i, k := range keys {
		m[k] = vals[i]
	}
	return orderedObject(keys, m)
}

// dataKeys splits a data value into its keys, in order, and their JSON
// values, leaving out "_admin".
func dataKeys(v any) ([]string, []json.RawMessage) {
	if v == nil {
		return nil, nil
	}
	raw, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return nil, nil
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil
	}
	var keys []string
	var vals []json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil
		}
		k, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, nil
		}
		if k == "_admin" {
			continue
		}
		keys = append(keys, k)
		vals = append(vals, val)
	}
	return keys, vals
}

// orderedObject writes the JSON object of keys, in their order.
func orderedObject(keys []string, vals map[string]json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vals[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// allSockets describes every socket of every namespace, across the
// cluster.
func (ui *AdminUI) allSockets(ctx context.Context) []serializedSocket {
	out := []serializedSocket{}
	for _, n := range ui.srv.Namespaces() {
		remote, err := n.FetchSockets(ctx)
		if err != nil {
			ui.log.Warn("adminui: cannot fetch the sockets", "namespace", n.Name(), "err", err)
			remote = nil
			for _, s := range n.Sockets() {
				out = append(out, serializeLocal(s))
			}
			continue
		}
		for _, r := range remote {
			if s := n.Socket(r.ID); s != nil {
				out = append(out, serializeLocal(s))
			} else {
				out = append(out, serializeRemote(n.Name(), r))
			}
		}
	}
	return out
}

// sessionStore keeps the session ids of logged-in UIs, bounded in number
// and age (Node's InMemoryStore keeps them forever).
type sessionStore struct {
	ttl time.Duration
	max int

	mu    sync.Mutex
	ids   map[string]time.Time // guarded by mu; id -> expiry
	order []string             // guarded by mu; ids, oldest first
}

func (st *sessionStore) init(ttl time.Duration, max int) {
	st.ttl, st.max = ttl, max
	st.ids = make(map[string]time.Time)
}

func (st *sessionStore) add(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for len(st.order) >= st.max {
		delete(st.ids, st.order[0])
		st.order = st.order[1:]
	}
	st.ids[id] = time.Now().Add(st.ttl)
	st.order = append(st.order, id)
}

func (st *sessionStore) valid(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	exp, ok := st.ids[id]
	return ok && time.Now().Before(exp)
}
