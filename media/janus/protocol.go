package janus

import (
	"encoding/json"
	"strconv"

	"github.com/pion/webrtc/v4"
)

// request is every message this package sends to Janus.
type request struct {
	Janus       string        `json:"janus"`
	Transaction string        `json:"transaction"`
	SessionID   uint64        `json:"session_id,omitempty"`
	HandleID    uint64        `json:"handle_id,omitempty"`
	Plugin      string        `json:"plugin,omitempty"`
	Body        any           `json:"body,omitempty"`
	JSEP        *jsep         `json:"jsep,omitempty"`
	Candidate   *trickleEntry `json:"candidate,omitempty"`
}

type jsep struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

func toJSEP(d webrtc.SessionDescription) *jsep {
	return &jsep{Type: d.Type.String(), SDP: d.SDP}
}

func (j *jsep) description() webrtc.SessionDescription {
	return webrtc.SessionDescription{Type: webrtc.NewSDPType(j.Type), SDP: j.SDP}
}

// trickleEntry is one local candidate, or Completed once gathering is done.
type trickleEntry struct {
	Candidate     string  `json:"candidate,omitempty"`
	SDPMid        *string `json:"sdpMid,omitempty"`
	SDPMLineIndex *uint16 `json:"sdpMLineIndex,omitempty"`
	Completed     bool    `json:"completed,omitempty"`
}

// message is every message Janus sends: replies (success, ack, error,
// plugin events carrying the transaction) and asynchronous events (plugin
// events, webrtcup, media, slowlink, hangup, detached, timeout).
type message struct {
	Janus       string `json:"janus"`
	Transaction string `json:"transaction,omitempty"`
	SessionID   uint64 `json:"session_id,omitempty"`
	Sender      uint64 `json:"sender,omitempty"`
	Data        *struct {
		ID uint64 `json:"id"`
	} `json:"data,omitempty"`
	Error *struct {
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	} `json:"error,omitempty"`
	PluginData *struct {
		Plugin string          `json:"plugin"`
		Data   json.RawMessage `json:"data"`
	} `json:"plugindata,omitempty"`
	JSEP   *jsep  `json:"jsep,omitempty"`
	Reason string `json:"reason,omitempty"` // hangup
}

// roomEvent is the plugindata.data of a VideoRoom answer or event.
type roomEvent struct {
	VideoRoom   string   `json:"videoroom"` // joined, event, attached, updated, destroyed, ...
	Room        uint64   `json:"room"`
	ID          uint64   `json:"id"`
	PrivateID   uint64   `json:"private_id"`
	Publishers  []Feed   `json:"publishers"`
	Leaving     feedRef  `json:"leaving"`
	Unpublished feedRef  `json:"unpublished"`
	Kicked      feedRef  `json:"kicked"`
	Streams     []Stream `json:"streams"`
	ErrorCode   int      `json:"error_code"`
	Error       string   `json:"error"`
}

// feedRef is the "leaving"/"unpublished" field: a feed ID, or "ok" when the
// event is about ourselves.
type feedRef struct {
	ID   uint64
	Self bool
	Set  bool
}

func (f *feedRef) UnmarshalJSON(b []byte) error {
	f.Set = true
	var s string
	if json.Unmarshal(b, &s) == nil {
		if id, err := strconv.ParseUint(s, 10, 64); err == nil {
			f.ID = id
			return nil
		}
		f.Self = s == "ok"
		return nil
	}
	return json.Unmarshal(b, &f.ID)
}

// Feed is a publisher in the room as Janus announces it.
type Feed struct {
	ID      uint64   `json:"id"`
	Display string   `json:"display"`
	Streams []Stream `json:"streams"`
}

// Stream is one medium of a feed.
type Stream struct {
	Type        string `json:"type"` // "audio", "video" or "data"
	MID         string `json:"mid"`
	Codec       string `json:"codec"`
	Description string `json:"description,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
}

// room decodes the VideoRoom part of m, if any.
func (m *message) room() (*roomEvent, error) {
	if m.PluginData == nil || len(m.PluginData.Data) == 0 {
		return nil, nil
	}
	var ev roomEvent
	if err := json.Unmarshal(m.PluginData.Data, &ev); err != nil {
		return nil, err
	}
	return &ev, nil
}

// failure returns the error m carries, core or plugin, or nil.
func (m *message) failure(req string) error {
	if m.Janus == "error" && m.Error != nil {
		return &Error{Request: req, Code: m.Error.Code, Reason: m.Error.Reason}
	}
	ev, err := m.room()
	if err != nil {
		return err
	}
	if ev != nil && ev.ErrorCode != 0 {
		return &Error{Request: req, Code: ev.ErrorCode, Reason: ev.Error}
	}
	return nil
}
