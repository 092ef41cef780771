package panel_test

import (
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/room"
)

// The admin page lists every damaged file roomd set aside, with its time,
// and drops one a person deleted.
func TestPanelBrowserListsDamagedFiles(t *testing.T) {
	r, _ := startRoom(t)
	tp := startPanel(t, r, nil)
	b := startBrowser(t)
	b.open(tp.kiosk+"/", 1280, 800)
	b.wait(`document.querySelector('#btn-settings')`)
	b.openSettings()

	at := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	tokens := room.DamagedFile{Name: "panel-tokens.json.corrupt-20261207T050100Z", Since: at.Add(time.Minute)}
	sched := room.DamagedFile{Name: "schedule.json.corrupt-20261207T050000Z", Since: at}
	r.Report(room.DamagedFilesReported{Files: []room.DamagedFile{tokens, sched}})
	b.wait(`document.querySelector('#fleet-kv').textContent.includes('schedule.json.corrupt-20261207T050000Z')`)
	kv := b.textOf("#fleet-kv")
	when := eval[string](b, `new Date('2026-12-07T05:01:00Z').toLocaleString()`)
	if !strings.Contains(kv, "Damaged filepanel-tokens.json.corrupt-20261207T050100Z — set aside "+when+"; look at it, then delete it") {
		t.Errorf("the tokens file is not listed with its time %q:\n%s", when, kv)
	}

	r.Report(room.DamagedFilesReported{Files: []room.DamagedFile{sched}})
	b.wait(`!document.querySelector('#fleet-kv').textContent.includes('panel-tokens.json.corrupt-')`)
	if kv := b.textOf("#fleet-kv"); strings.Count(kv, "Damaged file") != 1 {
		t.Errorf("after one file was deleted:\n%s", kv)
	}
}
