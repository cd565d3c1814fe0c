// SPDX-License-Identifier: Apache-2.0

// simload drives enos-sim with many devices and many requests in flight, to
// measure the simulator itself (BENCHMARKS.md): its request rate over a long
// run and with 100,000 registered devices. It speaks raw CoAP (go-coap's
// codec, core/sign's signatures), not libenos, so the client's cost is small
// and constant.
//
//	simload -write-devices FILE -devices N     write N devices as PK:DK:SECRET lines
//	simload -addr HOST:PORT -devices N -requests R [-workers W] [-window K]
//
// Each worker owns a UDP socket and the devices i ≡ w (mod W), authenticates
// them, then reports from them in turn, one request at a time; a socket is
// replaced after 60,000 Message IDs (RFC 7252: no MID reuse to one endpoint
// within EXCHANGE_LIFETIME). It prints the rate of every window of K
// completed requests and a summary line.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libenos/libenos/core/sign"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

const (
	productKey   = "LoadPK"
	midsPerSock  = 60000
	optionSign   = message.OptionID(2101)
	retransmitIn = time.Second
)

func deviceKey(i int) string { return fmt.Sprintf("d%06d", i) }
func secret(i int) string    { return fmt.Sprintf("load-secret-%06d", i) }

func main() {
	addr := flag.String("addr", "", "enos-sim's UDP `HOST:PORT`")
	devices := flag.Int("devices", 100, "number of devices `N` (the simulator must know them: -write-devices)")
	requests := flag.Int("requests", 100000, "stop after `R` completed requests (authentications included)")
	workers := flag.Int("workers", 64, "`W` sockets, one request in flight on each")
	window := flag.Int("window", 10000, "print the rate of every `K` completed requests")
	writeDevices := flag.String("write-devices", "", "write the devices to `FILE` and exit")
	flag.Parse()
	if *writeDevices != "" {
		if err := writeDeviceFile(*writeDevices, *devices); err != nil {
			fmt.Fprintln(os.Stderr, "simload:", err)
			os.Exit(1)
		}
		return
	}
	if *addr == "" || *devices < 1 || *workers < 1 || *requests < 1 || *window < 1 {
		flag.Usage()
		os.Exit(2)
	}
	ra, err := net.ResolveUDPAddr("udp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "simload:", err)
		os.Exit(2)
	}
	run(ra, *devices, *requests, min(*workers, *devices), *window)
}

func writeDeviceFile(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, "%s:%s:%s\n", productKey, deviceKey(i), secret(i))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

type device struct {
	key    string
	secret string
	signer *sign.Signer
	token  string
	seq    uint32
}

func run(server *net.UDPAddr, nDevices, requests, nWorkers, window int) {
	var done atomic.Int64
	var failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for w := range nWorkers {
		var mine []*device
		for i := w; i < nDevices; i += nWorkers {
			s, err := sign.NewSigner(secret(i), nil)
			if err != nil {
				panic(err)
			}
			mine = append(mine, &device{key: deviceKey(i), secret: secret(i), signer: s})
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(server, mine, &done, &failed, stop)
		}()
	}

	// Windows of completed requests, sampled every millisecond.
	var rates []float64
	last, lastAt := int64(0), start
	// The rate once every device has authenticated (reports only), from the
	// first window that starts after the authentications.
	reportsFrom, reportsAt := int64(-1), time.Time{}
	for next := int64(window); next <= int64(requests); {
		time.Sleep(time.Millisecond)
		if n := done.Load(); n >= next {
			now := time.Now()
			rate := float64(n-last) / now.Sub(lastAt).Seconds()
			rates = append(rates, rate)
			fmt.Printf("window %d: requests %d..%d: %.0f/s\n", len(rates), last, n, rate)
			if reportsFrom < 0 && last >= int64(nDevices) {
				reportsFrom, reportsAt = last, lastAt
			}
			last, lastAt = n, now
			next = (n/int64(window) + 1) * int64(window)
		}
	}
	close(stop)
	wg.Wait()
	total := time.Since(start)
	reportRate := 0.0
	if reportsFrom >= 0 {
		reportRate = float64(last-reportsFrom) / lastAt.Sub(reportsAt).Seconds()
	}
	fmt.Printf("summary: devices %d requests %d failed %d seconds %.1f overall %.0f/s reports-only %.0f/s first-window %.0f/s last-window %.0f/s last/first %.2f\n",
		nDevices, done.Load(), failed.Load(), total.Seconds(), float64(done.Load())/total.Seconds(), reportRate,
		rates[0], rates[len(rates)-1], rates[len(rates)-1]/rates[0])
}

