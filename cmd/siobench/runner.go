//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serverDef says how to prepare and start one bench server.
type serverDef struct {
	name  string
	about string
	// prepare builds the server into dir (or installs its packages).
	prepare func(ctx context.Context, root, dir string) error
	// command returns the command that serves on addr.
	command func(root, dir, addr string) *exec.Cmd
	// deflate is the argument that turns WebSocket compression on ("": not
	// supported).
	deflate string
	// parser is the Socket.IO parser the server uses, and its clients
	// ("": JSON).
	parser string
}

var serverDefs = []*serverDef{
	{
		name:  "go",
		about: "socketio-go (this repository, bench/servers/go)",
		prepare: func(ctx context.Context, root, dir string) error {
			return runTool(ctx, root, "go", "build", "-o", filepath.Join(dir, "server-go"), "./bench/servers/go")
		},
		command: func(root, dir, addr string) *exec.Cmd {
			return exec.Command(filepath.Join(dir, "server-go"), "-addr", addr)
		},
		deflate: "-deflate",
	},
	{
		name:  "node",
		about: "Node socket.io 4.8.4 (bench/servers/node)",
		prepare: func(ctx context.Context, root, dir string) error {
			nd := filepath.Join(root, "bench", "servers", "node")
			_, err1 := os.Stat(filepath.Join(nd, "node_modules", "socket.io", "package.json"))
			_, err2 := os.Stat(filepath.Join(nd, "node_modules", "socket.io-msgpack-parser", "package.json"))
			if err1 == nil && err2 == nil {
				return nil
			}
			return runTool(ctx, nd, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		},
		command: func(root, dir, addr string) *exec.Cmd {
			return exec.Command("node", filepath.Join(root, "bench", "servers", "node", "server.mjs"), "-addr", addr)
		},
		deflate: "-deflate",
	},
	{
		name:  "zishang",
		about: "zishang520/socket.io v3.0.6 (bench/servers/zishang, its own module)",
		prepare: func(ctx context.Context, root, dir string) error {
			return runTool(ctx, filepath.Join(root, "bench", "servers", "zishang"), "go", "build", "-o", filepath.Join(dir, "server-zishang"), ".")
		},
		command: func(root, dir, addr string) *exec.Cmd {
			return exec.Command(filepath.Join(dir, "server-zishang"), "-addr", addr)
		},
	},
	{
		name:  "ceiling",
		about: "the ceiling server: the bench contract and nothing else, over WebSocket on gorilla/websocket 1.5.3 and over long-polling on net/http (bench/servers/ceiling, its own module)",
		prepare: func(ctx context.Context, root, dir string) error {
			return runTool(ctx, filepath.Join(root, "bench", "servers", "ceiling"), "go", "build", "-o", filepath.Join(dir, "server-ceiling"), ".")
		},
		command: func(root, dir, addr string) *exec.Cmd {
			return exec.Command(filepath.Join(dir, "server-ceiling"), "-addr", addr)
		},
	},
}

// runTool runs a build step in dir with a time limit, showing its output
// only when it fails.
func runTool(ctx context.Context, dir, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s (in %s): %w\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return nil
}

// child is a running server process.
type child struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been waited for
	err    error         // set before exited is closed
	log    string
}

// startServer starts def on addr, with its output in logPath, and waits
// until it accepts connections; deflate turns its WebSocket compression on.
func startServer(ctx context.Context, def *serverDef, root, dir, addr, logPath string, deflate bool) (*child, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := def.command(root, dir, addr)
	if deflate {
		cmd.Args = append(cmd.Args, def.deflate)
	}
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = lf, lf
	// Own process group (a ctrl-C is handled by the runner, which stops
	// the server itself), and killed by the kernel if the runner dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("starting %s: %w", def.name, err)
	}
	c := &child{name: def.name, cmd: cmd, exited: make(chan struct{}), log: logPath}
	go func() {
		c.err = cmd.Wait()
		lf.Close()
		close(c.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return c, nil
		}
		select {
		case <-c.exited:
			return nil, fmt.Errorf("%s exited at start (%v); log %s:\n%s", def.name, c.err, logPath, tail(logPath))
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("%s did not listen on %s within 30s; log %s", def.name, addr, logPath)
		}
	}
}

