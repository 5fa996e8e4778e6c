package adapter

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
)

// MarshalJSON encodes the handshake as Node's socket.handshake serializes:
// lowercase header names with their values joined (set-cookie stays a
// list), time as JavaScript's Date string, query values as strings (a list
// for a repeated parameter), so that a handshake sent to a JavaScript
// client reads as the one a Node server would send.
func (h *Handshake) MarshalJSON() ([]byte, error) {
	headers := make(map[string]any, len(h.Headers))
	for _, k := range slices.Sorted(maps.Keys(h.Headers)) {
		vs := h.Headers[k]
		switch name := strings.ToLower(k); name {
		case "set-cookie":
			headers[name] = vs
		case "cookie":
			headers[name] = strings.Join(vs, "; ")
		default:
			headers[name] = strings.Join(vs, ", ")
		}
	}
	query := make(map[string]any, len(h.Query))
	for k, vs := range h.Query {
		if len(vs) == 1 {
			query[k] = vs[0]
		} else {
			query[k] = vs
		}
	}
	auth := h.Auth
	if auth == nil {
		auth = map[string]any{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // as JSON.stringify
	err := enc.Encode(struct {
		Headers map[string]any `json:"headers"`
		Time    string         `json:"time"`
		Address string         `json:"address"`
		XDomain bool           `json:"xdomain"`
		Secure  bool           `json:"secure"`
		Issued  int64          `json:"issued"`
		URL     string         `json:"url"`
		Query   map[string]any `json:"query"`
		Auth    map[string]any `json:"auth"`
	}{
		Headers: headers,
		Time:    h.Time.UTC().Format(jsDateLayout) + " (Coordinated Universal Time)",
		Address: h.Address,
		XDomain: h.XDomain,
		Secure:  h.Secure,
		Issued:  h.Issued,
		URL:     h.URL,
		Query:   query,
		Auth:    auth,
	})
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), err
}

// jsDateLayout is JavaScript's Date.prototype.toString, without the zone's
// name.
const jsDateLayout = "Mon Jan 02 2006 15:04:05 GMT-0700"
