package schedule

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/roomd/roomd/room"
)

// The calendar surface: meetings whose only link carries a user name and
// password are listed without a link, never offered, never joined (not even
// in auto mode), and the secret reaches neither the room's state nor the
// runner's and the room's logs.
func TestRunnerRefusesLinkWithCredentials(t *testing.T) {
	feed := ics(
		vevent("creds", "Board", "09:00", "09:45", "janus+ws://alice:s3cret@sfu.example.com/janus?room=1"),
		vevent("badport", "Audit", "10:00", "10:45", "janus+wss://alice:s3cret@sfu.example.com:bad/?room=2&pin=9"),
		vevent("whep", "Town hall", "11:00", "11:45", "whip+https://m.example.com/whip?whep=https%3A%2F%2Falice%3As3cret%40m.example.com%2Fwhep"),
	)
	h := newHarness(t, harnessOptions{cfg: Config{Mode: ModeAuto, ShowTitles: true, RoomZone: "Europe/Berlin"}, start: "08:50", engine: true, fleet: feed})
	h.do(room.SetVolume{Level: 40}) // logged by the room: the capture works
	for h.clk.Now().Before(at("11:10")) {
		h.minute()
		st := h.room.Snapshot()
		if st.Call != room.Idle || !st.JoinOffer.IsZero() {
			t.Fatalf("%s: call %s, offer %v; a link with credentials must not be joined or offered", h.clk.Now().In(berlin).Format("15:04"), st.Call, st.JoinOffer)
		}
		js, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(js), "s3cret") {
			t.Fatalf("the room's state carries the secret: %s", js)
		}
		for _, m := range st.NextMeetings {
			if m.URI != "" {
				t.Errorf("meeting %s listed with link %q", m.ID, m.URI)
			}
		}
	}
	if e := h.eng.entries(); len(e) != 0 {
		t.Errorf("the call engine was started: %q", e)
	}
	for _, c := range h.rec.commands() {
		if _, ok := c.Do.(room.Join); ok {
			t.Errorf("the runner sent %+v", c)
		}
	}
	logs := h.logs.String()
	if strings.Contains(logs, "s3cret") {
		t.Errorf("the secret reached the log:\n%s", logs)
	}
	if !strings.Contains(logs, "room: command") {
		t.Errorf("the room's log is not captured:\n%s", logs)
	}
}
