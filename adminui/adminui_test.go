package adminui_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/socketio-go/socketio"
	"github.com/socketio-go/socketio/adminui"
	"github.com/socketio-go/socketio/client"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 10 * time.Second

// The README's example hash of "changeit" (bcryptjs, $2b$, cost 10).
const changeitHash = "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS"

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type fixture struct {
	srv *socketio.Server
	ui  *adminui.AdminUI
	url string
}

// newServer starts a server with an application on "/" (as the chat demo:
// a middleware sets the data, join with an acknowledgement, messages to a
// room, a binary event) and the admin namespace.
func newServer(t *testing.T, opts *adminui.Options) *fixture {
	t.Helper()
	srv := socketio.NewServer(&socketio.Options{Logger: quiet(), DisableServeClient: true})
	app(srv)
	if opts == nil {
		opts = &adminui.Options{Auth: &adminui.BasicAuth{Username: "admin", Password: changeitHash}}
	}
	opts.Logger = quiet()
	if opts.StatsInterval == 0 {
		opts.StatsInterval = 200 * time.Millisecond
	}
	ui, err := adminui.Instrument(srv, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ui.Close()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	return &fixture{srv: srv, ui: ui, url: ts.URL}
}

type data struct {
	Name     string `json:"name"`
	LastRoom string `json:"lastRoom,omitempty"`
}

func app(srv *socketio.Server) {
	srv.Use(func(s *socketio.Socket) error {
		name, _ := s.Handshake().Auth["name"].(string)
		s.SetData(data{Name: name})
		return nil
	})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("join", func(room string, ack func([]string)) {
			s.Join(room)
			d := s.Data().(data)
			d.LastRoom = room
			s.SetData(d)
			if ack != nil {
				ack(s.Rooms())
			}
		})
		s.On("message", func(text string) {
			d := s.Data().(data)
			_ = s.To(d.LastRoom).Emit("message", map[string]string{"from": d.Name, "text": text})
		})
		s.On("blob", func([]byte) {})
	})
}

// recorder is a Go client playing the UI: it records every event.
type recorder struct {
	sock *client.Socket
	mu   sync.Mutex
	evs  []event
	more chan struct{}
}

type event struct {
	name string
	args []json.RawMessage
}

