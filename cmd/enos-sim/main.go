// SPDX-License-Identifier: Apache-2.0

// Command enos-sim is a local EnOS CoAP endpoint (non-DTLS) for development,
// demos and tests. The server logic lives in internal/sim; this is a thin
// command-line wrapper. See docs/enos-sim.md.
package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/libenos/libenos/core/sign"
	"github.com/libenos/libenos/internal/sim"
)

const defaultControl = "127.0.0.1:5783"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "command":
			return runCommand(args[1:], stdout, stderr)
		case "stats":
			return runStats(args[1:], stdout, stderr)
		case "end-session":
			return runEndSession(args[1:], stdout, stderr)
		}
	}
	return runServe(args, stdout, stderr)
}

type deviceFlags []string

func (d *deviceFlags) String() string     { return fmt.Sprintf("%d devices", len(*d)) }
func (d *deviceFlags) Set(v string) error { *d = append(*d, v); return nil }

const serveUsage = `enos-sim: a local EnOS CoAP endpoint (CoAP over UDP; over DTLS with --dtls-listen).

Usage:
  enos-sim [flags]                         run the simulator
  enos-sim command [flags]                 queue a command in a running simulator
  enos-sim stats [--control ADDR]          print a running simulator's counters
  enos-sim end-session --to PK/DK          end a device's session (its token stops working)

The first line on stdout is "listening on HOST:PORT". Accepted messages follow
as JSON lines on stdout unless --log is given. A summary is printed to stderr
on SIGINT/SIGTERM. Full documentation: docs/enos-sim.md.

Flags:
`

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("enos-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var devs deviceFlags
	listen := fs.String("listen", "127.0.0.1:5683", "UDP `HOST:PORT` to serve CoAP on; port 0 picks a free port")
	fs.Var(&devs, "device", "register a device as `PK:DK:SECRET` (repeatable; the secret may contain ':')")
	devFile := fs.String("devices", "", "read devices from `FILE`: one PK:DK:SECRET per line ('#' comments), or a JSON array of {\"productKey\",\"deviceKey\",\"secret\"}")
	ivHex := fs.String("sign-iv", hex.EncodeToString(sign.DefaultIV[:]), "AES-128-CBC IV of option 2101 as 32 `HEX` digits (the default is ASCII \"543yhjy97ae7fyfg\"; a zero IV is 32 zeros)")
	signMode := fs.String("sign-mode", sim.SignRequired, "`required`: auth returns a token and every /topic request needs option 2101; unknown: no token, 2101 is an unknown critical option (4.02)")
	cmdStyle := fs.String("command-style", sim.CommandInline, "`inline`: commands announced with option 2100 and their payload in 2102; get: 2100 only, the device fetches with a signed GET")
	seed := fs.Int64("seed", 1, "seed of every random fault decision")
	dropReq := fs.Float64("drop-requests", 0, "probability `P` (0..1) of losing a request datagram on the wire")
	dropResp := fs.Float64("drop-responses", 0, "probability `P` (0..1) of losing a response datagram on the wire")
	delay := fs.Duration("delay", 0, "hold back every response datagram by `D` (e.g. 200ms)")
	jitter := fs.Duration("jitter", 0, "add a uniform random delay in [0, `J`) to every response datagram")
	failRate := fs.Float64("fail-rate", 0, "probability `P` (0..1) of answering a request 5.00 Internal Server Error")
	expireAfter := fs.Int("expire-after", 0, "end a session after `N` accepted messages: the next one gets 4.01 (0 = off)")
	lifeOverride := fs.Duration("lifetime-override", 0, "expire idle sessions after this `duration` instead of the lifetime the device asked for (0 = off)")
	control := fs.String("control", defaultControl, "loopback TCP `ADDR` of the control channel; \"off\" disables it")
	modelFile := fs.String("model", "", "check JSON thing-model requests against the thing model in `FILE` (format: docs/enos-sim.md)")
	logFile := fs.String("log", "", "append accepted messages as JSON lines to `FILE` instead of stdout")
	dtlsListen := fs.String("dtls-listen", "", "also serve the same rules over DTLS 1.2 PSK on UDP `HOST:PORT` (EnOS uses 5684; port 0 picks a free port)")
	var products deviceFlags
	fs.Var(&products, "product", "register a product secret for dynamic activation over DTLS as `PK:PRODUCT_SECRET` (repeatable)")
	verbose := fs.Bool("verbose", false, "print CoAP-level diagnostics (malformed datagrams, ...) to stderr")
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "enos-sim: unexpected argument %q (see --help)\n", fs.Arg(0))
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "enos-sim: %v\n", err)
		return 1
	}

	cfg := sim.Config{
		Listen: *listen, SignMode: *signMode, CommandStyle: *cmdStyle, Seed: *seed,
		DropRequests: *dropReq, DropResponses: *dropResp, Delay: *delay, Jitter: *jitter,
		FailRate: *failRate, ExpireAfter: *expireAfter, LifetimeOverride: *lifeOverride,
		NoRecords:  true, // records go to --log; memory stays flat on long runs
		DTLSListen: *dtlsListen,
	}
	for _, p := range products {
		prod, err := sim.ParseProduct(p)
		if err != nil {
			return fail(err)
		}
		cfg.Products = append(cfg.Products, prod)
	}
	for _, d := range devs {
		dev, err := sim.ParseDevice(d)
		if err != nil {
			return fail(err)
		}
		cfg.Devices = append(cfg.Devices, dev)
	}
	if *devFile != "" {
		f, err := os.Open(*devFile)
		if err != nil {
			return fail(err)
		}
		ds, err := sim.ReadDevices(f)
		_ = f.Close()
		if err != nil {
			return fail(fmt.Errorf("%s: %w", *devFile, err))
		}
		cfg.Devices = append(cfg.Devices, ds...)
	}
	if len(cfg.Devices) == 0 {
		fmt.Fprintln(stderr, "enos-sim: warning: no devices registered (use --device or --devices): every auth gets 4.01")
	}
	if *modelFile != "" {
		f, err := os.Open(*modelFile)
		if err != nil {
			return fail(err)
		}
		cfg.Model, err = sim.ReadModel(f)
		_ = f.Close()
		if err != nil {
			return fail(fmt.Errorf("%s: %w", *modelFile, err))
		}
	}
	iv, err := hex.DecodeString(*ivHex)
	if err != nil || len(iv) != 16 {
		return fail(fmt.Errorf("--sign-iv %q: want 32 hex digits", *ivHex))
	}
	cfg.SignIV = iv
	if *control != "off" && *control != "" {
		cfg.Control = *control
	}
	if *verbose {
		cfg.ErrorLog = stderr
	}

	// Records must not reach stdout before the "listening on" line.
	out := &gatedWriter{w: stdout}
	out.mu.Lock()
	var logCloser io.Closer
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fail(err)
		}
		logCloser = f
		cfg.Log = f
	} else {
		cfg.Log = out
	}

	s, err := sim.Start(cfg)
	if err != nil {
		out.mu.Unlock()
		return fail(err)
	}
	fmt.Fprintf(stdout, "listening on %s\n", s.Addr())
	out.mu.Unlock()
	if a := s.ControlAddr(); a != "" {
		fmt.Fprintf(stderr, "enos-sim: control channel on %s\n", a)
	}
	if a := s.DTLSAddr(); a != "" {
		fmt.Fprintf(stderr, "enos-sim: DTLS on %s\n", a)
	}
	fmt.Fprintf(stderr, "enos-sim: %d devices, sign mode %s, command style %s, seed %d\n", len(cfg.Devices), cfg.SignMode, cfg.CommandStyle, cfg.Seed)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	<-sigs
	signal.Stop(sigs)
	_ = s.Close()
	if logCloser != nil {
		_ = logCloser.Close()
	}
	st := s.Stats()
	summary, _ := json.Marshal(st)
	fmt.Fprintf(stderr, "enos-sim: summary: auths=%d reports=%d rejections=%d duplicates=%d\nenos-sim: summary-json: %s\n",
		st.Auths, st.Reports, st.Rejections, st.Duplicates, summary)
	return 0
}

