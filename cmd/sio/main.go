// Command sio is a Socket.IO command-line client: it prints the events a
// server sends, or emits one and prints its acknowledgement.
//
//	sio listen URL [-e EVENT]... [--count N] [--first 'EVENT ARG...']...
//	sio emit URL EVENT ARG... [--ack] [--first 'EVENT ARG...']...
//	sio emit URL EVENT --no-args [--ack]
//	sio help [listen|emit]
//
// Common options: --auth JSON, --header "Name: value" (repeatable),
// --query k=v (repeatable), --transport polling|websocket, --path /socket.io,
// --insecure (skip TLS verification).
//
// A URL without a scheme means http:// (localhost:3000 is
// http://localhost:3000/). The URL's path is the namespace unless -n is
// given. Received events are printed one per line as JSON:
// {"event":"chat","args":[...]} (binary values as base64 strings). emit's
// arguments are JSON values; an argument that is not valid JSON is sent as a
// string. An event without arguments takes --no-args, so that a forgotten
// argument is an error rather than an event the server reads as "". --first
// emits an event once connected, before anything else (for instance to join
// a room). Exit status: 0 on success (and for help), 1 when the server
// cannot be reached, refuses the namespace or does not acknowledge in time,
// 2 on a usage error.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/socketio-go/socketio/client"
	"github.com/socketio-go/socketio/sioparser"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// commands are the topics of sio help, with their synopses.
var commands = []struct{ name, synopsis string }{
	{"listen", `  sio listen URL [-e EVENT]... [--count N] [--first 'EVENT ARG...']... [options]
      print received events, one JSON line each: {"event":...,"args":[...]}
`},
	{"emit", `  sio emit URL EVENT ARG... [--ack] [--first 'EVENT ARG...']... [options]
  sio emit URL EVENT --no-args [--ack] [options]
      emit an event; with --ack, wait for the acknowledgement and print it
`},
}

// options are the rows of the usage's option table; only names the
// command a row is for ("" for both).
var options = []struct{ only, flag, text string }{
	{"", "-n, --namespace NSP", "namespace (default: the URL's path, or /)"},
	{"listen", "-e, --event NAME", "only this event (repeatable)"},
	{"listen", "    --count N", "exit after N events"},
	{"emit", "    --ack", "wait for the acknowledgement and print it"},
	{"emit", "    --no-args", "emit the event without arguments"},
	{"", "    --first 'EVENT ARG...'", "emit EVENT first, once connected (listen: also after\n" +
		"a reconnection that lost the session); prints its\n" +
		"acknowledgement on stderr; repeatable: --first 'join red'"},
	{"", "    --timeout D", "connection and acknowledgement timeout (default 10s)"},
	{"", "    --auth JSON", "auth object sent with the connection"},
	{"", "-H, --header \"K: V\"", "extra HTTP header (repeatable)"},
	{"", "    --query K=V", "extra query parameter (repeatable)"},
	{"", "    --transport T", "polling or websocket (default: polling, upgraded)"},
	{"", "    --path P", "server path (default /socket.io)"},
	{"", "    --insecure", "do not verify TLS certificates"},
	{"", "-h, --help", "print this help"},
}

const usageNotes = `
URL is [http://]host:port[/namespace]: without a scheme, http:// is meant; the
path is the namespace (default /).
ARG is a JSON value ('{"a":1}', '"red"', 42, true), or else sent as a string
(red). In --first, the words after EVENT are JSON values, or else one string.
`

// examples run against the chat demo (make demo): a socket starts in the
// room "lobby", "join" moves it, "message" goes to the sender's room.
const examples = `
examples, against the chat demo (make demo), each pair in two terminals:
  sio listen localhost:3000 -e message                 # the lobby's messages
  sio emit localhost:3000 message 'hello lobby' --ack  # a new socket starts in the lobby

  sio listen localhost:3000 -e message --first 'join red'
  sio emit localhost:3000 message 'hello red' --first 'join red' --ack
`

// synopsis is the command lines of one command, or of all for "".
func synopsis(cmd string) string {
	var b strings.Builder
	b.WriteString("usage:\n")
	for _, c := range commands {
		if cmd == "" || cmd == c.name {
			b.WriteString(c.synopsis)
		}
	}
	if cmd == "" {
		b.WriteString("  sio help [listen|emit]\n      this help, or a command's (also sio -h, sio CMD --help)\n")
	}
	return b.String()
}

