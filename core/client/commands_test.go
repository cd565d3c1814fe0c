// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
)

const downRaw = "/sys/" + tPK + "/" + tDK + "/thing/model/down_raw"

func queueCommands(t *testing.T, s *sim.Server, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := s.QueueCommand(tPK, tDK, "", []byte(fmt.Sprintf("cmd%d", i))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPollPullsCommandsInOrder(t *testing.T) {
	for _, style := range []string{"inline", "get"} {
		t.Run(style, func(t *testing.T) {
			s := startSim(t, sim.Config{CommandStyle: style})
			c := newClient(t, s.Addr())
			queueCommands(t, s, 5)
			n, err := c.Poll(context.Background())
			if err != nil || n != 5 {
				t.Fatalf("Poll = %d, %v; want 5", n, err)
			}
			for i := 0; i < 5; i++ {
				cmd, ok := c.NextCommand()
				if !ok || cmd.Topic != downRaw || string(cmd.Payload) != fmt.Sprintf("cmd%d", i) {
					t.Fatalf("command %d: %+v %v", i, cmd, ok)
				}
			}
			if _, ok := c.NextCommand(); ok {
				t.Fatal("a command was delivered twice")
			}
			if n, err := c.Poll(context.Background()); n != 0 || err != nil {
				t.Fatalf("empty Poll = %d, %v", n, err)
			}
			if s.PendingCommands(tPK, tDK) != 0 {
				t.Fatal("commands left at the server")
			}
		})
	}
}

func TestReportPicksUpCommands(t *testing.T) {
	for _, style := range []string{"inline", "get"} {
		t.Run(style, func(t *testing.T) {
			s := startSim(t, sim.Config{CommandStyle: style})
			c := newClient(t, s.Addr())
			if _, err := c.Report(context.Background(), []byte("r")); err != nil {
				t.Fatal(err)
			}
			queueCommands(t, s, 1)
			if _, err := c.Report(context.Background(), []byte("r")); err != nil {
				t.Fatal(err)
			}
			cmd, ok := c.NextCommand()
			if !ok || string(cmd.Payload) != "cmd0" {
				t.Fatalf("%+v %v", cmd, ok)
			}
		})
	}
}

func TestHandlerRepliesFromInside(t *testing.T) {
	s := startSim(t, sim.Config{CommandStyle: "get"})
	c := newClient(t, s.Addr())
	var mu sync.Mutex
	var got []string
	done := make(chan struct{})
	c.SetCommandHandler(func(cmd Command) {
		if _, err := c.Reply(context.Background(), cmd.Topic, append([]byte("re:"), cmd.Payload...)); err != nil {
			t.Errorf("reply: %v", err)
		}
		mu.Lock()
		got = append(got, string(cmd.Payload))
		if len(got) == 3 {
			close(done)
		}
		mu.Unlock()
	})
	queueCommands(t, s, 3)
	if _, err := c.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("handler did not get 3 commands")
	}
	c.SetCommandHandler(nil)
	c.WaitHandler()
	var replies []string
	for _, r := range s.Records() {
		if r.Topic == downRaw+"_reply" {
			replies = append(replies, string(r.Payload))
		}
	}
	if fmt.Sprint(replies) != "[re:cmd0 re:cmd1 re:cmd2]" || fmt.Sprint(got) != "[cmd0 cmd1 cmd2]" {
		t.Fatalf("replies %v, handled %v", replies, got)
	}
}

func TestWaitCommand(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.WaitCommand(ctx); CodeOf(err) != CodeTimeout {
		t.Fatalf("err = %v", err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		queueCommands(t, s, 1)
		c.Poll(context.Background())
	}()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	cmd, err := c.WaitCommand(ctx2)
	if err != nil || string(cmd.Payload) != "cmd0" {
		t.Fatalf("%+v %v", cmd, err)
	}
	go func() { time.Sleep(50 * time.Millisecond); c.Close() }()
	if _, err := c.WaitCommand(context.Background()); CodeOf(err) != CodeClosed {
		t.Fatalf("after close: %v", err)
	}
}

func TestSlowHandlerDoesNotStallOtherClients(t *testing.T) {
	devs := []sim.Device{{ProductKey: tPK, DeviceKey: tDK, Secret: tSecret}, {ProductKey: tPK, DeviceKey: "other", Secret: "s2"}}
	s := startSim(t, sim.Config{Devices: devs})
	slow := newClient(t, s.Addr())
	release := make(chan struct{})
	slow.SetCommandHandler(func(Command) { <-release })
	defer close(release)
	queueCommands(t, s, 2)
	if _, err := slow.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The slow client's own reports still go through, and so do another's.
	if _, err := slow.Report(context.Background(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	other := newClient(t, s.Addr(), func(c *Config) { c.DeviceKey = "other"; c.DeviceSecret = "s2" })
	start := time.Now()
	for i := 0; i < 5; i++ {
		if _, err := other.Report(context.Background(), []byte("y")); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("other client took %v", el)
	}
}

func TestWaitCommandIfKeepsRefusedCommand(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	queueCommands(t, s, 1)
	if _, err := c.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	tooSmall := func(cmd Command) error { return errorf(CodeBuffer, "need %d", len(cmd.Payload)) }
	if _, err := c.WaitCommandIf(context.Background(), tooSmall); CodeOf(err) != CodeBuffer {
		t.Fatalf("err = %v", err)
	}
	cmd, err := c.WaitCommandIf(context.Background(), func(Command) error { return nil })
	if err != nil || string(cmd.Payload) != "cmd0" {
		t.Fatalf("the refused command was lost: %+v %v", cmd, err)
	}
}

func TestCommandsOfSeveralTopicsKeepTheirOrder(t *testing.T) {
	for _, style := range []string{"inline", "get"} {
		t.Run(style, func(t *testing.T) {
			s := startSim(t, sim.Config{CommandStyle: style})
			c := newClient(t, s.Addr())
			reboot := "/sys/" + tPK + "/" + tDK + "/thing/service/reboot"
			for i, topic := range []string{"", "", reboot, ""} {
				if err := s.QueueCommand(tPK, tDK, topic, []byte(fmt.Sprintf("c%d", i))); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := c.Poll(context.Background()); err != nil || n != 4 {
				t.Fatalf("Poll = %d, %v", n, err)
			}
			var got []string
			for {
				cmd, ok := c.NextCommand()
				if !ok {
					break
				}
				got = append(got, string(cmd.Payload)+"@"+cmd.Topic[strings.LastIndex(cmd.Topic, "/")+1:])
			}
			if fmt.Sprint(got) != "[c0@down_raw c1@down_raw c2@reboot c3@down_raw]" {
				t.Fatalf("got %v", got)
			}
		})
	}
}