func login(t *testing.T, url string, auth map[string]any) (*recorder, error) {
	t.Helper()
	r := &recorder{more: make(chan struct{}, 1)}
	s, err := client.NewSocket(url+"/admin", &client.Options{Auth: auth, ForceNew: true, ReconnectionAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.OnAny(func(name string, args client.Args) {
		ev := event{name: name}
		for i := range args.Len() {
			ev.args = append(ev.args, args.Raw(i))
		}
		r.mu.Lock()
		r.evs = append(r.evs, ev)
		r.mu.Unlock()
		select {
		case r.more <- struct{}{}:
		default:
		}
	})
	connected := make(chan error, 1)
	s.OnConnect(func() { connected <- nil })
	s.OnConnectError(func(err error) { connected <- err })
	s.Connect()
	t.Cleanup(s.Disconnect)
	select {
	case err := <-connected:
		if err != nil {
			s.Disconnect()
			return nil, err
		}
	case <-time.After(wait):
		t.Fatal("no answer to the admin's CONNECT")
	}
	r.sock = s
	return r, nil
}

// waitFor returns the first recorded event (from index from) that
// matches, waiting for it.
func (r *recorder) waitFor(t *testing.T, what string, match func(event) bool) event {
	t.Helper()
	deadline := time.After(wait)
	for {
		r.mu.Lock()
		for _, ev := range r.evs {
			if match(ev) {
				r.mu.Unlock()
				return ev
			}
		}
		r.mu.Unlock()
		select {
		case <-r.more:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			names := []string{}
			for _, ev := range r.evs {
				names = append(names, ev.name)
			}
			t.Fatalf("%s: not received; got %v", what, names)
		}
	}
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.evs {
		out = append(out, ev.name)
	}
	return out
}

func named(name string, args ...string) func(event) bool {
	return func(ev event) bool {
		if ev.name != name || len(ev.args) < len(args) {
			return false
		}
		for i, a := range args {
			if a != "" && string(ev.args[i]) != a {
				return false
			}
		}
		return true
	}
}

func q(s string) string { b, _ := json.Marshal(s); return string(b) }

func connectApp(t *testing.T, url, name string, opts *client.Options) *client.Socket {
	t.Helper()
	if opts == nil {
		opts = &client.Options{}
	}
	opts.Auth = map[string]any{"name": name}
	opts.ForceNew = true
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := client.Connect(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Disconnect)
	return c
}

func TestAuth(t *testing.T) {
	f := newServer(t, nil)
	for _, auth := range []map[string]any{
		{"username": "admin", "password": "wrong"},
		{"username": "admin"}, // Node crashes on this one
		{"username": "admin", "password": 42},
		{"username": "root", "password": "changeit"},
		{"sessionId": nil},
		{"sessionId": "0123456789abcdef"},
		{},
	} {
		_, err := login(t, f.url, auth)
		var ce *client.ConnectError
		if !errors.As(err, &ce) || ce.Message != "invalid credentials" {
			t.Errorf("auth %v: %v, want the connect error \"invalid credentials\"", auth, err)
		}
	}
	r, err := login(t, f.url, map[string]any{"username": "admin", "password": "changeit"})
	if err != nil {
		t.Fatal(err)
	}
	ev := r.waitFor(t, "session", named("session"))
	var id string
	if err := json.Unmarshal(ev.args[0], &id); err != nil || !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
		t.Fatalf("session %s", ev.args[0])
	}
	cfg := r.waitFor(t, "config", named("config"))
	if got := string(cfg.args[0]); got != `{"supportedFeatures":["EMIT","JOIN","LEAVE","DISCONNECT","MJOIN","MLEAVE","MDISCONNECT","AGGREGATED_EVENTS","ALL_EVENTS"]}` {
		t.Errorf("config %s", got)
	}
	r.waitFor(t, "all_sockets", named("all_sockets"))
	// The order the UI sees: session after the CONNECT (so that it keeps
	// it), then config, then the socket list.
	names := r.names()
	if i, j, k := slices.Index(names, "session"), slices.Index(names, "config"), slices.Index(names, "all_sockets"); !(i < j && j < k) {
		t.Errorf("order %v", names)
	}
	// A reload logs in with the session id alone.
	if _, err := login(t, f.url, map[string]any{"sessionId": id}); err != nil {
		t.Fatalf("with the session id: %v", err)
	}
}

func TestInstrumentOptions(t *testing.T) {
	srv := socketio.NewServer(&socketio.Options{Logger: quiet(), DisableServeClient: true})
	defer srv.Close()
	if _, err := adminui.Instrument(srv, nil); !errors.Is(err, adminui.ErrNoAuth) {
		t.Errorf("no auth: %v", err)
	}
	if _, err := adminui.Instrument(srv, &adminui.Options{Auth: &adminui.BasicAuth{Username: "a", Password: "changeit"}}); err == nil {
		t.Error("a plain password was accepted as a hash")
	}
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		h := prefix + strings.TrimPrefix(changeitHash, "$2b$")
		if bcrypt.CompareHashAndPassword([]byte(h), []byte("changeit")) != nil {
			t.Errorf("%s: Go's bcrypt refuses the hash", prefix)
		}
	}
}

