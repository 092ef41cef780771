package room

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestPasscodeNeverShown(t *testing.T) {
	m := Meeting{ID: "m1", URI: "janus://sfu/1234", Passcode: "s3cret"}
	j, _ := json.Marshal(State{Meeting: m, NextMeetings: []Meeting{m}})
	logged := fmt.Sprintf("%+v %v %s", Join{Meeting: m}, Command{Do: Join{Meeting: m}}, m)
	for what, s := range map[string]string{"json": string(j), "log": logged} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("passcode in %s: %s", what, s)
		}
	}
	if !strings.Contains(logged, "passcode=<redacted>") {
		t.Errorf("log does not say a passcode exists: %s", logged)
	}
}
