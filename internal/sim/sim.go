// SPDX-License-Identifier: Apache-2.0

// Package sim is enos-sim's server: a local stand-in for EnOS's non-DTLS CoAP
// device endpoint (see docs/protocol.md), strict where EnOS is strict, with
// seeded fault injection for tests.
//
// It is a real CoAP server over UDP, with go-coap v3's message codec. Tests start it in-process
// with Start; cmd/enos-sim is a thin command-line wrapper around this package.
//
// The package never writes to stdout or stderr by itself: records go to
// Config.Log, diagnostics to Config.ErrorLog.
//
// It deliberately shares no code with the libenos client (core/client,
// core/transport): it judges that client. It reuses only core/sign, the pure
// signature functions, to verify signatures.
package sim

import (
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"

	"strings"
	"sync"
	"time"

	"github.com/libenos/libenos/core/sign"
	"github.com/plgd-dev/go-coap/v3/message"
)

// CoAP option numbers of EnOS's scheme (docs/protocol.md §3, §5).
const (
	OptionCommandTopic   message.OptionID = 2100 // elective: topic of a waiting command
	OptionSign           message.OptionID = 2101 // critical: the message signature
	OptionCommandPayload message.OptionID = 2102 // elective: the command payload (inline style)
)

// maxSignOptionLen bounds option 2101: a Sign for a token of up to ~500 bytes.
const maxSignOptionLen = 1034

func init() {
	// The server answers 4.02 to a critical option that go-coap's option
	// table does not know (udp.go); 2101 is critical (odd), so it is
	// registered. The map is global: register once, before any server
	// starts. In sign mode "unknown" the handler itself answers 4.02 to 2101,
	// so both modes can coexist in one process.
	message.CoapOptionDefs[OptionSign] = message.OptionDef{ValueFormat: message.ValueString, MaxLen: maxSignOptionLen}
}

// Sign modes (Config.SignMode).
const (
	SignRequired = "required" // auth returns a token; every /topic request needs option 2101
	SignUnknown  = "unknown"  // auth returns no token; 2101 is an unknown critical option (4.02)
)

// Command styles (Config.CommandStyle).
const (
	CommandInline = "inline" // announce with 2100 and carry the payload in 2102
	CommandGet    = "get"    // announce with 2100 only; the device fetches it with a signed GET
)

// ExchangeLifetime is RFC 7252's EXCHANGE_LIFETIME: how long a response stays
// cached for deduplication, and how long duplicates are counted.
const ExchangeLifetime = 247 * time.Second

// Device is one registered device.
type Device struct {
	ProductKey string `json:"productKey"`
	DeviceKey  string `json:"deviceKey"`
	Secret     string `json:"secret"`
}

// Config configures a simulator. The zero value (plus Devices) is a strict
// simulator on a random loopback port with no faults.
type Config struct {
	// Listen is the UDP address to serve, "127.0.0.1:0" style. Empty means "127.0.0.1:0".
	Listen  string
	Devices []Device
	// SignIV is the AES-CBC IV of option 2101; nil means sign.DefaultIV.
	SignIV []byte
	// SignMode is SignRequired (default, "") or SignUnknown.
	SignMode string
	// CommandStyle is CommandInline (default, "") or CommandGet.
	CommandStyle string

	// Seed seeds every random fault decision.
	Seed int64
	// DropRequests and DropResponses are probabilities (0..1) of losing a
	// datagram on the wire, client to server and server to client.
	DropRequests, DropResponses float64
	// Delay and Jitter hold back every response datagram by Delay plus a
	// uniform random part of [0, Jitter).
	Delay, Jitter time.Duration
	// FailRate is the probability (0..1) of answering a request with 5.00
	// Internal Server Error (no state changes).
	FailRate float64
	// ExpireAfter ends a session after that many accepted /topic messages: the
	// next one gets 4.01. 0 = off.
	ExpireAfter int
	// LifetimeOverride, if > 0, replaces the lifetime a device asked for when
	// deciding expiry (the auth request must still carry a valid 30..86400).
	// Tests use it to expire sessions in milliseconds.
	LifetimeOverride time.Duration

	// Model, if not nil, is the thing model JSON thing-model requests are
	// checked against (thingmodel.go); products it does not list, and every
	// product when it is nil, accept any identifier.
	Model Model

	// Control, if not empty, is a loopback TCP address ("127.0.0.1:0") for the
	// operator control channel (see ControlAddr and docs/enos-sim.md).
	Control string

	// Log receives one JSON line per accepted message (see Record); nil = discard.
	Log io.Writer
	// NoRecords stops keeping accepted messages in memory for Records (the
	// binary sets it: a long run would otherwise grow without bound; its
	// records go to Log).
	NoRecords bool
	// ErrorLog receives encoding and control-channel errors, one per
	// line; nil = discard. Never contains secrets or tokens.
	ErrorLog io.Writer

	// DTLSListen, if not empty, is a UDP address ("127.0.0.1:0" style) where
	// the same rules are served over DTLS 1.2 with pre-shared keys (dtls.go).
	DTLSListen string
	// Products register product secrets for dynamic activation over DTLS
	// (secureMode 3).
	Products []Product
}

