package serial

import "net"

// ClientConn exposes a client's connection so tests can misbehave with it.
func ClientConn(c *Client) net.Conn { return c.conn }
