// SPDX-License-Identifier: Apache-2.0

package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Kind says how the answer to a queued message is judged when it is sent.
type Kind uint8

const (
	// KindRaw: any 2.xx answer delivers the message (reports to up_raw).
	KindRaw Kind = 0
	// KindThing: a thing-model JSON request; EnOS's JSON reply must also
	// carry code 200, else the message is refused.
	KindThing Kind = 1
)

// Record body layout (inside the checksummed record):
//
//	uint16 big-endian  topic length, high bit = KindThing
//	topic bytes
//	payload bytes
//
// Records written before kinds existed have the high bit clear (their topics
// are far shorter than 32 KiB) and read back as KindRaw.
const (
	thingFlag   = 0x8000
	maxTopicLen = 0x7fff
)

func encodeBody(it Item) ([]byte, error) {
	if len(it.Topic) > maxTopicLen {
		return nil, fmt.Errorf("topic of %d bytes is too long to queue", len(it.Topic))
	}
	n := uint16(len(it.Topic))
	switch it.Kind {
	case KindRaw:
	case KindThing:
		n |= thingFlag
	default:
		return nil, fmt.Errorf("unknown queue item kind %d", it.Kind)
	}
	body := make([]byte, 2+len(it.Topic)+len(it.Payload))
	binary.BigEndian.PutUint16(body, n)
	copy(body[2:], it.Topic)
	copy(body[2+len(it.Topic):], it.Payload)
	return body, nil
}

func decodeBody(body []byte) (Item, error) {
	if len(body) < 2 {
		return Item{}, errors.New("queue record is too short")
	}
	n := binary.BigEndian.Uint16(body)
	kind := KindRaw
	if n&thingFlag != 0 {
		kind = KindThing
	}
	tl := int(n &^ thingFlag)
	if 2+tl > len(body) {
		return Item{}, errors.New("queue record has a bad topic length")
	}
	return Item{Topic: string(body[2 : 2+tl]), Payload: body[2+tl:], Kind: kind}, nil
}
