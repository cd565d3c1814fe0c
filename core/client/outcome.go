// SPDX-License-Identifier: Apache-2.0

package client

import "errors"

// Outcome is what became of a report that Report accepted. Report returns a
// non-nil error only when the report was NOT accepted (refused, invalid, queue
// full, ...); a report kept in the offline queue is a success, not an error.
type Outcome struct {
	// Queued is false when EnOS acknowledged the report with 2.xx, true when
	// it was written to the offline queue (only with Config.StateDir) and
	// will be delivered later, in order, by the client's queue worker or by
	// a later client on the same state directory.
	Queued bool
	// Cause says why a queued report was not delivered now: the delivery
	// error (network, timeout, 5.xx) or ErrQueuedBehind. Nil when delivered.
	Cause error
}

// ErrQueuedBehind is the Cause of a report queued because earlier reports
// still wait in the offline queue: reports are delivered in order.
var ErrQueuedBehind = errors.New("queued behind earlier undelivered reports")

// String renders the outcome for people: "delivered", or "queued: CAUSE".
func (o Outcome) String() string {
	switch {
	case !o.Queued:
		return "delivered"
	case o.Cause != nil:
		return "queued: " + o.Cause.Error()
	}
	return "queued"
}