// usage is the help of one command, or of all for "".
func usage(cmd string) string {
	var b strings.Builder
	b.WriteString(synopsis(cmd))
	b.WriteString(usageNotes)
	b.WriteString("\noptions:\n")
	for _, o := range options {
		if o.only != "" && cmd != "" && o.only != cmd {
			continue
		}
		text := o.text
		if o.only != "" && cmd == "" {
			text = o.only + ": " + text
		}
		text = strings.ReplaceAll(text, "\n", "\n"+strings.Repeat(" ", 28))
		if len(o.flag) > 24 {
			fmt.Fprintf(&b, "  %s\n  %-24s  %s\n", o.flag, "", text)
		} else {
			fmt.Fprintf(&b, "  %-24s  %s\n", o.flag, text)
		}
	}
	b.WriteString(examples)
	return b.String()
}

// config is the parsed command line.
type config struct {
	cmd        string
	help       bool // print the usage of cmd ("" for all) and exit 0
	url        string
	event      string
	args       []string
	noArgs     bool
	first      []firstEmit
	namespace  string
	events     []string
	count      int
	ack        bool
	timeout    time.Duration
	auth       json.RawMessage
	header     http.Header
	query      url.Values
	transports []string
	path       string
	insecure   bool
}

// firstEmit is an event of --first.
type firstEmit struct {
	event string
	args  []any
}

// usageError is a command-line mistake (exit status 2); cmd names the
// command whose usage follows the message.
type usageError struct{ msg, cmd string }

func (e *usageError) Error() string { return e.msg }

// isHelp reports whether argv asks for help; topic is the command it is
// about, "" for all. Help wins over any other mistake on the line, as with
// most tools.
func isHelp(argv []string) (topic string, ok bool) {
	for _, a := range argv {
		if a == "--" {
			break
		}
		switch {
		case a == "-h" || a == "--help" || a == "-help":
			ok = true
		case topic == "" && !strings.HasPrefix(a, "-"):
			topic = a
		}
	}
	if topic != "listen" && topic != "emit" {
		topic = ""
	}
	return topic, ok
}