// worker state: a socket that is replaced every midsPerSock requests.
type lane struct {
	server *net.UDPAddr
	conn   *net.UDPConn
	mid    uint16
	used   int
	buf    []byte
	in     []byte
	msg    message.Message
}

func work(server *net.UDPAddr, devs []*device, done, failed *atomic.Int64, stop <-chan struct{}) {
	l := &lane{server: server, buf: make([]byte, 2048), in: make([]byte, 2048), msg: message.Message{Options: make(message.Options, 0, 16)}}
	defer func() {
		if l.conn != nil {
			_ = l.conn.Close()
		}
	}()
	for _, d := range devs {
		select {
		case <-stop:
			return
		default:
		}
		if !authenticate(l, d) {
			failed.Add(1)
		}
		done.Add(1)
	}
	payload := []byte("load")
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		d := devs[i%len(devs)]
		d.seq++
		sig, err := d.signer.Sign(d.token, d.seq)
		if err != nil {
			panic(err)
		}
		path := []string{"topic", "sys", productKey, d.key, "thing", "model", "up_raw"}
		code, _ := l.exchange(codes.POST, path, []message.Option{{ID: optionSign, Value: []byte(sig)}}, payload)
		if code != codes.Changed {
			failed.Add(1)
		}
		done.Add(1)
	}
}

func authenticate(l *lane, d *device) bool {
	as, err := sign.AuthSign(productKey, d.key, d.secret, 3600)
	if err != nil {
		panic(err)
	}
	body := fmt.Appendf(nil, `{"secureMode":2,"lifetime":3600,"sign":"%s"}`, as)
	code, reply := l.exchange(codes.POST, []string{"auth", productKey, d.key}, nil, body)
	var r struct{ Token string }
	if code != codes.Content || json.Unmarshal(reply, &r) != nil || r.Token == "" {
		return false
	}
	d.token = r.Token
	return true
}

// exchange sends one CON and waits for its ACK, retransmitting every second.
func (l *lane) exchange(code codes.Code, path []string, extra []message.Option, payload []byte) (codes.Code, []byte) {
	if l.conn == nil || l.used >= midsPerSock {
		if l.conn != nil {
			_ = l.conn.Close()
		}
		c, err := net.DialUDP("udp", nil, l.server)
		if err != nil {
			panic(err)
		}
		l.conn, l.used = c, 0
	}
	l.used++
	l.mid++
	opts := make(message.Options, 0, len(path)+len(extra))
	for _, p := range path {
		opts = append(opts, message.Option{ID: message.URIPath, Value: []byte(p)})
	}
	opts = append(opts, extra...)
	token := []byte{byte(l.mid >> 8), byte(l.mid), 0x5a}
	m := message.Message{Token: token, Code: code, Options: opts, Payload: payload, MessageID: int32(l.mid), Type: message.Confirmable}
	n, err := coder.DefaultCoder.Encode(m, l.buf)
	if err != nil {
		panic(err)
	}
	for {
		if _, err := l.conn.Write(l.buf[:n]); err != nil {
			return 0, nil
		}
		_ = l.conn.SetReadDeadline(time.Now().Add(retransmitIn))
		for {
			k, err := l.conn.Read(l.in)
			if err != nil {
				break // retransmit
			}
			if _, err := coder.DefaultCoder.Decode(l.in[:k], &l.msg); err != nil {
				continue
			}
			if l.msg.Type == message.Acknowledgement && uint16(l.msg.MessageID) == l.mid {
				return l.msg.Code, l.msg.Payload
			}
		}
	}
}
