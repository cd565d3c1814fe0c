// SPDX-License-Identifier: Apache-2.0

package client

import "context"

// codeQueued marks a queued report in tests written as "what did Report
// return": Report itself returns Outcome{Queued: true} and no error.
const codeQueued Code = 1

// reportQ is Report with a queued outcome turned into an *Error with Code
// codeQueued, so that one value says delivered (nil), queued or failed.
func reportQ(c *Client, ctx context.Context, payload []byte) error {
	out, err := c.Report(ctx, payload)
	if err == nil && out.Queued {
		return &Error{Code: codeQueued, Msg: out.String()}
	}
	return err
}