func parseArgs(argv []string) (*config, error) {
	if topic, ok := isHelp(argv); ok {
		return &config{cmd: topic, help: true}, nil
	}
	c := &config{timeout: 10 * time.Second, header: http.Header{}, query: url.Values{}}
	var pos []string
	value := func(i *int, name string) (string, error) {
		if *i+1 >= len(argv) {
			return "", &usageError{msg: name + " needs a value"}
		}
		*i++
		return argv[*i], nil
	}
	flagsDone := false
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if flagsDone || !strings.HasPrefix(a, "-") || a == "-" || isJSONNumber(a) {
			pos = append(pos, a)
			continue
		}
		if a == "--" {
			flagsDone = true
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		get := func() (string, error) {
			if hasVal {
				return val, nil
			}
			return value(&i, name)
		}
		var err error
		var v string
		switch name {
		case "-n", "--namespace", "-namespace":
			if v, err = get(); err == nil {
				c.namespace = v
			}
		case "-e", "--event", "-event":
			if v, err = get(); err == nil {
				c.events = append(c.events, v)
			}
		case "--count", "-count":
			if v, err = get(); err == nil {
				c.count, err = strconv.Atoi(v)
				if err != nil || c.count < 0 {
					err = &usageError{msg: "--count needs a positive number"}
				}
			}
		case "--ack", "-ack":
			c.ack = true
		case "--no-args", "-no-args":
			c.noArgs = true
		case "--first", "-first":
			if v, err = get(); err == nil {
				var f firstEmit
				if f, err = parseFirst(v); err == nil {
					c.first = append(c.first, f)
				}
			}
		case "--timeout", "-timeout":
			if v, err = get(); err == nil {
				c.timeout, err = time.ParseDuration(v)
				if err != nil || c.timeout <= 0 {
					err = &usageError{msg: "--timeout needs a duration such as 5s"}
				}
			}
		case "--auth", "-auth":
			if v, err = get(); err == nil {
				var obj map[string]any
				if json.Unmarshal([]byte(v), &obj) != nil {
					err = &usageError{msg: "--auth needs a JSON object, such as '{\"token\":\"abc\"}'"}
				}
				c.auth = json.RawMessage(v)
			}
		case "-H", "--header", "-header":
			if v, err = get(); err == nil {
				k, hv, ok := strings.Cut(v, ":")
				if !ok || strings.TrimSpace(k) == "" {
					err = &usageError{msg: "--header needs \"Name: value\""}
				} else {
					c.header.Add(strings.TrimSpace(k), strings.TrimSpace(hv))
				}
			}
		case "--query", "-query":
			if v, err = get(); err == nil {
				k, qv, _ := strings.Cut(v, "=")
				c.query.Add(k, qv)
			}
		case "--transport", "-transport":
			if v, err = get(); err == nil {
				if v != "polling" && v != "websocket" {
					err = &usageError{msg: "--transport is polling or websocket"}
				}
				c.transports = []string{v}
			}
		case "--path", "-path":
			if v, err = get(); err == nil {
				c.path = v
			}
		case "--insecure", "-insecure", "-k":
			c.insecure = true
		default:
			return nil, &usageError{msg: "unknown option " + a}
		}
		if err != nil {
			var ue *usageError
			if errors.As(err, &ue) {
				return nil, err
			}
			return nil, &usageError{msg: err.Error()}
		}
	}
	if len(pos) == 0 {
		return nil, &usageError{}
	}
	c.cmd, pos = pos[0], pos[1:]
	switch c.cmd {
	case "help":
		if len(pos) > 1 || len(pos) == 1 && pos[0] != "listen" && pos[0] != "emit" {
			return nil, &usageError{msg: "help takes a command: listen or emit"}
		}
		c.help, c.cmd = true, ""
		if len(pos) == 1 {
			c.cmd = pos[0]
		}
		return c, nil
	case "listen":
		if len(pos) != 1 {
			return nil, &usageError{msg: "listen needs exactly one URL", cmd: c.cmd}
		}
		if c.noArgs || c.ack {
			return nil, &usageError{msg: "--no-args and --ack are options of emit", cmd: c.cmd}
		}
	case "emit":
		if len(pos) < 2 {
			return nil, &usageError{msg: "emit needs a URL and an event name", cmd: c.cmd}
		}
		c.event, c.args = pos[1], pos[2:]
		if sioparser.IsReservedEvent(c.event) {
			return nil, &usageError{msg: strconv.Quote(c.event) + " is a reserved event name", cmd: c.cmd}
		}
		// Zero arguments is a legitimate event, but more often a
		// forgotten one, which a server would decode as "" or null.
		if len(c.args) == 0 && !c.noArgs {
			return nil, &usageError{msg: fmt.Sprintf("emit %s needs an argument (JSON, or a word sent as a string); to send it without any, add --no-args", strconv.Quote(c.event)), cmd: c.cmd}
		}
		if len(c.args) > 0 && c.noArgs {
			return nil, &usageError{msg: "--no-args, yet arguments were given", cmd: c.cmd}
		}
	default:
		return nil, &usageError{msg: "unknown command " + strconv.Quote(c.cmd)}
	}
	u, err := withScheme(pos[0])
	if err != nil {
		return nil, &usageError{msg: err.Error(), cmd: c.cmd}
	}
	c.url = u
	return c, nil
}

// schemeRE matches a URL's scheme.
var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// withScheme adds http:// to a URL without a scheme. The client library
// assumes https there, as the JavaScript client does in a page served over
// https; on a command line, localhost:3000 means a local, plain server.
func withScheme(raw string) (string, error) {
	if m := schemeRE.FindString(raw); m != "" {
		switch strings.ToLower(strings.TrimSuffix(m, "://")) {
		case "http", "https", "ws", "wss":
		default:
			return "", fmt.Errorf("URL %q: the scheme is http, https, ws or wss", raw)
		}
	} else {
		raw = "http://" + strings.TrimPrefix(raw, "//")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("invalid URL %q: it is [http://]host:port[/namespace]", raw)
	}
	return raw, nil
}

