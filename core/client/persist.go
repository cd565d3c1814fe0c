// SPDX-License-Identifier: Apache-2.0

package client

import (
	"errors"
	"time"

	"github.com/libenos/libenos/core/logging"
	"github.com/libenos/libenos/core/sign"
	"github.com/libenos/libenos/core/state"
)

// seqBlock is how many sequences one reservation covers. Each reservation
// costs one fsync; a restart skips at most this many (of 2^31).
const seqBlock = 256

// openState locks cfg.StateDir and resumes a saved session if it is still
// the same device on the same server.
func (c *Client) openState() error {
	id := state.Identity(c.cfg.Server, c.cfg.ProductKey, c.cfg.DeviceKey, c.cfg.DeviceSecret, string(c.cfg.SignIV))
	st, err := state.Open(c.cfg.StateDir, id)
	if errors.Is(err, state.ErrLocked) {
		return &Error{Code: CodeState, Msg: "state directory " + c.cfg.StateDir + " is used by another client or process", Hint: lockedHint}
	}
	if err != nil {
		return &Error{Code: CodeState, Msg: "cannot open state directory", Err: err, Hint: stateHint}
	}
	c.store = st
	if c.dtls != nil {
		return nil // over DTLS a session is a handshake: nothing to resume
	}
	saved, ok, err := st.Load()
	if err != nil {
		// Corrupt or foreign: report it and start with a fresh authentication.
		c.logf(logging.Warn, "ignoring saved session: %v", err)
		c.stats.stateErrors.Add(1)
		return nil
	}
	if !ok || saved.Reserved >= maxSeqForResume {
		return nil
	}
	// Every sequence up to Reserved may have been sent before the restart,
	// so the resumed session continues after it.
	c.sess = session{valid: true, token: saved.Token, signing: saved.Signing, seq: saved.Reserved, lastSeen: saved.LastSeen}
	c.reserved = saved.Reserved
	c.sessGen++
	c.signLen.Store(c.sessionSignLen())
	c.savedSeen = saved.LastSeen
	c.logf(logging.Info, "resumed saved session at sequence %d", saved.Reserved+1)
	return nil
}

// maxSeqForResume leaves room for at least one block after a resume.
const maxSeqForResume = sign.MaxSequence - seqBlock

// persistState says how the current session relates to the state directory.
//
// A save that fails may still have reached the disk (a write whose fsync
// failed), so after a failed save the session it was for must not sign any
// sequence beyond what is known to be reserved: a restart could resume it
// and reuse one. Such a session is abandoned: libenos authenticates once
// more and keeps the new session in memory only. A memory-only session is
// never saved (a restart cannot resume it, so its sequences need no
// reservation); the next authentication (expiry, 4.01) tries to save again.
// Reports therefore keep working when the state directory cannot be written
// (a full or read-only file system), at the cost of one authentication per
// failure, never a loop.
type persistState struct {
	memOnly     bool // the current session is kept in memory only
	memOnlyNext bool // the next session will be
	// failSaves, if set (tests), makes every save fail with its error.
	failSaves func() error
}

// errSessionAbandoned tells the caller of signNext to authenticate again.
var errSessionAbandoned = errors.New("session abandoned: its sequence reservation could not be saved")

// nextSeq returns the next sequence, first persisting a reservation that
// covers it when a state directory is used, so that no sequence is ever sent
// twice across a crash. When the reservation cannot be saved it abandons the
// session and returns errSessionAbandoned (see persistState). Called with
// fifoLock held.
func (c *Client) nextSeq() (uint32, error) {
	seq := c.sess.seq + 1
	if c.store != nil && !c.persist.memOnly && seq > c.reserved {
		res := uint64(seq) + seqBlock - 1
		if res > sign.MaxSequence {
			res = sign.MaxSequence
		}
		if err := c.saveState(uint32(res)); err != nil {
			c.logf(logging.Warn, "%v; authenticating again, the new session is kept in memory only", err)
			c.sess.valid = false
			c.persist.memOnlyNext = true
			return 0, errSessionAbandoned
		}
	}
	return seq, nil
}

// saveState writes the session with a new reservation; a memory-only
// session is not written.
func (c *Client) saveState(reserved uint32) error {
	if c.dtls != nil {
		return nil // over DTLS there is no token or sequence to keep
	}
	if c.persist.memOnly {
		c.reserved = reserved
		return nil
	}
	if c.persist.failSaves != nil {
		if err := c.persist.failSaves(); err != nil {
			c.stats.stateErrors.Add(1)
			return &Error{Code: CodeState, Msg: "cannot save the session", Err: err}
		}
	}
	s := state.Session{Reserved: reserved}
	if c.sess.valid {
		s.Token, s.Signing, s.LastSeen = c.sess.token, c.sess.signing, c.sess.lastSeen
	}
	if err := c.store.Save(s); err != nil {
		c.stats.stateErrors.Add(1)
		return &Error{Code: CodeState, Msg: "cannot save the session", Err: err}
	}
	c.reserved = reserved
	c.savedSeen = s.LastSeen
	return nil
}

// touchState persists lastSeen now and then, so a restart knows the session
// is still fresh. At most once per tenth of the lifetime: the sliding lifetime
// is checked with that much margin anyway.
func (c *Client) touchState() {
	if c.store == nil {
		return
	}
	life := time.Duration(c.cfg.Lifetime) * time.Second
	if c.sess.lastSeen.Sub(c.savedSeen) < life/10 {
		return
	}
	if err := c.saveState(c.reserved); err != nil {
		c.logf(logging.Warn, "%v", err)
	}
}
