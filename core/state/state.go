// SPDX-License-Identifier: Apache-2.0

// Package state keeps one device's session on disk so that a restarted
// process resumes it: the token, the highest sequence that may have been used,
// and when EnOS last answered. The session file is preallocated when the
// directory is opened and rewritten in place in one of two checksummed slots
// (see Slots), so a save needs no free space and a kill -9 or power loss at
// any instant leaves the old or the new session. A lock file keeps a second
// process away. Every file is opened through a checked Dir (see OpenDir).
package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

const (
	sessionFile = "session"
	lockFile    = "lock"
	header      = "libenos-session 1 " // the 1.0 format, still read (parseLegacy)
)

// ErrLocked means another process (or another client in this one) uses the directory.
var ErrLocked = errors.New("state directory is in use by another client")

// Session is what survives a restart.
type Session struct {
	Token    string    `json:"token"`
	Signing  bool      `json:"signing"`
	Reserved uint32    `json:"reserved"` // every sequence up to here may have been used
	LastSeen time.Time `json:"lastSeen"` // last answer from EnOS
}

type file struct {
	Identity string `json:"identity"`
	Session
}

// Store is an open, locked state directory.
type Store struct {
	dir      *Dir
	identity string
	lock     *os.File
	session  *Slots
	legacy   []byte // the session file in the 1.0 format, until the first Save
}

// sessionSlot is the session file's slot size: a record of a token up to
// about 3.9 KB is saved in place; a longer one grows the file once.
const sessionSlot = 4096

// Identity derives a fingerprint of the device and server from its
// configuration. It is a salted hash, so the file reveals neither the secret
// nor the SignKey (which is part of the plain SHA-256 of the secret).
func Identity(parts ...string) string {
	h := sha256.New()
	h.Write([]byte("libenos state identity\x00"))
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Open creates dir if needed (mode 0700), checks that it is safe (see
// OpenDir) and locks it.
func Open(path, identity string) (*Store, error) {
	dir, err := OpenDir(path)
	if err != nil {
		return nil, err
	}
	f, err := dir.OpenFile(lockFile, os.O_RDWR|os.O_CREATE)
	if err != nil {
		dir.Close()
		return nil, err
	}
	// flock locks belong to the open file description: a second Open in the
	// same process is refused as well as one in another process.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		dir.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, err
	}
	// The session file is created with its room reserved now, so that a
	// full file system cannot stop a later save.
	sess, legacy, err := dir.OpenSlots(sessionFile, sessionSlot)
	if err != nil {
		f.Close()
		dir.Close()
		return nil, err
	}
	return &Store{dir: dir, identity: identity, lock: f, session: sess, legacy: legacy}, nil
}

// Load returns the saved session. ok is false when there is none; err is set
// when a file exists but is corrupt or belongs to another device or server:
// the caller then starts afresh (and the next Save replaces the file).
func (s *Store) Load() (sess Session, ok bool, err error) {
	// Read the file as it is now (not as Open found it).
	slots, legacy, err := s.dir.OpenSlots(sessionFile, sessionSlot)
	if err != nil {
		return Session{}, false, err
	}
	s.session.Close()
	s.session, s.legacy = slots, legacy
	var body []byte
	if legacy != nil {
		if body, err = parseLegacy(legacy); err != nil {
			return Session{}, false, err
		}
	} else {
		b, found, err := slots.Read()
		if err != nil || !found {
			return Session{}, false, err
		}
		body = b
	}
	var f file
	if err := json.Unmarshal(body, &f); err != nil {
		return Session{}, false, fmt.Errorf("session file is not valid JSON: %w", err)
	}
	if f.Identity != s.identity {
		return Session{}, false, errors.New("session file belongs to another device, secret or server")
	}
	return f.Session, true, nil
}

// parseLegacy reads the 1.0 format: a header line with the SHA-256 of the
// JSON body that follows.
func parseLegacy(b []byte) ([]byte, error) {
	sum, body, found := strings.Cut(string(b), "\n")
	if !found || !strings.HasPrefix(sum, header) {
		return nil, errors.New("session file has no libenos header")
	}
	want := sha256.Sum256([]byte(body))
	if sum[len(header):] != hex.EncodeToString(want[:]) {
		return nil, errors.New("session file checksum mismatch (torn or edited)")
	}
	return []byte(body), nil
}

// Save writes the session durably, in place: it needs no free space on the
// file system (see Slots), and a crash at any instant leaves the previous or
// the new session.
func (s *Store) Save(sess Session) error {
	body, err := json.Marshal(file{Identity: s.identity, Session: sess})
	if err != nil {
		return err
	}
	if err := s.session.Write(body); err != nil {
		return err
	}
	s.legacy = nil
	return nil
}

// Close releases the lock.
func (s *Store) Close() error {
	if s.lock == nil {
		return nil
	}
	s.session.Close()
	err := s.lock.Close() // closing the descriptor releases the flock
	s.lock = nil
	s.dir.Close()
	return err
}