// parseFirst reads a --first value: an event name, then its arguments, as
// JSON values separated by white space or else one string ('join red').
func parseFirst(v string) (firstEmit, error) {
	v = strings.TrimSpace(v)
	ev, rest := v, ""
	if i := strings.IndexFunc(v, unicode.IsSpace); i >= 0 {
		ev, rest = v[:i], strings.TrimSpace(v[i:])
	}
	if ev == "" {
		return firstEmit{}, &usageError{msg: "--first needs an event name, such as --first 'join red'"}
	}
	if sioparser.IsReservedEvent(ev) {
		return firstEmit{}, &usageError{msg: "--first: " + strconv.Quote(ev) + " is a reserved event name"}
	}
	f := firstEmit{event: ev}
	if rest == "" {
		return f, nil
	}
	dec := json.NewDecoder(strings.NewReader(rest))
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			f.args = []any{rest}
			return f, nil
		}
		f.args = append(f.args, raw)
	}
}

func isJSONNumber(s string) bool {
	var f float64
	return json.Unmarshal([]byte(s), &f) == nil
}

// closableWriter serialises writes and drops them once closed: handlers
// run on the client's handler goroutine, which may still report (a
// disconnection) after run has returned.
type closableWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (w *closableWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return len(b), nil
	}
	return w.w.Write(b)
}

