// SPDX-License-Identifier: Apache-2.0

package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Slots is a small record that is rewritten in place, so that saving it
// never needs free space on the file system: the file is written whole
// (preallocated) when it is created and later writes overwrite one of its two
// fixed-size slots. A write goes to the slot that does not hold the newest
// record and carries a counter one higher; each slot is checksummed, so a
// write torn by a crash or power loss spoils only the slot being written and
// the previous record survives in the other one.
//
// Slot layout: slotMagic (8), counter (uint64), length (uint32), data,
// SHA-256 of everything before it (32), zero padding to the slot size.
type Slots struct {
	dir      *Dir
	name     string
	slotSize int64
	f        *os.File
	counter  uint64 // of the newest valid slot; 0 if none
	next     int    // the slot the next write goes to
	inPlace  bool   // the file has the slot layout and size
}

const (
	slotMagic    = "libenos\x02"
	slotOverhead = 8 + 8 + 4 + sha256.Size
	// slotFileLimit bounds what OpenSlots reads of a file.
	slotFileLimit = 1 << 20
)

// OpenSlots opens dir/name, creating it preallocated (two empty slots of
// slotSize bytes) if it does not exist. legacy is the whole content of an
// existing file that does not have the slot layout (an older format for the
// caller to read, or garbage); the first Write replaces it.
func (d *Dir) OpenSlots(name string, slotSize int) (s *Slots, legacy []byte, err error) {
	s = &Slots{dir: d, name: name, slotSize: int64(slotSize)}
	f, err := d.OpenFile(name, os.O_RDWR)
	if errors.Is(err, os.ErrNotExist) {
		if err := d.WriteAtomic(name, make([]byte, 2*slotSize)); err != nil {
			return nil, nil, fmt.Errorf("cannot reserve room for %s: %w", d.name(name), err)
		}
		f, err = d.OpenFile(name, os.O_RDWR)
	}
	if err != nil {
		return nil, nil, err
	}
	s.f = f
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	size := st.Size()
	if half := size / 2; size%2 == 0 && half >= s.slotSize && size <= slotFileLimit &&
		(size == 2*s.slotSize || s.magicAt(0) || s.magicAt(half)) {
		s.slotSize = half // a larger record may have grown the slots
		s.inPlace = true
		return s, nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(f, slotFileLimit))
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return s, b, nil
}

func (s *Slots) magicAt(off int64) bool {
	b := make([]byte, len(slotMagic))
	n, _ := s.f.ReadAt(b, off)
	return string(b[:n]) == slotMagic
}

// Read returns the newest valid record. ok is false when no record was ever
// written; err is set when slots were written but none is valid.
func (s *Slots) Read() (data []byte, ok bool, err error) {
	if !s.inPlace {
		return nil, false, errors.New("not in the slot layout")
	}
	buf := make([]byte, 2*s.slotSize)
	if _, err := s.f.ReadAt(buf, 0); err != nil {
		return nil, false, err
	}
	blank := true
	s.counter, s.next = 0, 0
	for i := 0; i < 2; i++ {
		slot := buf[int64(i)*s.slotSize : int64(i+1)*s.slotSize]
		if !allZero(slot) {
			blank = false
		}
		c, d, valid := parseSlot(slot)
		if valid && c > s.counter {
			s.counter, s.next, data = c, 1-i, d
		}
	}
	switch {
	case s.counter > 0:
		return data, true, nil
	case blank:
		return nil, false, nil
	}
	return nil, false, errors.New("no valid record in either slot (torn or edited)")
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func parseSlot(slot []byte) (counter uint64, data []byte, ok bool) {
	if len(slot) < slotOverhead || string(slot[:8]) != slotMagic {
		return 0, nil, false
	}
	counter = binary.BigEndian.Uint64(slot[8:16])
	n := int64(binary.BigEndian.Uint32(slot[16:20]))
	if n > int64(len(slot)-slotOverhead) {
		return 0, nil, false
	}
	end := 20 + n
	sum := sha256.Sum256(slot[:end])
	if !bytes.Equal(sum[:], slot[end:end+sha256.Size]) || counter == 0 {
		return 0, nil, false
	}
	return counter, slot[20:end], true
}

func buildSlot(slot []byte, counter uint64, data []byte) {
	clear(slot)
	copy(slot, slotMagic)
	binary.BigEndian.PutUint64(slot[8:16], counter)
	binary.BigEndian.PutUint32(slot[16:20], uint32(len(data)))
	copy(slot[20:], data)
	sum := sha256.Sum256(slot[:20+len(data)])
	copy(slot[20+len(data):], sum[:])
}

// Write saves data durably. In place (the usual case) it overwrites one slot
// and fsyncs: no new space is needed. A file in another format, or data
// larger than a slot, is replaced atomically (WriteAtomic) by a new file with
// slots large enough: that one write needs free space.
func (s *Slots) Write(data []byte) error {
	need := int64(len(data) + slotOverhead)
	if s.inPlace && need <= s.slotSize {
		slot := make([]byte, s.slotSize)
		buildSlot(slot, s.counter+1, data)
		if _, err := s.f.WriteAt(slot, int64(s.next)*s.slotSize); err != nil {
			return err
		}
		if err := s.f.Sync(); err != nil {
			return err
		}
		s.counter++
		s.next = 1 - s.next
		return nil
	}
	size := s.slotSize
	for size < need {
		size *= 2
	}
	img := make([]byte, 2*size)
	buildSlot(img[:size], s.counter+1, data)
	if err := s.dir.WriteAtomic(s.name, img); err != nil {
		return err
	}
	f, err := s.dir.OpenFile(s.name, os.O_RDWR)
	if err != nil {
		return err
	}
	s.f.Close()
	s.f, s.slotSize, s.inPlace = f, size, true
	s.counter++
	s.next = 1
	return nil
}

// Legacy says whether the file is not (yet) in the slot layout.
func (s *Slots) Legacy() bool { return !s.inPlace }

// Close closes the file.
func (s *Slots) Close() error { return s.f.Close() }