// Record is one accepted device message: a POST to a /topic/... path
// (reports, events, command replies).
type Record struct {
	Time       time.Time `json:"time"`
	ProductKey string    `json:"productKey"`
	DeviceKey  string    `json:"deviceKey"`
	// Topic is the MQTT topic: the CoAP path without the "/topic" prefix,
	// e.g. "/sys/pk/dk/thing/model/up_raw".
	Topic string `json:"topic"`
	// Sequence is the decrypted option-2101 sequence (0 in sign mode unknown).
	Sequence uint32 `json:"sequence"`
	// Payload is the raw request body (base64 in JSON).
	Payload []byte `json:"payload"`
	// Thing is the simulator's verdict on a JSON thing-model request
	// (measure points, events, attributes, tags); nil for other topics.
	Thing *ThingResult `json:"thing,omitempty"`
}

// Stats counts what the simulator saw.
type Stats struct {
	Auths             int `json:"auths"`             // successful authentications
	AuthFailures      int `json:"authFailures"`      // auth requests answered 4.xx
	Reports           int `json:"reports"`           // accepted POSTs to /topic/... (= records)
	Fetches           int `json:"fetches"`           // accepted GETs of /topic/... (command fetches)
	Rejections        int `json:"rejections"`        // requests answered 4.xx (including AuthFailures)
	Duplicates        int `json:"duplicates"`        // retransmissions (same endpoint and MID within 247 s)
	Failures          int `json:"failures"`          // injected 5.00 answers
	Expirations       int `json:"expirations"`       // sessions ended by lifetime or ExpireAfter
	DroppedRequests   int `json:"droppedRequests"`   // request datagrams lost on purpose
	DroppedResponses  int `json:"droppedResponses"`  // response datagrams lost on purpose
	CommandsQueued    int `json:"commandsQueued"`    // commands queued
	CommandsDelivered int `json:"commandsDelivered"` // commands handed over (2102 or GET payload)
	Handshakes        int `json:"handshakes"`        // DTLS sessions established
	Activations       int `json:"activations"`       // device secrets handed out over DTLS (secureMode 3)
}

type command struct {
	topic   string // with the "/topic" prefix
	payload []byte
}

type session struct {
	token    string
	lifetime time.Duration
	lastSeen time.Time
	lastSeq  uint32
	count    int
}

type deviceState struct {
	Device
	signer *sign.Signer

	mu        sync.Mutex // guards the fields below
	sess      *session   // nil: not authenticated / session ended
	authCount int
	queue     []command
}

// Server is a running simulator.
type Server struct {
	cfg     Config
	devices map[string]*deviceState // key pk + "/" + dk

	udp     *udpServer
	control *control
	done    chan struct{}
	wg      sync.WaitGroup
	closeMu sync.Mutex
	closed  bool

	dtls *dtlsServer // nil without Config.DTLSListen

	rngMu sync.Mutex
	rng   *mrand.Rand

	mu      sync.Mutex // guards records, stats, log writes
	records []Record
	stats   Stats

	things thingStore // attributes set by devices
}

// Start validates cfg, binds the socket(s) and serves. When it returns the
// simulator is listening and serving.
func Start(cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	switch cfg.SignMode {
	case "":
		cfg.SignMode = SignRequired
	case SignRequired, SignUnknown:
	default:
		return nil, fmt.Errorf("sim: sign mode %q: want %q or %q", cfg.SignMode, SignRequired, SignUnknown)
	}
	switch cfg.CommandStyle {
	case "":
		cfg.CommandStyle = CommandInline
	case CommandInline, CommandGet:
	default:
		return nil, fmt.Errorf("sim: command style %q: want %q or %q", cfg.CommandStyle, CommandInline, CommandGet)
	}
	for name, p := range map[string]float64{"drop-requests": cfg.DropRequests, "drop-responses": cfg.DropResponses, "fail-rate": cfg.FailRate} {
		if !(p >= 0 && p <= 1) {
			return nil, fmt.Errorf("sim: %s %v: want a probability in 0..1", name, p)
		}
	}
	if cfg.Delay < 0 || cfg.Jitter < 0 || cfg.ExpireAfter < 0 || cfg.LifetimeOverride < 0 {
		return nil, errors.New("sim: delay, jitter, expire-after and lifetime override must not be negative")
	}
	if cfg.SignIV != nil && len(cfg.SignIV) != 16 {
		return nil, fmt.Errorf("sim: sign IV must be 16 bytes, got %d", len(cfg.SignIV))
	}
	s := &Server{
		cfg:     cfg,
		devices: make(map[string]*deviceState, len(cfg.Devices)),
		done:    make(chan struct{}),
		rng:     mrand.New(mrand.NewPCG(uint64(cfg.Seed), 0x656e6f732d73696d)), //nolint:gosec // faults, not crypto
	}
	for i, d := range cfg.Devices {
		if err := validateDevice(d); err != nil {
			return nil, fmt.Errorf("sim: device %d: %w", i+1, err)
		}
		signer, err := sign.NewSigner(d.Secret, cfg.SignIV)
		if err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		key := d.ProductKey + "/" + d.DeviceKey
		if _, dup := s.devices[key]; dup {
			return nil, fmt.Errorf("sim: device %s registered twice", key)
		}
		s.devices[key] = &deviceState{Device: d, signer: signer}
	}

	var err error
	if s.udp, err = listenUDP(s, cfg.Listen); err != nil {
		return nil, fmt.Errorf("sim: listen %s: %w", cfg.Listen, err)
	}
	if cfg.DTLSListen != "" || len(cfg.Products) > 0 {
		// Over DTLS, wire faults come from a relay in front of go-coap's
		// server (dtls_relay.go); over UDP the server applies them itself.
		needRelay := cfg.DropRequests > 0 || cfg.DropResponses > 0 || cfg.Delay > 0 || cfg.Jitter > 0
		if s.dtls, err = startDTLS(s, needRelay); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("sim: %w", err)
		}
	}
	if cfg.Control != "" {
		s.control, err = startControl(s, cfg.Control)
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("sim: %w", err)
		}
	}
	return s, nil
}

