package client

import (
	"context"
)

// Client is one device's connection to EnOS.
type Client struct {
	cfg Config
}

// New validates cfg, applies defaults and returns a Client. It does no I/O.
func New(cfg Config) (*Client, error) {
	return &Client{cfg: cfg}, nil
}

// Authenticate authenticates now, ending any current session.
func (c *Client) Authenticate(ctx context.Context) error {
	return errorf(CodeInternal, "not implemented yet")
}

// Report posts payload to /topic/sys/{pk}/{dk}/thing/model/up_raw and returns
// once EnOS acknowledged it with 2.xx, authenticating first when needed.
func (c *Client) Report(ctx context.Context, payload []byte) error {
	_, err := c.Publish(ctx, "", payload)
	return err
}

// Publish posts payload to an MQTT-style topic ("/sys/{pk}/{dk}/thing/..."; a
// leading "/topic" is accepted too) and returns EnOS's response. A 4.xx/5.xx
// answer is returned as an *Error with Code CodeRejected and the Response too.
func (c *Client) Publish(ctx context.Context, topic string, payload []byte) (*Response, error) {
	return nil, errorf(CodeInternal, "not implemented yet")
}

// NextSignature consumes the next sequence of the session (authenticating
// first when needed) and returns its option-2101 signature, for hosts that
// send CoAP themselves. If the signature is longer than room characters, it
// returns CodeBuffer and consumes nothing.
func (c *Client) NextSignature(ctx context.Context, room int) (Signature, error) {
	return Signature{}, errorf(CodeInternal, "not implemented yet")
}

// Close ends the client; later calls return CodeClosed. Close is idempotent
// in Go; the C ABI reports a second close as ENOS_ERR_CLOSED.
func (c *Client) Close() error {
	return nil
}
