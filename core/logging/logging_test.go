package logging

import "testing"

func TestLevels(t *testing.T) {
	var got []string
	Infof("silent %d", 1) // no handler: nothing happens
	SetHandler(func(l Level, m string) { got = append(got, m) }, Warn)
	defer SetHandler(nil, Off)
	Errorf("e%d", 1)
	Warnf("w")
	Infof("i")
	Debugf("d")
	if len(got) != 2 || got[0] != "e1" || got[1] != "w" {
		t.Fatalf("got %q", got)
	}
	if Enabled(Info) || !Enabled(Error) {
		t.Fatal("Enabled disagrees with the level")
	}
	SetHandler(nil, Debug)
	Errorf("after removal")
	if len(got) != 2 {
		t.Fatal("a removed handler was called")
	}
}