// gatedWriter serialises writes and can be held closed.
type gatedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.w.Write(p)
}

const commandUsage = `enos-sim command: queue a command for a device in a running simulator.

Usage:
  enos-sim command --to PK/DK [--topic TOPIC] (--payload TEXT | --payload-hex HEX | --payload-file FILE) [--control ADDR]
  enos-sim command --to PK/DK --service ID [--params JSON] [--id ID] [--control ADDR]

The second form queues a JSON thing-model service call: method
thing.service.ID, topic /sys/PK/DK/thing/service/ID with the dots of ID as
slashes (e.g. --service measurepoint.set), params JSON (default {}); it prints
the call's id, which the device's _reply must carry.

The command is announced in the simulator's next response to that device
(option 2100, plus 2102 with --command-style inline).

Flags:
`

func controlFlags(name string, stderr io.Writer) (*flag.FlagSet, *string, *time.Duration) {
	fs := flag.NewFlagSet("enos-sim "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	ctl := fs.String("control", defaultControl, "control channel `ADDR` of the running simulator")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after `D`")
	return fs, ctl, timeout
}

func parseTo(to string) (pk, dk string, err error) {
	pk, dk, ok := strings.Cut(to, "/")
	if !ok || pk == "" || dk == "" || strings.Contains(dk, "/") {
		return "", "", fmt.Errorf("--to %q: want PRODUCTKEY/DEVICEKEY", to)
	}
	return pk, dk, nil
}

func runCommand(args []string, stdout, stderr io.Writer) int {
	fs, ctl, timeout := controlFlags("command", stderr)
	to := fs.String("to", "", "target device as `PK/DK` (required)")
	topic := fs.String("topic", "", "command `TOPIC`, with or without the /topic prefix (default /sys/PK/DK/thing/model/down_raw)")
	payload := fs.String("payload", "", "command payload as `TEXT`")
	payloadHex := fs.String("payload-hex", "", "command payload as `HEX` bytes")
	payloadFile := fs.String("payload-file", "", "read the command payload from `FILE`")
	service := fs.String("service", "", "queue a JSON thing-model service call of service `ID` (e.g. measurepoint.set)")
	params := fs.String("params", "{}", "with --service: the call's params, a JSON `OBJECT`")
	callID := fs.String("id", "", "with --service: the call's message `ID` (default: from the clock)")
	fs.Usage = func() {
		fmt.Fprint(stderr, commandUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	pk, dk, err := parseTo(*to)
	if err != nil {
		fmt.Fprintf(stderr, "enos-sim command: %v\n", err)
		return 2
	}
	set := 0
	body := []byte(*payload)
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "payload" || f.Name == "payload-hex" || f.Name == "payload-file" {
			set++
		}
	})
	if set > 1 {
		fmt.Fprintln(stderr, "enos-sim command: give at most one of --payload, --payload-hex, --payload-file")
		return 2
	}
	if *payloadHex != "" {
		if body, err = hex.DecodeString(*payloadHex); err != nil {
			fmt.Fprintf(stderr, "enos-sim command: --payload-hex: %v\n", err)
			return 2
		}
	}
	if *payloadFile != "" {
		if body, err = os.ReadFile(*payloadFile); err != nil {
			fmt.Fprintf(stderr, "enos-sim command: %v\n", err)
			return 1
		}
	}
	if *service != "" {
		if set > 0 || *topic != "" {
			fmt.Fprintln(stderr, "enos-sim command: --service builds topic and payload itself: no --topic or --payload*")
			return 2
		}
		id := *callID
		if id == "" {
			id = strconv.FormatInt(time.Now().UnixMilli(), 10)
		}
		t, p, err := sim.ServiceCall(pk, dk, *service, id, []byte(*params))
		if err != nil {
			fmt.Fprintf(stderr, "enos-sim command: %v\n", err)
			return 2
		}
		if _, err := sim.SendControl(*ctl, sim.ControlRequest{Op: "command", ProductKey: pk, DeviceKey: dk, Topic: t, Payload: p}, *timeout); err != nil {
			fmt.Fprintf(stderr, "enos-sim command: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "queued service call thing.service.%s id %s for %s/%s\n", *service, id, pk, dk)
		return 0
	}
	if _, err := sim.SendControl(*ctl, sim.ControlRequest{Op: "command", ProductKey: pk, DeviceKey: dk, Topic: *topic, Payload: body}, *timeout); err != nil {
		fmt.Fprintf(stderr, "enos-sim command: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "queued %d bytes for %s/%s\n", len(body), pk, dk)
	return 0
}

func runStats(args []string, stdout, stderr io.Writer) int {
	fs, ctl, timeout := controlFlags("stats", stderr)
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	resp, err := sim.SendControl(*ctl, sim.ControlRequest{Op: "stats"}, *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "enos-sim stats: %v\n", err)
		return 1
	}
	b, _ := json.Marshal(resp.Stats)
	fmt.Fprintf(stdout, "%s\n", b)
	return 0
}

func runEndSession(args []string, stdout, stderr io.Writer) int {
	fs, ctl, timeout := controlFlags("end-session", stderr)
	to := fs.String("to", "", "target device as `PK/DK` (required)")
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	pk, dk, err := parseTo(*to)
	if err != nil {
		fmt.Fprintf(stderr, "enos-sim end-session: %v\n", err)
		return 2
	}
	if _, err := sim.SendControl(*ctl, sim.ControlRequest{Op: "end-session", ProductKey: pk, DeviceKey: dk}, *timeout); err != nil {
		fmt.Fprintf(stderr, "enos-sim end-session: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "session of %s/%s ended\n", pk, dk)
	return 0
}

// parseArgs parses a subcommand's flags; when it fails it returns the exit
// code: 0 after --help, 2 for a usage error (the flag package printed why).
func parseArgs(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}