func (w *closableWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// run is the command, returning its exit status.
func run(ctx context.Context, argv []string, stdoutW, stderrW io.Writer) int {
	stdout, stderr := &closableWriter{w: stdoutW}, &closableWriter{w: stderrW}
	defer stdout.close()
	defer stderr.close()
	c, err := parseArgs(argv)
	if err != nil {
		ue, ok := err.(*usageError)
		if !ok {
			ue = &usageError{msg: err.Error()}
		}
		// The message and the command lines, not the whole help, which
		// would scroll the message away.
		if ue.msg != "" {
			fmt.Fprintf(stderr, "sio: %s\n\n", ue.msg)
		}
		fmt.Fprint(stderr, synopsis(ue.cmd))
		fmt.Fprintf(stderr, "run 'sio %s' for the options and examples\n", strings.TrimSpace("help "+ue.cmd))
		return 2
	}
	if c.help {
		fmt.Fprint(stdout, usage(c.cmd))
		return 0
	}
	s, err := newSocket(c)
	if err != nil {
		fmt.Fprintf(stderr, "sio: %v\n", err)
		return 2
	}
	if c.cmd == "listen" {
		return listen(ctx, c, s, stdout, stderr)
	}
	return emit(ctx, c, s, stdout, stderr)
}

// newSocket builds the (unconnected) socket the command line describes.
func newSocket(c *config) (*client.Socket, error) {
	o := &client.Options{
		ForceNew:   true,
		Transports: c.transports,
		Header:     c.header,
		Query:      c.query,
		Path:       c.path,
		Timeout:    c.timeout,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if c.auth != nil {
		o.Auth = c.auth
	}
	if c.insecure {
		o.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	if c.cmd == "emit" {
		o.DisableReconnection = true
	}
	raw := c.url
	if c.namespace != "" {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("invalid URL %q", raw)
		}
		nsp := c.namespace
		if !strings.HasPrefix(nsp, "/") {
			nsp = "/" + nsp
		}
		u.Path = nsp
		raw = u.String()
	}
	return client.NewSocket(raw, o)
}

// connect connects s, failing at the first error (the CLI does not retry
// an initial connection) or after the timeout.
func connect(ctx context.Context, c *config, s *client.Socket) error {
	first := make(chan error, 1)
	s.OnConnectError(func(err error) {
		select {
		case first <- err:
		default:
		}
	})
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	waitErr := make(chan error, 1)
	s.Connect()
	go func() { waitErr <- s.WaitConnect(ctx) }()
	var err error
	select {
	case err = <-waitErr:
	case err = <-first:
		cancel()
		<-waitErr
		if s.Connected() {
			err = nil
		}
	}
	if err == nil {
		return nil
	}
	var ce *client.ConnectError
	if errors.As(err, &ce) {
		msg := fmt.Sprintf("namespace %q refused: %s", ce.Namespace, ce.Message)
		if ce.Data != nil {
			msg += " (data: " + string(ce.Data) + ")"
		}
		return errors.New(msg)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("cannot connect to %s: no connection within %v", c.url, c.timeout)
	}
	return fmt.Errorf("cannot connect to %s: %v", c.url, err)
}

func listen(ctx context.Context, c *config, s *client.Socket, stdout, stderr io.Writer) int {
	want := map[string]bool{}
	for _, e := range c.events {
		want[e] = true
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	done := make(chan struct{})
	seen := 0
	serverGone := make(chan struct{}, 1)
	s.OnAny(func(ev string, args client.Args) {
		if len(want) > 0 && !want[ev] {
			return
		}
		if c.count > 0 && seen >= c.count {
			return
		}
		vals, err := args.Values()
		if err != nil {
			fmt.Fprintf(stderr, "sio: event %q: %v\n", ev, err)
			return
		}
		if vals == nil {
			vals = []any{}
		}
		_ = enc.Encode(struct {
			Event string `json:"event"`
			Args  []any  `json:"args"`
		}{ev, vals})
		seen++
		if c.count > 0 && seen == c.count {
			close(done)
		}
	})
	s.OnDisconnect(func(r client.DisconnectReason, err error) {
		if r == client.ReasonIOClientDisconnect {
			return // our own exit
		}
		fmt.Fprintf(stderr, "sio: disconnected: %s\n", r)
		if r == client.ReasonIOServerDisconnect {
			serverGone <- struct{}{}
		}
	})
	s.Manager().OnReconnect(func(int) { fmt.Fprintf(stderr, "sio: reconnected\n") })
	// A recovered session keeps its rooms; a new one starts over, as a
	// page re-joins its rooms on "connect".
	s.OnConnect(func() {
		if !s.Recovered() {
			emitFirst(c, s, stderr)
		}
	})
	if err := connect(ctx, c, s); err != nil {
		s.Disconnect()
		fmt.Fprintf(stderr, "sio: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "sio: connected to %s (namespace %s, id %s)\n", c.url, s.Namespace(), s.ID())
	defer s.Disconnect()
	select {
	case <-done:
		return 0
	case <-ctx.Done():
		return 0
	case <-serverGone:
		fmt.Fprintln(stderr, "sio: the server disconnected the socket")
		return 1
	}
}

// emitFirst emits the --first events; their acknowledgements, if the
// server sends any, go to stderr as they arrive.
func emitFirst(c *config, s *client.Socket, stderr io.Writer) {
	for _, f := range c.first {
		ack := func(reply client.Args) {
			vals, err := reply.Values()
			if err != nil {
				fmt.Fprintf(stderr, "sio: %s acknowledged: %v\n", f.event, err)
				return
			}
			fmt.Fprintf(stderr, "sio: %s acknowledged: %s\n", f.event, jsonLine(vals))
		}
		if err := s.Emit(f.event, append(f.args[:len(f.args):len(f.args)], ack)...); err != nil {
			fmt.Fprintf(stderr, "sio: --first %s: %v\n", f.event, err)
		}
	}
}

// jsonLine is vals as a JSON array, without escaping HTML.
func jsonLine(vals []any) string {
	if vals == nil {
		vals = []any{}
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(vals); err != nil {
		return err.Error()
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// emitArgs turns the command-line arguments into values: JSON where valid,
// strings otherwise.
func emitArgs(raw []string) []any {
	out := make([]any, len(raw))
	for i, a := range raw {
		if json.Valid([]byte(a)) {
			out[i] = json.RawMessage(a)
		} else {
			out[i] = a
		}
	}
	return out
}

func emit(ctx context.Context, c *config, s *client.Socket, stdout, stderr io.Writer) int {
	if err := connect(ctx, c, s); err != nil {
		s.Disconnect()
		fmt.Fprintf(stderr, "sio: %v\n", err)
		return 1
	}
	defer s.Disconnect()
	// Here rather than in OnConnect, which runs on the handler goroutine:
	// the --first events must leave before the event itself.
	emitFirst(c, s, stderr)
	args := emitArgs(c.args)
	if !c.ack {
		if err := s.Emit(c.event, args...); err != nil {
			fmt.Fprintf(stderr, "sio: %v\n", err)
			return 1
		}
		return 0 // Disconnect writes what is queued before closing.
	}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	reply, err := s.EmitWithAck(actx, c.event, args...)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintf(stderr, "sio: no acknowledgement for %q within %v\n", c.event, c.timeout)
		} else {
			fmt.Fprintf(stderr, "sio: %v\n", err)
		}
		return 1
	}
	vals, err := reply.Values()
	if err != nil {
		fmt.Fprintf(stderr, "sio: acknowledgement: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, jsonLine(vals))
	return 0
}
