//go:build linux

// Command siobench is the load tool of socketio-go: it measures whole
// Socket.IO servers over WebSocket and HTTP long-polling, and compares
// servers that implement the benchmark contract of bench/README.md.
//
// One scenario against a running server (pass its pid to read its CPU and
// memory from /proc):
//
//	siobench idle    -addr 127.0.0.1:3000 -pid 1234 -idle-conns 10000
//	siobench fanout  -addr ... -fanout-clients 1000 -fanout-count 1000 -size 100
//	siobench binary  -addr ... (fanout with binary payloads)
//	siobench echo    -addr ... -echo-clients 50 -window 1 -duration 10s
//	siobench polling -addr ... -poll-clients 50 -window 1 -duration 10s
//	siobench echo-open -addr ... -echo-clients 50 -rate 20000 (or -rate 80%)
//	siobench mixed   -addr ... -mixed-conns 19000 -mixed-echo-clients 500 -mixed-rate 2000
//
// Several servers, alternately, with a fresh server process for every run,
// printing a markdown table of medians and ratios:
//
//	go run ./cmd/siobench run -servers go,node,zishang,ceiling -scenario all -rounds 3
//
// The tool is built to be cheap, as it shares the machine with the server:
// one goroutine per connection reading into a small buffer, no JSON decoding
// (messages are counted and ack ids parsed from their first bytes), frames
// to send encoded once. It reports its own CPU use next to the server's.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: siobench <command> [flags]

commands:
  idle      idle connections: server RSS per connection, set-up rate and CPU
  fanout    broadcast fan-out of text messages: delivered msgs/s, CPU per message
  binary    broadcast fan-out of binary messages
  echo      acked echo events over WebSocket: acks/s, p50/p99, CPU per ack
  echo-open acked echo events sent open-loop at a fixed rate: p50/p99/p99.9/max
            from the intended send times, achieved rate, CPU per ack
  polling   acked echo events over HTTP long-polling
  mixed     many connections, a broadcast to all every second, and open-loop
            echo clients: echo tail latency, broadcast delivery, RSS, CPU
  run       start bench servers and run scenarios against them alternately

"siobench <command> -h" lists the flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	raiseFileLimit()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one ends the process at once
		// (children die with it through Pdeathsig).
		<-ctx.Done()
		stop()
	}()
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "run":
		err = runCommand(ctx, args)
	case "mixed-receivers": // the child process of mixed
		err = mixedReceiversCommand(ctx, args)
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return
	default:
		sc := scenarioByName(cmd)
		if sc == nil {
			fmt.Fprintf(os.Stderr, "siobench: unknown command %q\n\n%s", cmd, usage)
			os.Exit(2)
		}
		err = scenarioCommand(ctx, sc, args)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "siobench:", err)
		os.Exit(1)
	}
}

// scenarioCommand runs one scenario against a running server.
func scenarioCommand(ctx context.Context, sc *scenario, args []string) error {
	fs := flag.NewFlagSet(sc.name, flag.ExitOnError)
	var cfg config
	cfg.register(fs)
	fs.Parse(args)
	switch {
	case cfg.parser != parserJSON && cfg.parser != parserMsgpack:
		return fmt.Errorf("-parser %q: json or msgpack", cfg.parser)
	case cfg.parser == parserMsgpack && sc.name == "polling":
		return errors.New("-parser msgpack: the polling clients speak JSON only")
	}
	res, err := sc.run(ctx, &cfg)
	if err != nil {
		return err
	}
	fmt.Printf("%s (%s) against %s:\n", sc.title, describe(sc, &cfg), cfg.addr)
	for _, m := range sc.metrics {
		v := res[m.key]
		if math.IsNaN(v) {
			continue
		}
		fmt.Printf("  %-48s %s\n", m.label, formatValue(v))
	}
	return nil
}

// describe gives the parameters of a scenario as set in cfg.
func describe(sc *scenario, cfg *config) string {
	d := describeSizes(sc, cfg)
	if cfg.deflate && sc.name != "polling" {
		d += ", WebSocket compression on"
	}
	if cfg.parser == parserMsgpack {
		d += ", MessagePack parser"
	}
	return d
}

func describeSizes(sc *scenario, cfg *config) string {
	switch sc.name {
	case "idle":
		return fmt.Sprintf("%d connections", cfg.idleConns)
	case "fanout", "binary":
		d := fmt.Sprintf("%d clients × %d messages of %d bytes", cfg.fanClients, cfg.fanCount, cfg.size)
		if cfg.fanReadDelay > 0 {
			d += fmt.Sprintf(", reads paced by %v", cfg.fanReadDelay)
		}
		return d
	case "echo":
		return fmt.Sprintf("%d clients, window %d, %d-byte string, %v after %v warm-up", cfg.echoClients, cfg.window, cfg.size, cfg.duration, cfg.warmup)
	case "polling":
		return fmt.Sprintf("%d clients, window %d, %d-byte string, %v after %v warm-up", cfg.pollClients, cfg.window, cfg.size, cfg.duration, cfg.warmup)
	case "echo-open":
		return fmt.Sprintf("%d clients, %s arrivals at %s, %d-byte string, %v after %v warm-up",
			cfg.echoClients, cfg.arrivals, rateNote(cfg.rate, cfg.openRate, cfg.openNote), cfg.size, cfg.duration, cfg.warmup)
	case "mixed":
		return fmt.Sprintf("%d connections, a %d-byte broadcast to all every %v, %d of them sending echo requests (%s arrivals) at %s, %v after %v warm-up",
			cfg.mixedConns, cfg.size, cfg.mixedEvery, cfg.mixedEchoClients, cfg.arrivals, rateNote(cfg.mixedRate, cfg.mixedOpenRate, cfg.mixedNote), cfg.duration, cfg.warmup)
	}
	return ""
}

// rateNote describes an open-loop rate: as given, or as resolved by run.
func rateNote(spec string, resolved float64, note string) string {
	if resolved > 0 {
		return formatValue(resolved) + " requests/s in total (" + note + ")"
	}
	if r, err := parseRate(spec); err == nil {
		if r.abs > 0 {
			return formatValue(r.abs) + " requests/s in total"
		}
		return r.String()
	}
	return spec
}
