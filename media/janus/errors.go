package janus

import (
	"errors"
	"fmt"
	"strings"
)

// Reasons a join fails or a session ends; match them with errors.Is.
var (
	ErrUnauthorized = errors.New("janus: wrong or missing meeting PIN; check the passcode")
	ErrRoomNotFound = errors.New("janus: room not found; check the meeting link")
	ErrRoomFull     = errors.New("janus: room is full; no more participants can send")
	ErrUnreachable  = errors.New("janus: server unreachable; check the network and the meeting server address")
	ErrSessionGone  = errors.New("janus: session lost (connection dropped, session expired or server restarted); join again")
	ErrFeedGone     = errors.New("janus: participant stopped sending")
)

// Janus error codes this package tells apart (janus.h and janus_videoroom.c).
const (
	codeSessionNotFound = 458
	codeMissingElement  = 429
	codeNoSuchRoom      = 426
	codePublishersFull  = 432
	codeUnauthorized    = 433
)

// Error is an error answer from Janus: a core error or a VideoRoom one.
type Error struct {
	Request string // the request that failed, such as "join"
	Code    int
	Reason  string
}

// Error says what the room should show first, then what Janus said.
func (e *Error) Error() string {
	if s := e.Unwrap(); s != nil {
		return fmt.Sprintf("%v (%s: Janus error %d: %s)", s, e.Request, e.Code, e.Reason)
	}
	return fmt.Sprintf("janus: %s: error %d: %s", e.Request, e.Code, e.Reason)
}

// Unwrap maps the codes a caller branches on to this package's sentinels.
func (e *Error) Unwrap() error {
	switch e.Code {
	case codeUnauthorized:
		return ErrUnauthorized
	case codeNoSuchRoom:
		return ErrRoomNotFound
	case codePublishersFull:
		return ErrRoomFull
	case codeMissingElement:
		// A room with a PIN, joined without one.
		if strings.Contains(e.Reason, "(pin)") {
			return ErrUnauthorized
		}
	case codeSessionNotFound:
		return ErrSessionGone
	}
	return nil
}
