// Command sio is a Socket.IO command-line client: it prints the events a
// server sends, or emits one and prints its acknowledgement.
//
//	sio listen URL [-n /nsp] [-e EVENT]... [--count N]
//	sio emit URL EVENT [JSON-ARG...] [--ack] [--timeout 5s]
//
// Common options: --auth JSON, --header "Name: value" (repeatable),
// --query k=v (repeatable), --transport polling|websocket, --path /socket.io,
// --insecure (skip TLS verification).
//
// The URL's path is the namespace unless -n is given. Received events are
// printed one per line as JSON: {"event":"chat","args":[...]} (binary
// values as base64 strings). emit's arguments are JSON values; an argument
// that is not valid JSON is sent as a string. Exit status: 0 on success, 1
// when the server cannot be reached, refuses the namespace or does not
// acknowledge in time, 2 on a usage error.
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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/socketio-go/socketio/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage:
  sio listen URL [-n /nsp] [-e EVENT]... [--count N] [options]
      print received events as JSON lines: {"event":...,"args":[...]}
  sio emit URL EVENT [JSON-ARG...] [--ack] [--timeout 5s] [options]
      emit an event; with --ack, wait for the acknowledgement and print it

options:
  -n, --namespace NSP     namespace (default: the URL's path, or /)
  -e, --event NAME        listen: only this event (repeatable)
      --count N           listen: exit after N events
      --ack               emit: wait for the acknowledgement
      --timeout D         connection and acknowledgement timeout (default 10s)
      --auth JSON         auth object sent with the connection
  -H, --header "K: V"     extra HTTP header (repeatable)
      --query K=V         extra query parameter (repeatable)
      --transport T       polling or websocket (default: polling, upgraded)
      --path P            server path (default /socket.io)
      --insecure          do not verify TLS certificates
`

// config is the parsed command line.
type config struct {
	cmd        string
	url        string
	event      string
	args       []string
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

// usageError is a command-line mistake (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func parseArgs(argv []string) (*config, error) {
	c := &config{timeout: 10 * time.Second, header: http.Header{}, query: url.Values{}}
	var pos []string
	value := func(i *int, name string) (string, error) {
		if *i+1 >= len(argv) {
			return "", &usageError{name + " needs a value"}
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
					err = &usageError{"--count needs a positive number"}
				}
			}
		case "--ack", "-ack":
			c.ack = true
		case "--timeout", "-timeout":
			if v, err = get(); err == nil {
				c.timeout, err = time.ParseDuration(v)
				if err != nil || c.timeout <= 0 {
					err = &usageError{"--timeout needs a duration such as 5s"}
				}
			}
		case "--auth", "-auth":
			if v, err = get(); err == nil {
				var obj map[string]any
				if json.Unmarshal([]byte(v), &obj) != nil {
					err = &usageError{"--auth needs a JSON object, such as '{\"token\":\"abc\"}'"}
				}
				c.auth = json.RawMessage(v)
			}
		case "-H", "--header", "-header":
			if v, err = get(); err == nil {
				k, hv, ok := strings.Cut(v, ":")
				if !ok || strings.TrimSpace(k) == "" {
					err = &usageError{"--header needs \"Name: value\""}
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
					err = &usageError{"--transport is polling or websocket"}
				}
				c.transports = []string{v}
			}
		case "--path", "-path":
			if v, err = get(); err == nil {
				c.path = v
			}
		case "--insecure", "-insecure", "-k":
			c.insecure = true
		case "-h", "--help", "-help":
			return nil, &usageError{""}
		default:
			return nil, &usageError{"unknown option " + a}
		}
		if err != nil {
			var ue *usageError
			if errors.As(err, &ue) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
	}
	if len(pos) == 0 {
		return nil, &usageError{""}
	}
	c.cmd, pos = pos[0], pos[1:]
	switch c.cmd {
	case "listen":
		if len(pos) != 1 {
			return nil, &usageError{"listen needs exactly one URL"}
		}
	case "emit":
		if len(pos) < 2 {
			return nil, &usageError{"emit needs a URL and an event name"}
		}
		c.event, c.args = pos[1], pos[2:]
	default:
		return nil, &usageError{"unknown command " + strconv.Quote(c.cmd)}
	}
	c.url = pos[0]
	return c, nil
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
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(stderr, "sio: %s\n\n", msg)
		}
		fmt.Fprint(stderr, usage)
		return 2
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
	if vals == nil {
		vals = []any{}
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(vals)
	return 0
}
