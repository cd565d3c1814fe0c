package logging

import "testing"

func TestLevels(t *testing.T) {
	var got []string
	Logf(Info, "silent %d", 1) // no handler: nothing happens
	SetHandler(func(l Level, m string) { got = append(got, m) }, Warn)
	defer SetHandler(nil, Off)
	Logf(Error, "e%d", 1)
	Logf(Warn, "w")
	Logf(Info, "i")
	Logf(Debug, "d")
	if len(got) != 2 || got[0] != "e1" || got[1] != "w" {
		t.Fatalf("got %q", got)
	}
	if Enabled(Info) || !Enabled(Error) {
		t.Fatal("Enabled disagrees with the level")
	}
	SetHandler(nil, Debug)
	Logf(Error, "after removal")
	if len(got) != 2 {
		t.Fatal("a removed handler was called")
	}
}
