package janustest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Participant is one entry of VideoRoom's listparticipants answer.
type Participant struct {
	ID        uint64 `json:"id"`
	Display   string `json:"display"`
	Publisher bool   `json:"publisher"`
}

// Participants asks Janus, over its REST API rather than the WebSocket one
// the client under test uses, who is in room. It is how tests check that a
// leave really cleaned up on the server.
func (s *Server) Participants(room uint64) ([]Participant, error) {
	var created struct {
		Data struct {
			ID uint64 `json:"id"`
		} `json:"data"`
	}
	if err := s.rest("", map[string]any{"janus": "create"}, &created); err != nil {
		return nil, err
	}
	session := "/" + strconv.FormatUint(created.Data.ID, 10)
	defer s.rest(session, map[string]any{"janus": "destroy"}, nil) //nolint:errcheck // best effort
	var attached struct {
		Data struct {
			ID uint64 `json:"id"`
		} `json:"data"`
	}
	if err := s.rest(session, map[string]any{"janus": "attach", "plugin": "janus.plugin.videoroom"}, &attached); err != nil {
		return nil, err
	}
	handle := session + "/" + strconv.FormatUint(attached.Data.ID, 10)
	var list struct {
		PluginData struct {
			Data struct {
				Participants []Participant `json:"participants"`
				ErrorCode    int           `json:"error_code"`
				Error        string        `json:"error"`
			} `json:"data"`
		} `json:"plugindata"`
	}
	body := map[string]any{"janus": "message", "body": map[string]any{"request": "listparticipants", "room": room}}
	if err := s.rest(handle, body, &list); err != nil {
		return nil, err
	}
	if d := list.PluginData.Data; d.ErrorCode != 0 {
		return nil, fmt.Errorf("janustest: listparticipants %d: %d %s", room, d.ErrorCode, d.Error)
	}
	return list.PluginData.Data.Participants, nil
}

// rest POSTs one Janus API request to HTTPURL+path and decodes the reply.
func (s *Server) rest(path string, req map[string]any, reply any) error {
	req["transaction"] = strconv.FormatUint(rand.Uint64(), 36)
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, s.HTTPURL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return fmt.Errorf("janustest: REST %s: %w", req["janus"], err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		return fmt.Errorf("janustest: REST %s: decoding reply: %w", req["janus"], err)
	}
	var status struct {
		Janus string `json:"janus"`
		Error struct {
			Code   int    `json:"code"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &status); err != nil {
		return err
	}
	if status.Janus != "success" {
		return fmt.Errorf("janustest: REST %s: %s %d %s", req["janus"], status.Janus, status.Error.Code, status.Error.Reason)
	}
	if reply != nil {
		return json.Unmarshal(raw, reply)
	}
	return nil
}