func validateDevice(d Device) error {
	for _, f := range []struct{ name, v string }{{"product key", d.ProductKey}, {"device key", d.DeviceKey}, {"secret", d.Secret}} {
		if f.v == "" {
			return fmt.Errorf("empty %s", f.name)
		}
	}
	if strings.ContainsAny(d.ProductKey+d.DeviceKey, "/:") {
		return errors.New("product and device keys must not contain '/' or ':'")
	}
	return nil
}

// Addr is the UDP address clients talk to, with the real port.
func (s *Server) Addr() string {
	return s.udp.addr()
}

// ControlAddr is the control channel's TCP address, or "" when it is off.
func (s *Server) ControlAddr() string {
	if s.control == nil {
		return ""
	}
	return s.control.addr()
}

// Close stops serving and releases every socket. It is idempotent.
func (s *Server) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	close(s.done)
	if s.control != nil {
		s.control.close()
	}
	s.udp.close()
	if s.dtls != nil {
		s.dtls.close()
	}
	s.wg.Wait()
	return nil
}

func (s *Server) logError(format string, args ...any) {
	if s.cfg.ErrorLog == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = io.WriteString(s.cfg.ErrorLog, strings.TrimRight(msg, "\n")+"\n")
}

// Records returns a copy of every accepted message, in acceptance order
// (none with Config.NoRecords).
func (s *Server) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, len(s.records))
	for i, r := range s.records {
		r.Payload = append([]byte(nil), r.Payload...)
		out[i] = r
	}
	return out
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// AuthCount is the number of successful authentications of one device.
func (s *Server) AuthCount(productKey, deviceKey string) int {
	d := s.devices[productKey+"/"+deviceKey]
	if d == nil {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.authCount
}

// PendingCommands is the number of commands queued and not yet delivered to a device.
func (s *Server) PendingCommands(productKey, deviceKey string) int {
	d := s.devices[productKey+"/"+deviceKey]
	if d == nil {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.queue)
}

// EndSession ends a device's current session as if its lifetime had run out:
// its token stops working (4.01) until it authenticates again.
func (s *Server) EndSession(productKey, deviceKey string) error {
	d := s.devices[productKey+"/"+deviceKey]
	if d == nil {
		return fmt.Errorf("sim: unknown device %s/%s", productKey, deviceKey)
	}
	d.mu.Lock()
	d.sess = nil
	d.mu.Unlock()
	if s.dtls != nil {
		s.dtls.endSessions(productKey, deviceKey) // over DTLS: close its sessions
	}
	return nil
}

// MaxCommandPayload is the largest command payload QueueCommand takes.
const MaxCommandPayload = 1024

// QueueCommand queues a command for a device. topic may be given with or
// without the "/topic" prefix ("" means "/sys/{pk}/{dk}/thing/model/down_raw");
// it is announced with the prefix in option 2100, as EnOS does.
func (s *Server) QueueCommand(productKey, deviceKey, topic string, payload []byte) error {
	d := s.devices[productKey+"/"+deviceKey]
	if d == nil {
		return fmt.Errorf("sim: unknown device %s/%s", productKey, deviceKey)
	}
	if topic == "" {
		topic = "/sys/" + productKey + "/" + deviceKey + "/thing/model/down_raw"
	}
	if !strings.HasPrefix(topic, "/") {
		topic = "/" + topic
	}
	if topic != "/topic" && !strings.HasPrefix(topic, "/topic/") {
		topic = "/topic" + topic
	}
	// Announcements and fetch answers travel in one datagram (EnOS keeps
	// payloads under ~1 KB; libenos does not fetch Block2 responses).
	if len(topic) > 255 || len(payload) > MaxCommandPayload {
		return fmt.Errorf("sim: command topic over 255 bytes or payload over %d bytes", MaxCommandPayload)
	}
	d.mu.Lock()
	d.queue = append(d.queue, command{topic: topic, payload: append([]byte(nil), payload...)})
	d.mu.Unlock()
	s.mu.Lock()
	s.stats.CommandsQueued++
	s.mu.Unlock()
	return nil
}