// stop ends the server: SIGTERM to its process group, SIGKILL after 5s.
func (c *child) stop() {
	pgid := c.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-c.exited:
		return
	case <-time.After(5 * time.Second):
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		fmt.Fprintf(os.Stderr, "siobench: %s (pid %d) did not exit after SIGKILL\n", c.name, pgid)
	}
}

// tail returns the last lines of a file.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// findRoot returns the repository root: the nearest directory from the
// working directory upwards that holds bench/servers.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if st, err := os.Stat(filepath.Join(dir, "bench", "servers")); err == nil && st.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("bench/servers not found above the working directory; use -root")
		}
		dir = parent
	}
}

// runRecord is one run of one scenario against one server.
type runRecord struct {
	Scenario string  `json:"scenario"`
	Server   string  `json:"server"`
	Round    int     `json:"round"`
	Values   result  `json:"values,omitempty"`
	Error    string  `json:"error,omitempty"`
	Seconds  float64 `json:"seconds"`
}

func runCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var cfg config
	cfg.register(fs)
	serversFlag := fs.String("servers", "go,node,zishang,ceiling", "servers to compare, in order (go, node, zishang, ceiling, go-msgpack, node-msgpack, go-metrics); the first is \"ours\" in the ratios")
	scenarioFlag := fs.String("scenario", "all", "scenarios, comma-separated: idle, fanout, binary, echo, echo-open, polling, mixed, or all")
	rounds := fs.Int("rounds", 3, "rounds; each round runs every server once per scenario")
	rootFlag := fs.String("root", "", "repository root (default: found from the working directory)")
	outFlag := fs.String("out", "", "also write every run as JSON to this file")
	runTimeout := fs.Duration("run-timeout", 10*time.Minute, "bound of one run (server start, scenario, stop)")
	fs.Parse(args)
	if cfg.parser != parserJSON {
		return errors.New("-parser is for one scenario against a running server: in run, compare the servers go-msgpack and node-msgpack (MessagePack) with go and node")
	}

	root := *rootFlag
	if root == "" {
		r, err := findRoot()
		if err != nil {
			return err
		}
		root = r
	}
	var defs []*serverDef
	for _, name := range strings.Split(*serversFlag, ",") {
		var found *serverDef
		for _, d := range serverDefs {
			if d.name == strings.TrimSpace(name) {
				found = d
			}
		}
		if found == nil {
			return fmt.Errorf("unknown server %q (have go, node, zishang, ceiling, go-msgpack, node-msgpack, go-metrics)", name)
		}
		if cfg.deflate && found.deflate == "" {
			return fmt.Errorf("server %s: -deflate is not supported", found.name)
		}
		defs = append(defs, found)
	}
	var scens []*scenario
	if *scenarioFlag == "all" {
		scens = scenarios
	} else {
		for _, name := range strings.Split(*scenarioFlag, ",") {
			sc := scenarioByName(strings.TrimSpace(name))
			if sc == nil {
				return fmt.Errorf("unknown scenario %q", name)
			}
			scens = append(scens, sc)
		}
	}

	dir, err := os.MkdirTemp("", "siobench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, d := range defs {
		fmt.Fprintf(os.Stderr, "preparing %s ...\n", d.name)
		if err := d.prepare(ctx, root, dir); err != nil {
			return fmt.Errorf("preparing %s: %w", d.name, err)
		}
	}

	var records []runRecord
	for _, sc := range scens {
		var err error
		switch sc.name {
		case "echo-open":
			cfg.openRate, cfg.openNote, err = resolveRate(ctx, cfg.rate, records, &cfg, root, dir, *runTimeout)
		case "mixed":
			cfg.mixedOpenRate, cfg.mixedNote, err = resolveRate(ctx, cfg.mixedRate, records, &cfg, root, dir, *runTimeout)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		for r := 1; r <= *rounds; r++ {
			for _, d := range defs {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				rec := runOne(ctx, d, sc, &cfg, root, dir, *runTimeout)
				rec.Round = r
				records = append(records, rec)
				fmt.Fprintf(os.Stderr, "[%s %d/%d] %-8s %s\n", sc.name, r, *rounds, d.name, summary(sc, rec))
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if *outFlag != "" {
		b, _ := json.MarshalIndent(records, "", "  ")
		if err := os.WriteFile(*outFlag, b, 0o644); err != nil {
			return err
		}
	}
	printReport(os.Stdout, append([]string{"siobench", "run"}, args...), defs, scens, &cfg, *rounds, records)
	return nil
}

// resolveRate turns an open-loop rate relative to a server ("80%node")
// into requests per second: that fraction of the median closed-loop echo
// rate of that server's echo runs in records, or of one such run made now
// when there is none. It returns 0 for a rate relative to the server
// under test ("80%"), which each run finds itself, and for an absolute
// rate, which the scenario reads from the flag.
func resolveRate(ctx context.Context, s string, records []runRecord, cfg *config, root, dir string, limit time.Duration) (float64, string, error) {
	spec, err := parseRate(s)
	if err != nil || spec.ref == "" {
		return 0, "", err
	}
	var def *serverDef
	for _, d := range serverDefs {
		if d.name == spec.ref {
			def = d
		}
	}
	if def == nil {
		return 0, "", fmt.Errorf("rate %s: unknown server %q", s, spec.ref)
	}
	ref := median(values(records, "echo", def.name, "acks_per_s"))
	from := "the median of its echo runs above"
	if math.IsNaN(ref) {
		fmt.Fprintf(os.Stderr, "rate %s: measuring %s's closed-loop echo rate ...\n", s, def.name)
		if err := def.prepare(ctx, root, dir); err != nil {
			return 0, "", fmt.Errorf("preparing %s: %w", def.name, err)
		}
		rec := runOne(ctx, def, scenarioByName("echo"), cfg, root, dir, limit)
		if rec.Error != "" {
			return 0, "", fmt.Errorf("rate %s: the closed-loop echo of %s: %s", s, def.name, rec.Error)
		}
		ref = rec.Values["acks_per_s"]
		from = "one closed-loop echo run made for it"
	}
	rate := spec.frac * ref
	note := fmt.Sprintf("%s of %s's closed-loop echo rate, %s acks/s, %s", strconv.FormatFloat(spec.frac*100, 'f', -1, 64)+"%", def.name, formatValue(ref), from)
	fmt.Fprintf(os.Stderr, "rate %s = %s requests/s (%s)\n", s, formatValue(rate), note)
	return rate, note, nil
}

// runOne starts a fresh server, runs sc against it and stops it.
func runOne(ctx context.Context, d *serverDef, sc *scenario, cfg *config, root, dir string, limit time.Duration) runRecord {
	rec := runRecord{Scenario: sc.name, Server: d.name}
	start := time.Now()
	defer func() { rec.Seconds = time.Since(start).Seconds() }()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	addr, err := freeAddr()
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	logPath := filepath.Join(dir, fmt.Sprintf("%s-%s.log", d.name, sc.name))
	c, err := startServer(ctx, d, root, dir, addr, logPath, cfg.deflate)
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	defer c.stop()
	// A moment for start-up work (JIT, lazy initialisation) to finish
	// before the first reading.
	sleepCtx(ctx, 500*time.Millisecond)
	rc := *cfg
	rc.addr, rc.pid = addr, c.cmd.Process.Pid
	if d.parser != "" {
		rc.parser = d.parser
	}
	if rc.parser == parserMsgpack && sc.name == "polling" {
		rec.Error = "the load tool's polling clients speak JSON only"
		return rec
	}
	res, err := sc.run(ctx, &rc)
	select {
	case <-c.exited:
		err = errors.Join(err, fmt.Errorf("server exited during the run (%v):\n%s", c.err, tail(logPath)))
	default:
	}
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	rec.Values = res
	return rec
}

// summary is a one-line account of a run, for the progress log.
func summary(sc *scenario, rec runRecord) string {
	if rec.Error != "" {
		return "FAILED: " + firstLine(rec.Error)
	}
	var parts []string
	for _, m := range sc.metrics {
		parts = append(parts, m.key+"="+formatValue(rec.Values[m.key]))
	}
	return strings.Join(parts, " ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// formatValue prints about three significant digits.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "n/a"
	case a >= 1000:
		return groupThousands(strconv.FormatFloat(v, 'f', 0, 64))
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// groupThousands puts commas into the digits of an integer string.
func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// printReport writes the machine, the command, and for each scenario a
// table of the median of each metric per server with the ratios of the
// first server to the others, then every run's main figure.
func printReport(w io.Writer, argv []string, defs []*serverDef, scens []*scenario, cfg *config, rounds int, records []runRecord) {
	fmt.Fprintf(w, "# siobench results\n\n")
	fmt.Fprintf(w, "Command: `%s`\n\n", strings.Join(argv, " "))
	fmt.Fprintf(w, "Machine: %s\n\n", machineSummary())
	fmt.Fprintf(w, "Servers:")
	for _, d := range defs {
		fmt.Fprintf(w, " **%s** = %s;", d.name, d.about)
	}
	fmt.Fprintf(w, " each run starts a fresh server process. Rounds: %d, servers alternating within each round. Ratios are %s ÷ other (for ↑ metrics above 1 is better for %s, for ↓ metrics below 1 is).\n\n", rounds, defs[0].name, defs[0].name)
	ours := defs[0].name
	for _, sc := range scens {
		fmt.Fprintf(w, "## %s: %s\n\n", sc.title, describe(sc, cfg))
		fmt.Fprintf(w, "| metric (median of %d) |", rounds)
		for _, d := range defs {
			fmt.Fprintf(w, " %s |", d.name)
		}
		for _, d := range defs[1:] {
			fmt.Fprintf(w, " %s/%s |", ours, d.name)
		}
		fmt.Fprintf(w, "\n|---|")
		for range len(defs) + len(defs) - 1 {
			fmt.Fprintf(w, "---:|")
		}
		fmt.Fprintln(w)
		for _, m := range sc.metrics {
			arrow := ""
			switch m.better {
			case +1:
				arrow = " ↑"
			case -1:
				arrow = " ↓"
			}
			fmt.Fprintf(w, "| %s%s |", m.label, arrow)
			meds := make([]float64, len(defs))
			for i, d := range defs {
				meds[i] = median(values(records, sc.name, d.name, m.key))
				fmt.Fprintf(w, " %s |", formatValue(meds[i]))
			}
			for i := range defs[1:] {
				fmt.Fprintf(w, " %s |", formatRatio(meds[0], meds[i+1]))
			}
			fmt.Fprintln(w)
		}
		// Every run, for the spread and the failures.
		runs := sc.metrics[0]
		for _, m := range sc.metrics {
			if m.key == sc.runsKey {
				runs = m
			}
		}
		fmt.Fprintf(w, "\nRuns (%s):", runs.label)
		for _, d := range defs {
			fmt.Fprintf(w, " %s", d.name)
			for _, rec := range records {
				if rec.Scenario != sc.name || rec.Server != d.name {
					continue
				}
				if rec.Error != "" {
					fmt.Fprintf(w, " [failed: %s]", firstLine(rec.Error))
				} else {
					fmt.Fprintf(w, " %s", formatValue(rec.Values[runs.key]))
				}
			}
			fmt.Fprint(w, ";")
		}
		fmt.Fprint(w, "\n\n")
	}
}

func formatRatio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "n/a"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64) + "×"
}

// values returns the metric key of the successful runs of scenario sc
// against server sv.
func values(records []runRecord, sc, sv, key string) []float64 {
	var out []float64
	for _, r := range records {
		if r.Scenario == sc && r.Server == sv && r.Error == "" {
			if v, ok := r.Values[key]; ok {
				out = append(out, v)
			}
		}
	}
	return out
}

// machineSummary describes the CPU, memory, kernel and toolchains.
func machineSummary() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range bytes.Lines(b) {
			if k, v, ok := bytes.Cut(line, []byte(":")); ok && string(bytes.TrimSpace(k)) == "model name" {
				model = string(bytes.TrimSpace(v))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if v, err := parseStatusField(b, "MemTotal:"); err == nil {
			mem = fmt.Sprintf(", %.1f GiB RAM", float64(v)/(1<<30))
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	node := "node not found"
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		node = "Node " + strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%s, %d CPUs%s, Linux %s, %s, %s (tool GOMAXPROCS %d)", model, runtime.NumCPU(), mem,
		strings.TrimSpace(string(kernel)), runtime.Version(), node, runtime.GOMAXPROCS(0))
}