func TestEvents(t *testing.T) {
	f := newServer(t, nil)
	r, err := login(t, f.url, map[string]any{"username": "admin", "password": "changeit"})
	if err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "all_sockets", named("all_sockets"))

	alice := connectApp(t, f.url, "alice", &client.Options{Transports: []string{"websocket"}})
	bob := connectApp(t, f.url, "bob", nil)
	aid, bid := alice.ID(), bob.ID()

	// socket_connected with the socket as the UI reads it.
	ev := r.waitFor(t, "alice connected", func(ev event) bool { return ev.name == "socket_connected" && strings.Contains(string(ev.args[0]), aid) })
	var ss map[string]any
	if err := json.Unmarshal(ev.args[0], &ss); err != nil {
		t.Fatal(err)
	}
	if ss["id"] != aid || ss["nsp"] != "/" || ss["transport"] != "websocket" || len(ss["clientId"].(string)) != 12 {
		t.Errorf("socket_connected %s", ev.args[0])
	}
	if d, _ := json.Marshal(ss["data"]); string(d) != `{"name":"alice"}` {
		t.Errorf("data %s", d)
	}
	hs := ss["handshake"].(map[string]any)
	if hs["address"] != "127.0.0.1" || hs["headers"].(map[string]any)["host"] == nil || hs["query"].(map[string]any)["EIO"] != "4" {
		t.Errorf("handshake %v", hs)
	}
	if _, ok := hs["issued"].(float64); !ok {
		t.Errorf("issued %v is not a number", hs["issued"])
	}
	if !regexp.MustCompile(`^[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d{4} \d\d:\d\d:\d\d GMT\+0000 \(Coordinated Universal Time\)$`).MatchString(hs["time"].(string)) {
		t.Errorf("time %v", hs["time"])
	}
	if rooms := ss["rooms"].([]any); len(rooms) != 1 || rooms[0] != aid {
		t.Errorf("rooms %v", rooms)
	}
	if !regexp.MustCompile(`^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$`).MatchString(string(ev.args[1])) {
		t.Errorf("timestamp %s", ev.args[1])
	}
	r.waitFor(t, "alice's own room", named("room_joined", q("/"), q(aid), q(aid)))
	// bob upgrades after connecting (socket_updated), or before (then
	// socket_connected says websocket already).
	r.waitFor(t, "bob upgraded", func(ev event) bool {
		return named("socket_updated", `{"id":`+q(bid)+`,"nsp":"/","transport":"websocket"}`)(ev) ||
			ev.name == "socket_connected" && strings.Contains(string(ev.args[0]), `"id":`+q(bid)+`,"clientId":`) && strings.Contains(string(ev.args[0]), `"transport":"websocket"`)
	})

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, c := range []*client.Socket{alice, bob} {
		if _, err := c.EmitWithAck(ctx, "join", "gophers"); err != nil {
			t.Fatal(err)
		}
	}
	r.waitFor(t, "join received", named("event_received", q("/"), q(aid), `["join","gophers"]`))
	r.waitFor(t, "room joined", named("room_joined", q("/"), q("gophers"), q(aid)))
	r.waitFor(t, "data updated", named("socket_updated", `{"id":`+q(aid)+`,"nsp":"/","data":{"name":"alice","lastRoom":"gophers"}}`))
	got := make(chan struct{}, 1)
	alice.On("message", func(map[string]string) { got <- struct{}{} })
	if err := bob.Emit("message", "hi gophers"); err != nil {
		t.Fatal(err)
	}
	<-got
	r.waitFor(t, "event sent", named("event_sent", q("/"), q(aid), `["message",{"from":"bob","text":"hi gophers"}]`))
	if err := bob.Emit("blob", []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	// Binary arguments go to the UI as binary (a BINARY_EVENT).
	r.waitFor(t, "binary event", named("event_received", q("/"), q(bid), `["blob",{"_placeholder":true,"num":0}]`))

	// The actions.
	if err := r.sock.Emit("join", "/", "vip", aid); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "admin join", named("room_joined", q("/"), q("vip"), q(aid)))
	if err := r.sock.Emit("leave", "/", "gophers"); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "admin leave", named("room_left", q("/"), q("gophers"), q(bid)))
	r.waitFor(t, "admin leave", named("room_left", q("/"), q("gophers"), q(aid)))
	announced := make(chan string, 1)
	alice.On("announcement", func(m map[string]string) { announced <- m["text"] })
	if err := r.sock.Emit("emit", "/", "vip", "announcement", map[string]string{"text": "from the admin"}); err != nil {
		t.Fatal(err)
	}
	if got := <-announced; got != "from the admin" {
		t.Errorf("announcement %q", got)
	}
	// Reserved names, unknown namespaces and wrong types are ignored.
	_ = r.sock.Emit("emit", "/", nil, "connect")
	_ = r.sock.Emit("join", "/nowhere", "room")
	_ = r.sock.Emit("_disconnect", "/", "yes", aid)

	reason := make(chan client.DisconnectReason, 1)
	alice.OnDisconnect(func(rs client.DisconnectReason, _ error) { reason <- rs })
	if err := r.sock.Emit("_disconnect", "/", false, aid); err != nil {
		t.Fatal(err)
	}
	if got := <-reason; got != "io server disconnect" {
		t.Errorf("alice's reason %q", got)
	}
	r.waitFor(t, "alice disconnected", named("socket_disconnected", q("/"), q(aid), q("server namespace disconnect")))
	r.waitFor(t, "alice left her rooms", named("room_left", q("/"), q(aid), q(aid)))
	for _, n := range f.srv.Namespaces() {
		if n.Name() == "/nowhere" {
			t.Error("an action created a namespace")
		}
	}

	// Statistics.
	ev = r.waitFor(t, "server_stats", named("server_stats"))
	var st map[string]any
	if err := json.Unmarshal(ev.args[0], &st); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"serverId", "hostname", "pid", "uptime", "clientsCount", "pollingClientsCount", "aggregatedEvents", "namespaces"} {
		if _, ok := st[k]; !ok {
			t.Errorf("server_stats without %s: %s", k, ev.args[0])
		}
	}
}

