package ua

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// mediaControlType is the content type of SIP INFO video control
// (draft-levin-mmusic-xml-media-control, what room systems send).
const mediaControlType = "application/media_control+xml"

// fastUpdateXML asks the far end's encoder for a key frame.
const fastUpdateXML = `<?xml version="1.0" encoding="utf-8" ?>
<media_control>
  <vc_primitive>
    <to_encoder>
      <picture_fast_update/>
    </to_encoder>
  </vc_primitive>
</media_control>
`

type mediaControl struct {
	XMLName    xml.Name `xml:"media_control"`
	Primitives []struct {
		ToEncoder struct {
			FastUpdate *struct{} `xml:"picture_fast_update"`
		} `xml:"to_encoder"`
	} `xml:"vc_primitive"`
}

// maxInfoBody bounds the INFO bodies parsed.
const maxInfoBody = 4 << 10

// isFastUpdate reports whether body is a media_control document asking
// for a picture fast update.
func isFastUpdate(body []byte) bool {
	if len(body) > maxInfoBody {
		return false
	}
	var mc mediaControl
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	if err := d.Decode(&mc); err != nil {
		return false
	}
	for _, p := range mc.Primitives {
		if p.ToEncoder.FastUpdate != nil {
			return true
		}
	}
	return false
}

// parseDTMF reads an INFO DTMF body: application/dtmf-relay
// ("Signal=5\r\nDuration=160") or application/dtmf ("5").
func parseDTMF(contentType string, body []byte) (rune, time.Duration, error) {
	if len(body) > maxInfoBody {
		return 0, 0, errors.New("ua: DTMF body too large")
	}
	if contentType == "application/dtmf" {
		return dtmfDigit(strings.TrimSpace(string(body)), 0)
	}
	var signal string
	dur := -1
	for _, line := range strings.Split(string(body), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "signal":
			signal = strings.TrimSpace(v)
		case "duration":
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
				dur = n
			}
		}
	}
	if dur < 0 {
		dur = 0
	}
	return dtmfDigit(signal, time.Duration(dur)*time.Millisecond)
}

// dtmfDigit maps a signal (a digit, or its RFC 4733 event number) to a
// DTMF character.
func dtmfDigit(signal string, d time.Duration) (rune, time.Duration, error) {
	const digits = "0123456789*#ABCD"
	if len(signal) == 1 {
		r := rune(strings.ToUpper(signal)[0])
		if strings.ContainsRune(digits, r) {
			return r, d, nil
		}
	}
	if n, err := strconv.Atoi(signal); err == nil && n >= 10 && n < len(digits) {
		return rune(digits[n]), d, nil
	}
	return 0, 0, fmt.Errorf("ua: %q is not a DTMF digit", signal)
}
