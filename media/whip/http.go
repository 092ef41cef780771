package whip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/pion/webrtc/v4"
)

const (
	contentTypeSDP = "application/sdp"
	maxSDP         = 1 << 20 // an answer larger than this is not an SDP
	maxErrorText   = 200
)

// exchange is the HTTP side of one session: the endpoint, the token and how
// requests are made.
type exchange struct {
	hc      *http.Client
	token   string
	timeout time.Duration
	log     *slog.Logger
}

// response is a successful offer's result.
type response struct {
	answer   string
	resource *url.URL
	header   http.Header
}

// do sends req with the bearer token and bounds it by the request timeout.
// The response body is read whole (up to limit bytes) and closed.
func (x *exchange) do(ctx context.Context, what string, req *http.Request, limit int64) (*http.Response, []byte, error) {
	if x.token != "" {
		req.Header.Set("Authorization", "Bearer "+x.token)
	}
	rctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	resp, err := x.hc.Do(req.WithContext(rctx))
	if err == nil {
		var body []byte
		body, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
		resp.Body.Close()
		if err == nil && int64(len(body)) > limit {
			return nil, nil, fmt.Errorf("whip: %s %s: answer larger than %d bytes", what, redact(req.URL), limit)
		}
		if err == nil {
			return resp, body, nil
		}
	}
	// url.Error repeats the URL, query and all; the cause is enough.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	// A timeout, ours or the caller's, means the server is unreachable; a
	// cancelled request is just that.
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil, nil, fmt.Errorf("whip: %s %s: %w", what, redact(req.URL), ctx.Err())
	}
	return nil, nil, fmt.Errorf("%w (%s %s: %v)", ErrUnreachable, what, redact(req.URL), err)
}

// offer POSTs an SDP offer to a WHIP or WHEP endpoint and returns the
// answer and the session's resource URL (RFC 9725).
func (x *exchange) offer(ctx context.Context, what string, endpoint *url.URL, sdp string) (*response, error) {
	req, err := http.NewRequest(http.MethodPost, endpoint.String(), strings.NewReader(sdp))
	if err != nil {
		return nil, fmt.Errorf("whip: %s: %w", what, err)
	}
	req.Header.Set("Content-Type", contentTypeSDP)
	req.Header.Set("Accept", contentTypeSDP)
	resp, body, err := x.do(ctx, what, req, maxSDP)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode/100 == 2 && resp.StatusCode != http.StatusCreated:
		return nil, fmt.Errorf("whip: %s %s: answered %d %s, want 201 Created; the server does not speak WHIP/WHEP (RFC 9725)",
			what, redact(req.URL), resp.StatusCode, http.StatusText(resp.StatusCode))
	case resp.StatusCode != http.StatusCreated:
		return nil, httpError(what, req.URL, resp, body)
	}
	// Relative to the URL that answered, after any redirect (RFC 9110 §10.2.2).
	base := resp.Request.URL
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("whip: %s %s: 201 Created without a Location; the server does not speak WHIP/WHEP (RFC 9725)", what, redact(base))
	}
	resource, err := base.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("whip: %s %s: unreadable Location %q: %w", what, redact(base), loc, err)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != contentTypeSDP {
		return nil, fmt.Errorf("whip: %s %s: answer is %q, want %s", what, redact(base), resp.Header.Get("Content-Type"), contentTypeSDP)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("v=0")) {
		return nil, fmt.Errorf("whip: %s %s: the answer is not an SDP", what, redact(base))
	}
	return &response{answer: string(body), resource: resource, header: resp.Header}, nil
}

// iceServers asks the endpoint for its STUN and TURN servers with OPTIONS
// (RFC 9725). A server that does not answer with Link headers has
// none to give; only a failure to reach it is an error.
func (x *exchange) iceServers(ctx context.Context, endpoint *url.URL) ([]webrtc.ICEServer, error) {
	req, err := http.NewRequest(http.MethodOptions, endpoint.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("whip: OPTIONS: %w", err)
	}
	resp, _, err := x.do(ctx, "OPTIONS", req, maxErrorText)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		x.log.Debug("whip: OPTIONS refused", "url", redact(endpoint), "status", resp.StatusCode)
		return nil, nil
	}
	return ICEServersFromLinks(resp.Header), nil
}

// hangUp DELETEs the session's resource (RFC 9725). A resource the
// server no longer knows is gone already, which is what was wanted.
func (x *exchange) hangUp(ctx context.Context, resource *url.URL) error {
	req, err := http.NewRequest(http.MethodDelete, resource.String(), nil)
	if err != nil {
		return fmt.Errorf("whip: DELETE: %w", err)
	}
	resp, body, err := x.do(ctx, "DELETE", req, maxSDP)
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusNotFound:
		x.log.Debug("whip: resource already gone", "resource", redact(resource))
		return nil
	}
	return httpError("DELETE", req.URL, resp, body)
}

func httpError(what string, u *url.URL, resp *http.Response, body []byte) error {
	e := &HTTPError{Request: what, URL: redact(u), Status: resp.StatusCode, Text: oneLine(body, maxErrorText)}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			e.RetryAfter = max(time.Until(t).Round(time.Second), 0)
		}
	}
	return e
}

// oneLine makes a server's text fit one status line: printable, spaces
// collapsed, at most n bytes.
func oneLine(b []byte, n int) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "")), " ")
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		cut := n
		for cut > 0 && !utfStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utfStart(b byte) bool { return b&0xC0 != 0x80 }

// redact drops a URL's query and user information: tokens hide there.
func redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return c.String()
}