func TestModes(t *testing.T) {
	t.Run("readonly", func(t *testing.T) {
		f := newServer(t, &adminui.Options{NoAuth: true, ReadOnly: true})
		r, err := login(t, f.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg := r.waitFor(t, "config", named("config"))
		if got := string(cfg.args[0]); got != `{"supportedFeatures":["AGGREGATED_EVENTS","ALL_EVENTS"]}` {
			t.Errorf("config %s", got)
		}
		alice := connectApp(t, f.url, "alice", nil)
		r.waitFor(t, "all_sockets", named("all_sockets"))
		_ = r.sock.Emit("_disconnect", "/", true, alice.ID())
		_ = r.sock.Emit("join", "/", "vip", alice.ID())
		// The actions are not handled: an ack of an event sent after them
		// comes while alice is still connected and in her own room only.
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		rooms, err := alice.EmitWithAck(ctx, "join", "check")
		if err != nil {
			t.Fatal(err)
		}
		if got := rooms.String(); got != `[[`+q(alice.ID())+`,"check"]]` {
			t.Errorf("rooms %s", got)
		}
	})
	t.Run("production", func(t *testing.T) {
		f := newServer(t, &adminui.Options{NoAuth: true, Production: true})
		r, err := login(t, f.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg := r.waitFor(t, "config", named("config"))
		if got := string(cfg.args[0]); got != `{"supportedFeatures":["EMIT","JOIN","LEAVE","DISCONNECT","MJOIN","MLEAVE","MDISCONNECT","AGGREGATED_EVENTS"]}` {
			t.Errorf("config %s", got)
		}
		connectApp(t, f.url, "alice", nil)
		r.waitFor(t, "server_stats", named("server_stats"))
		r.waitFor(t, "second server_stats", func(ev event) bool {
			return ev.name == "server_stats" && strings.Contains(string(ev.args[0]), `{"name":"/","socketsCount":1}`)
		})
		for _, n := range r.names() {
			if n != "config" && n != "server_stats" {
				t.Errorf("production mode sent %s", n)
			}
		}
	})
	t.Run("namespace", func(t *testing.T) {
		f := newServer(t, &adminui.Options{NoAuth: true, Namespace: "/ops"})
		_, err := login(t, f.url, nil)
		var ce *client.ConnectError
		if !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
			t.Errorf("/admin: %v", err)
		}
	})
}

func TestHandler(t *testing.T) {
	ts := httptest.NewServer(adminui.Handler(&adminui.HandlerOptions{Logger: quiet()}))
	defer ts.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Get(ts.URL + "/admin?x=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/admin/?x=1" {
		t.Fatalf("/admin: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	get := func(path string) (string, *http.Response) {
		t.Helper()
		res, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d (run npm ci at the repository root)", path, res.StatusCode)
		}
		return string(b), res
	}
	index, res := get("/admin/")
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(index, "Socket.IO Admin UI") {
		t.Fatalf("index: %s %.100s", res.Header.Get("Content-Type"), index)
	}
	if strings.Contains(index, "https://") || !strings.Contains(index, `href="mdi/css/materialdesignicons.min.css"`) {
		t.Errorf("index still links outside: %s", index)
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(index, -1) {
		get("/admin/" + m[1])
	}
	css, _ := get("/admin/mdi/css/materialdesignicons.min.css")
	font := regexp.MustCompile(`url\("?\.\./(fonts/materialdesignicons-webfont\.woff2)`).FindStringSubmatch(css)
	if font == nil {
		t.Fatal("no woff2 font in the icon CSS")
	}
	get("/admin/mdi/" + font[1])
}
